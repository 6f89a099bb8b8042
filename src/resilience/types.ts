// Shapes shared by the resilience policies (rate limiter, circuit breaker, response cache) and the spec parsers the
// config loader uses. Every policy has a Redis and an in-process implementation behind the same interface.
import { formatDuration, parseDuration } from '../domain/duration';

// --- What a provider call tells the resilience layer (adapters in src/providers fill these in) ---

/** One window a provider reported on a response (success or error), normalised. */
export interface RateWindowInfo {
  /** What the window counts. */
  kind: 'requests' | 'tokens';
  limit?: number;
  remaining?: number;
  /** When the window's capacity returns, epoch ms. */
  resetAt?: number;
}

/** What a provider said about its own limits: the limiter learns from it, so Herald slows down before a 429. */
export interface RateInfo {
  windows: RateWindowInfo[];
}

/** Passed by the resilience layer to every adapter call. */
export interface CallContext {
  /** Adapters call this with the limits parsed from every response they get, errors included. */
  report?(info: RateInfo): void;
  /** Aborts the HTTP request (activity cancellation or timeout). */
  signal?: AbortSignal;
}

/** At most `count` units in any interval of `windowMs` (a sliding window, not a calendar bucket). */
export interface LimitWindow {
  count: number;
  windowMs: number;
}

export interface ProviderLimits {
  requests: LimitWindow[];
  tokens: LimitWindow[];
}

/** Open after `failures` consecutive counted failures; allow one probe after `cooldownMs`. */
export interface BreakerSettings {
  failures: number;
  cooldownMs: number;
  /** How long one half-open probe holds its lease before another caller may probe (default 30 s). */
  probeTtlMs?: number;
}

export interface ResilienceConfig {
  limits: Record<string, ProviderLimits>;
  breakers: Record<string, BreakerSettings>;
  defaultBreaker: BreakerSettings;
  cacheTtlMs: number;
  /** Prefix of every Redis key (default "herald:"). */
  keyPrefix?: string;
  /** Each window is treated as this much longer, so jitter between our grant and the provider's clock can't overshoot (default 250). */
  marginMs?: number;
  /** Space reserved future slots at each limit's pace instead of stacking them on one instant (default false). */
  spaceReservations?: boolean;
  /** While Redis is down, how often to check whether it is back (default 3000). */
  redisRetryMs?: number;
}

export type LimitKind = 'requests' | 'tokens';

export interface AcquireCost {
  /** Requests this call counts as (default 1). */
  requests?: number;
  /** Estimated tokens; replace with the real figure through settle(). */
  tokens?: number;
  /**
   * Names one logical call, the same on every retry (e.g. Temporal workflowId + activityId). A refused caller with a
   * ticket gets a place in line and a future slot of its own: `retryAfterMs` says when. Back early, it is told the same
   * slot; back from then on, however late (until the slot's lease runs out), it is admitted in its place. Without a
   * ticket nothing is reserved.
   */
  ticket?: string;
  /** With a ticket: reserve no slot further ahead than this; refuse without a reservation instead (default 10 minutes). */
  maxWaitMs?: number;
}

export type AcquireResult = { ok: true; reservation: string } | { ok: false; retryAfterMs: number; reason: string };

export interface WindowSnapshot {
  kind: LimitKind;
  limit: number | null;
  used: number | null;
  remaining: number | null;
  /** ISO time: when the oldest entry in the window leaves it (configured) or the provider's reset (provider). */
  resetAt: string | null;
  /** "1m", "10s"...; null for windows the provider reported. */
  window: string | null;
  source: 'configured' | 'provider';
}

export interface LimiterSnapshot {
  windows: WindowSnapshot[];
  /** ISO time until which every call is refused (after a 429 or a provider report of 0 remaining). */
  blockedUntil: string | null;
  blockedReason: string | null;
}

export interface RateLimiter {
  /** Takes capacity from every window of the provider at once, or says how long until there is some. Never waits. */
  acquire(provider: string, cost: AcquireCost): Promise<AcquireResult>;
  /** Replaces the token estimate of a granted reservation with the real usage. */
  settle(provider: string, reservation: string, actualTokens: number): Promise<void>;
  /** Takes in what the provider said about its own limits; 0 remaining blocks until its reset. */
  learn(provider: string, info: RateInfo): Promise<void>;
  /** Refuses every acquire until epochMs (this process's clock), e.g. after a 429 with Retry-After. */
  blockUntil(provider: string, epochMs: number, reason: string): Promise<void>;
  snapshot(provider: string): Promise<LimiterSnapshot>;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

/** What enter() hands out: pass it back to success() / failure() / release(). */
export interface BreakerPermit {
  provider: string;
  /** Set when this caller holds the one half-open probe. */
  probeToken: string | null;
  /** Consecutive failures seen when the call started (0 lets success() skip a write). */
  failures: number;
}

export interface BreakerSnapshot {
  state: BreakerState;
  failures: number;
  retryAt: string | null;
  openedAt: string | null;
}

export interface CircuitBreaker {
  /** Throws BreakerOpenError while the provider is open (or another caller holds the probe). */
  enter(provider: string): Promise<BreakerPermit>;
  success(permit: BreakerPermit): Promise<void>;
  failure(permit: BreakerPermit): Promise<void>;
  /** Gives back a permit whose call never reached the provider (frees the probe for someone else). */
  release(permit: BreakerPermit): Promise<void>;
  execute<T>(provider: string, fn: () => Promise<T>, isFailure?: (err: unknown) => boolean): Promise<T>;
  snapshot(provider: string): Promise<BreakerSnapshot>;
}

export interface CacheStats {
  hits: number;
  misses: number;
}

export interface ResponseCache {
  /** The cached value, or undefined. `provider` only labels the hit/miss counters. */
  get<T>(key: string, provider?: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  /** Returns the cached answer for (provider, parts) or runs fn once and caches what it returns. */
  execute<T>(provider: string, parts: unknown, fn: () => Promise<T>, opts?: { ttlMs?: number }): Promise<T>;
  /** Hits and misses counted by this process. */
  stats(provider: string): CacheStats;
}

/** "10s", "1m", "500ms", "m" (= 1m), "1.5h" -> milliseconds. Throws on anything else. */
export function parseWindow(text: string): number {
  const ms = parseDuration(text, { bareUnit: true });
  if (ms === null) throw new Error(`"${text}" is not a duration (use a number and one of ms, s, m, h, d, e.g. 10s or 1m)`);
  if (!(ms > 0)) throw new Error(`"${text}" must be longer than 0`);
  return ms;
}

/** "60/1m,1000/1d" -> [{count: 60, windowMs: 60000}, {count: 1000, windowMs: 86400000}]. "none" or "" -> []. */
export function parseLimitSpec(spec: string): LimitWindow[] {
  const trimmed = spec.trim();
  if (trimmed === '' || trimmed.toLowerCase() === 'none') return [];
  return trimmed.split(',').map((part) => {
    const m = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(part);
    if (!m) throw new Error(`"${part.trim()}" is not a limit (use count/window, e.g. 60/1m or 150/10s, comma-separated)`);
    const count = Number(m[1]);
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`"${part.trim()}": the count must be a whole number >= 1`);
    return { count, windowMs: parseWindow(m[2]) };
  });
}

/** "5/60s" -> {failures: 5, cooldownMs: 60000}: open after 5 consecutive failures, probe again after 60 s. */
export function parseBreakerSpec(spec: string): BreakerSettings {
  const m = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(spec);
  if (!m) throw new Error(`"${spec}" is not a breaker setting (use failures/cooldown, e.g. 5/60s)`);
  const failures = Number(m[1]);
  if (!Number.isSafeInteger(failures) || failures < 1) throw new Error(`"${spec}": the failure count must be a whole number >= 1`);
  return { failures, cooldownMs: parseWindow(m[2]) };
}

/** 60000 -> "1m", 10000 -> "10s", 1500 -> "1500ms": the largest unit that divides evenly. */
export const formatWindow = formatDuration;

// --- Storage behind the breaker and the cache (a Redis and an in-process implementation of each) ---

/** What a breaker store says when a call asks to go ahead. Times are epoch ms on this process's clock. */
export type BreakerEntry =
  | { kind: 'closed'; failures: number }
  | { kind: 'probe'; openedAt: number | null }
  | { kind: 'open'; retryAt: number };

export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  retryAt: number | null;
}

export interface BreakerStore {
  enter(provider: string, settings: BreakerSettings, probeToken: string): Promise<BreakerEntry>;
  /** Records a call's outcome; returns the state change it caused, if any. */
  record(provider: string, settings: BreakerSettings, outcome: 'success' | 'failure', probeToken: string | null): Promise<BreakerTransition | null>;
  release(provider: string, probeToken: string): Promise<void>;
  snapshot(provider: string): Promise<BreakerSnapshot>;
}

export interface CacheStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlMs: number): Promise<void>;
}
