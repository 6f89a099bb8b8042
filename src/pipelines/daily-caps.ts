// Daily publishing caps per account: which apply to a platform, whether one more post fits at a time, and the first time
// from then on at which it does. Pure: the times come from the caps repository (src/db/caps-repo.ts).
import { formatDuration } from '../domain/duration';
import type { Platform } from '../domain/types';
import type { LimitWindow, ProviderLimits } from '../resilience/types';

const DAY_MS = 86_400_000;

/** At most `count` publications per account in any `windowMs` (a rolling window, as the platforms count). */
export interface DailyCap {
  count: number;
  windowMs: number;
}

/**
 * The caps an account of this platform has: every window of a day or longer in RATE_LIMIT_<PLATFORM> (its defaults
 * carry the platforms' own rolling-day caps: Instagram 50, Threads 250). Shorter windows are the limiter's business at
 * publish time: a schedule cannot be full because of them.
 */
export function capsFor(platform: Platform, limits: Record<string, ProviderLimits>): DailyCap[] {
  return (limits[platform]?.requests ?? []).filter((w: LimitWindow) => w.windowMs >= DAY_MS).map((w) => ({ count: w.count, windowMs: w.windowMs }));
}

export function describeCap(cap: DailyCap): string {
  return `${cap.count} per ${cap.windowMs === DAY_MS ? '24 h' : formatDuration(cap.windowMs)}`;
}

/** Index of the first element of sorted `xs` that is >= v. */
function lowerBound(xs: readonly number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * How many publications the fullest window of `cap` that contains `t` would hold with one more at `t`. The windows
 * that matter start at `t` or at a publication in (t - window, t]; a window starting elsewhere holds no more than one of
 * those. `times` is sorted ascending (epoch ms).
 */
export function fullestWindowWith(times: readonly number[], t: number, cap: DailyCap): number {
  const starts = [t, ...times.slice(lowerBound(times, t - cap.windowMs + 1), lowerBound(times, t + 1))];
  let most = 0;
  for (const s of starts) {
    const inWindow = lowerBound(times, s + cap.windowMs) - lowerBound(times, s);
    most = Math.max(most, inWindow + 1);
  }
  return most;
}

export function fitsAt(times: readonly number[], t: number, caps: readonly DailyCap[]): boolean {
  return caps.every((cap) => fullestWindowWith(times, t, cap) <= cap.count);
}

/**
 * The first time at or after `t` at which one more publication fits every cap. Moving later only helps when an earlier
 * publication leaves the window, so the candidates are `t` and each publication's time plus a window. Null when none
 * fits (a cap of 0).
 */
export function nextFreeTime(times: readonly number[], t: number, caps: readonly DailyCap[]): number | null {
  const sorted = [...times].sort((a, b) => a - b);
  if (fitsAt(sorted, t, caps)) return t;
  const candidates = [...new Set(caps.flatMap((cap) => sorted.map((p) => p + cap.windowMs)).filter((c) => c > t))].sort((a, b) => a - b);
  for (const c of candidates) if (fitsAt(sorted, c, caps)) return c;
  return null;
}

/** The cap that is full at `t`, for the message (the first one, in config order). */
export function fullCap(times: readonly number[], t: number, caps: readonly DailyCap[]): DailyCap | null {
  const sorted = [...times].sort((a, b) => a - b);
  return caps.find((cap) => fullestWindowWith(sorted, t, cap) > cap.count) ?? null;
}
