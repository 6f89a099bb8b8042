// Durations as people write them in requests and settings: a number and a unit (500ms, 30s, 1.5h, 7d). The one parser:
// the API, the configuration, the resilience specs and the workflows all read durations through it. Pure: workflows
// import it.

export const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export type DurationUnit = keyof typeof DURATION_UNITS_MS;

/** The text form: digits, an optional fraction, a unit. Nothing around it (no spaces, no sign). */
export const DURATION_PATTERN = /^\d+(?:\.\d+)?(?:ms|s|m|h|d)$/;

const PARTS = /^(\d+(?:\.\d+)?)?(ms|s|m|h|d)$/;

/**
 * "10m" -> 600000, in whole milliseconds; null for anything that is not a duration. Spaces around the text are ignored.
 * With `bareUnit`, a unit alone counts as one of it ("m" = 1m), as limit specs such as 60/m allow.
 */
export function parseDuration(text: string, { bareUnit = false }: { bareUnit?: boolean } = {}): number | null {
  const m = PARTS.exec(text.trim());
  if (!m || (m[1] === undefined && !bareUnit)) return null;
  const n = m[1] === undefined ? 1 : Number(m[1]);
  return Math.round(n * DURATION_UNITS_MS[m[2] as DurationUnit]);
}

/** 60000 -> "1m", 10000 -> "10s", 1500 -> "1500ms": the largest unit that divides evenly. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= DURATION_UNITS_MS[unit] && ms % DURATION_UNITS_MS[unit] === 0) return `${ms / DURATION_UNITS_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}
