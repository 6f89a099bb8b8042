// What a provider said about its own limits on a response (success or error), normalised, and the pieces its rate
// headers are read with. The resilience layer, which learns from it, owns the types.
import type { RateInfo, RateWindowInfo } from '../resilience/types';
import { headerNumber } from './http';

export type { CallContext, RateInfo, RateWindowInfo } from '../resilience/types';

// Reading rate windows from headers: the pieces every provider's own rate-header parser is made of.

/** A rate window with only the fields that are known. */
export function rateWindow(kind: RateWindowInfo['kind'], fields: { limit?: number; remaining?: number; resetAt?: number }): RateWindowInfo {
  const window: RateWindowInfo = { kind };
  if (fields.limit !== undefined) window.limit = fields.limit;
  if (fields.remaining !== undefined) window.remaining = fields.remaining;
  if (fields.resetAt !== undefined) window.resetAt = fields.resetAt;
  return window;
}

/** A rate window from three headers; `reset` parses the reset header into epoch ms. */
export function windowFrom(
  headers: Headers,
  names: { limit: string; remaining: string; reset: string },
  reset: (raw: string) => number | undefined,
): RateWindowInfo | undefined {
  const limit = headerNumber(headers, names.limit);
  const remaining = headerNumber(headers, names.remaining);
  const rawReset = headers.get(names.reset);
  const resetAt = rawReset ? reset(rawReset.trim()) : undefined;
  if (limit === undefined && remaining === undefined && resetAt === undefined) return undefined;
  const w: RateWindowInfo = { kind: 'requests' };
  if (limit !== undefined) w.limit = limit;
  if (remaining !== undefined) w.remaining = remaining;
  if (resetAt !== undefined) w.resetAt = resetAt;
  return w;
}

/** A reset header in epoch seconds, as epoch ms. */
export function epochSeconds(raw: string): number | undefined {
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
}

/** A reset header as an ISO time, as epoch ms. */
export function isoTime(raw: string): number | undefined {
  const t = Date.parse(raw);
  return Number.isFinite(t) ? t : undefined;
}

/** ms until an epoch-ms instant, at least 1 s (a reset "now" still means wait a moment). */
export function untilMs(resetAt: number | undefined, now: number = Date.now()): number | undefined {
  if (resetAt === undefined) return undefined;
  return Math.max(1000, resetAt - now);
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A Go duration as OpenAI sends it ("1s", "6m0s", "12ms", "1h2m3.5s", "2m59.56s") in milliseconds. A bare number is
 * taken as seconds. Undefined when it is neither.
 */
export function parseGoDurationMs(raw: string | null | undefined): number | undefined {
  const s = raw?.trim();
  if (!s) return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * GO_UNITS[m[2]];
    consumed = re.lastIndex;
  }
  return consumed === s.length && consumed > 0 ? total : undefined;
}

/**
 * When a window that ran out (remaining 0) fills again, in ms from now: the latest of them, because every exhausted
 * window has to have room. Without an exhausted window, the window of `preferKind` (what the 429 body blamed).
 */
export function exhaustedWindowDelayMs(info: RateInfo | undefined, now: number, preferKind?: 'requests' | 'tokens'): number | undefined {
  const withReset = (info?.windows ?? []).filter((w) => w.resetAt !== undefined);
  let candidates = withReset.filter((w) => w.remaining === 0);
  if (!candidates.length && preferKind) candidates = withReset.filter((w) => w.kind === preferKind);
  if (!candidates.length) return undefined;
  return Math.max(...candidates.map((w) => (w.resetAt as number) - now), 0);
}
