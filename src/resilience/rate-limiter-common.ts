// Pieces both rate limiter implementations share: reservations, refusal reasons, limits lookup.
import { randomBytes } from 'node:crypto';
import { formatWindow, type LimitKind, type LimitWindow, type ProviderLimits, type WindowSnapshot, type RateInfo } from './types';

export const NO_LIMITS: ProviderLimits = { requests: [], tokens: [] };

/** A key like `instagram:acc_1` has its own counters but the limits of `instagram` (per-account quotas). */
export function limitsLookup(limits: Record<string, ProviderLimits>): (provider: string) => ProviderLimits {
  return (provider) => limits[provider] ?? limits[provider.split(':')[0]] ?? NO_LIMITS;
}

/** Longest window plus margin: how long log entries must be kept. */
export function maxSpan(limits: ProviderLimits, marginMs: number): number {
  return Math.max(0, ...limits.requests.map((w) => w.windowMs), ...limits.tokens.map((w) => w.windowMs)) + marginMs;
}

/** How far ahead a ticket may reserve a slot when the caller sets no maxWaitMs (10 minutes). */
export const DEFAULT_MAX_WAIT_MS = 600_000;

/**
 * How much earlier than it really happens a late holder's call may be logged: half the margin. Holders coming back a
 * few milliseconds apart in another order than their slots' then do not cost each other a round trip, and real calls
 * stay at least a window + half the margin apart.
 */
export function lateAllowance(marginMs: number): number {
  return Math.floor(Math.max(0, marginMs) / 2);
}

/** The shortest lease a reserved slot gets beyond its time (see ticketLeaseMs). */
export const TICKET_LEASE_MIN_MS = 60_000;
/** The longest lease: a daily quota's slot is not held for days by a caller that never comes back. */
export const TICKET_LEASE_MAX_MS = 3_600_000;

/**
 * How long after its time a reserved slot stays its ticket's: a holder that comes back late (Temporal's timers and a
 * busy worker are never exact; a worker restart takes a while) is still admitted in its place in line until then.
 * max(60 s, three of the provider's longest windows), at most an hour. A holder that never comes back costs its slot
 * only until then: the lease expires and the slot is freed.
 */
export function ticketLeaseMs(limits: ProviderLimits): number {
  const longest = Math.max(0, ...limits.requests.map((w) => w.windowMs), ...limits.tokens.map((w) => w.windowMs));
  return Math.min(TICKET_LEASE_MAX_MS, Math.max(TICKET_LEASE_MIN_MS, 3 * longest));
}

/** The ticket and how far ahead it may reserve; null without a ticket (no reservations). */
export function ticketOf(cost: { ticket?: string; maxWaitMs?: number }): { ticket: string; maxWaitMs: number } | null {
  if (typeof cost.ticket !== 'string' || cost.ticket === '') return null;
  const m = cost.maxWaitMs;
  return { ticket: cost.ticket, maxWaitMs: m === undefined || Number.isNaN(m) ? DEFAULT_MAX_WAIT_MS : Math.max(0, Math.floor(m)) };
}

export function reservedReason(provider: string, localMs: number): string {
  return `${provider}: reserved slot at ${new Date(localMs).toISOString()}`;
}

export function normaliseCost(cost: { requests?: number; tokens?: number }): { requests: number; tokens: number } {
  const n = (v: number | undefined, dflt: number) => (v === undefined || !Number.isFinite(v) ? dflt : Math.max(0, Math.ceil(v)));
  return { requests: n(cost.requests, 1), tokens: n(cost.tokens, 0) };
}

export function randomSuffix(): string {
  return randomBytes(6).toString('hex');
}

/**
 * A reservation is "<id>|<tokens>" where id is "<grant time ms>-<random>". In Redis it is also the member of the token
 * log, so settle() can find and rewrite it; the grant time lets settle() put back an entry that was never logged.
 */
export function parseReservation(reservation: string): { id: string; at: number; tokens: number } | null {
  const m = /^((\d+)-[0-9a-z]+)\|(\d+)$/.exec(reservation);
  return m ? { id: m[1], at: Number(m[2]), tokens: Number(m[3]) } : null;
}

export function refusalReason(provider: string, kind: LimitKind, window: LimitWindow, used: number, need: number): string {
  const per = `${kind} per ${formatWindow(window.windowMs)}`;
  if (used >= window.count) return `${provider}: ${window.count} ${per} used`;
  return `${provider}: ${used} of ${window.count} ${per} used, this call needs ${need}`;
}

/** What the provider itself reported, as snapshot rows. */
export function reportedWindows(reported: RateInfo | null): WindowSnapshot[] {
  return (reported?.windows ?? []).map((w) => ({
    kind: w.kind,
    limit: w.limit ?? null,
    used: w.limit !== undefined && w.remaining !== undefined ? Math.max(0, w.limit - w.remaining) : null,
    remaining: w.remaining ?? null,
    resetAt: w.resetAt !== undefined && Number.isFinite(w.resetAt) ? new Date(w.resetAt).toISOString() : null,
    window: null,
    source: 'provider' as const,
  }));
}

/** The windows of a report that say "nothing left until resetAt". */
export function exhaustedUntil(info: RateInfo, nowMs: number, configured?: ProviderLimits): { until: number; kind: LimitKind } | null {
  let best: { until: number; kind: LimitKind } | null = null;
  for (const w of info.windows ?? []) {
    if (w.remaining === undefined || !(w.remaining < 1) || w.resetAt === undefined || !Number.isFinite(w.resetAt) || w.resetAt <= nowMs) continue;
    // When Herald's own limit for this kind is no larger than what the provider reports, the sliding log already keeps
    // to it, and "reset" (often the time until the window is FULLY replenished) would idle the provider for a whole
    // window. The report matters when the provider allows less than configured: then it blocks.
    const own = configured ? (w.kind === 'requests' ? configured.requests : configured.tokens) : [];
    if (w.limit !== undefined && own.length > 0 && own.every((c) => c.count <= w.limit!)) continue;
    if (!best || w.resetAt > best.until) best = { until: w.resetAt, kind: w.kind };
  }
  return best;
}

export function exhaustedReason(provider: string, kind: LimitKind, until: number): string {
  return `${provider}: provider reports no ${kind} left until ${new Date(until).toISOString()}`;
}

export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}

/**
 * With spacing on, reserved slots follow the shortest request window's pace (60/1m: one a second), so a crowd of
 * waiting callers comes back one after another, not all in the same millisecond where the late ones miss their slot.
 */
export function slotGap(limits: ProviderLimits, spacing: boolean): number {
  // Only per-second and per-minute windows are paced: spreading a daily quota (LinkedIn's 100 a day) or a 15-minute
  // one over its window would hold back bursts the platform allows.
  const short = limits.requests.filter((w) => w.windowMs <= PACED_WINDOW_MAX_MS);
  if (!spacing || short.length === 0) return 0;
  return Math.min(...short.map((w) => Math.floor(w.windowMs / w.count)));
}

/** The longest window that is paced (see slotGap). */
export const PACED_WINDOW_MAX_MS = 60_000;
