// What the AI text providers' answers mean beyond HTTP: the delays their 429s name (headers, exhausted windows, the
import { parseGoDurationMs } from '../rate-info';
// message itself) and the small readers of their JSON error bodies. The HTTP itself is ../http.ts.

/** A completion can take a while (an article is thousands of tokens); callers pass less where they know better. */
export const DEFAULT_TEXT_TIMEOUT_MS = 60_000;
/** Used when a 429 carries no hint at all of when to come back. */
export const DEFAULT_RETRY_AFTER_MS = 20_000;

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A finite non-negative number from a header or JSON value, else undefined. */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const n = Number(v.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** "… Please try again in 1.5s." / "Please retry in 53.163s." in a provider's message, in ms. */
export function delayFromMessageMs(message: string): number | undefined {
  const m = /(?:try again|retry) in ((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)/i.exec(message);
  return m ? parseGoDurationMs(m[1]) : undefined;
}

/** The first defined delay, rounded up to whole ms, never negative; `fallback` when none. */
export function firstDelay(candidates: (number | undefined)[], fallback = DEFAULT_RETRY_AFTER_MS): number {
  const d = candidates.find((c) => c !== undefined && Number.isFinite(c));
  return Math.max(0, Math.ceil(d ?? fallback));
}
