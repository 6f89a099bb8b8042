// The resilience layer: rate limiter, circuit breaker and response cache, composed into one execute() that every
// provider call goes through. Shared through Redis when there is one (falling back to this process while Redis is
// away), in this process otherwise. Nothing here sleeps or retries: Temporal owns retries.
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createCircuitBreaker } from './circuit-breaker';
import { isBreakerOpenError, isRateLimitedError, isTransientFailure, RateLimitedError } from './errors';
import { BREAKER_STATE_VALUE, createResilienceMetrics } from './metrics';
import { createLeases, type Leases } from './lease';
import { createRateLimiter } from './rate-limiter';
import { RedisHealth } from './redis-fallback';
import { createResponseCache } from './response-cache';
import type { BreakerSnapshot, CacheStats, CallContext, CircuitBreaker, RateInfo, RateLimiter, ResilienceConfig, ResponseCache, WindowSnapshot } from './types';

export * from './types';
export { DEFAULT_LIMITS } from './defaults';
export { BreakerOpenError, isBreakerOpenError, isRateLimitedError, isTransientFailure, RateLimitedError } from './errors';
export { cacheKey } from './response-cache';
export { createRedisClient } from './redis-client';
export { MemoryLeases, type LeaseAnswer, type Leases } from './lease';

export interface CreateResilienceOptions {
  /** null: everything in this process (no REDIS_URL). */
  redis: Redis | null;
  config: ResilienceConfig;
  logger: Logger;
  /** Metrics are registered here (one registry per Herald instance). */
  metrics: Registry;
}

export interface ExecuteOptions<T> {
  /** Requests this call counts as (default 1). */
  requests?: number;
  /** Estimated tokens, taken from token windows up front. */
  tokens?: number;
  /** Real token usage from the result; replaces the estimate. */
  usage?: (result: T) => number | undefined;
  /** Which errors count towards opening the breaker (default: transient errors, timeouts, dropped connections). */
  isFailure?: (err: unknown) => boolean;
  /** Passed to the adapter in ctx.signal (activity cancellation). */
  signal?: AbortSignal;
  /**
   * Names this logical call, the same on every retry (e.g. workflowId + activityId). A refused call then holds a future
   * slot of its own: the RateLimitedError's retryAfterMs is that slot, and the retry from then on (however late, within
   * the slot's lease) is admitted in its place in line.
   */
  ticket?: string;
  /** With a ticket: reserve no slot further ahead than this; refuse without one instead (default 10 minutes). */
  maxWaitMs?: number;
}

export interface ProviderSnapshot {
  provider: string;
  breaker: BreakerSnapshot;
  windows: WindowSnapshot[];
  blockedUntil: string | null;
  blockedReason: string | null;
  cache: CacheStats;
}

export interface Resilience {
  limiter: RateLimiter;
  breaker: CircuitBreaker;
  cache: ResponseCache;
  /** One holder at a time per name across every process (a publication's post: see src/activities/publish-post.ts). */
  leases: Leases;
  /**
   * Breaker check (throws BreakerOpenError), rate limit (throws RateLimitedError with retryAfterMs), then fn(ctx) with
   * ctx.report feeding the limiter. Success closes/keeps the breaker closed and settles token usage; a 429 blocks the
   * provider for its Retry-After; transient failures count towards the breaker. The original error is always rethrown.
   */
  execute<T>(provider: string, opts: ExecuteOptions<T>, fn: (ctx: CallContext) => Promise<T>): Promise<T>;
  /** Every configured provider plus any seen, with breaker, windows, block and this process's cache counts. */
  snapshot(): Promise<ProviderSnapshot[]>;
  /** True while Redis is configured but unreachable. */
  readonly fallbackActive: boolean;
  /** Stops background Redis checks. Does not close the Redis client: its owner does. */
  close(): Promise<void>;
}

export function createResilience(opts: CreateResilienceOptions): Resilience {
  const { config, logger } = opts;
  const keyPrefix = config.keyPrefix ?? 'herald:';
  const marginMs = config.marginMs ?? 250;
  let closed = false;

  let refreshing: { at: number; done: Promise<void> } | null = null;
  const refreshGauges = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (refreshing && Date.now() - refreshing.at < 1000) return refreshing.done;
    refreshing = { at: Date.now(), done: fillGauges().catch((err) => logger.debug({ err: (err as Error).message }, 'resilience metrics refresh failed')) };
    return refreshing.done;
  };
  const metrics = createResilienceMetrics(opts.metrics, refreshGauges);
  metrics.fallbackActive.set(0);

  const health = opts.redis
    ? new RedisHealth(opts.redis, logger, { retryMs: config.redisRetryMs ?? 3000, onChange: (active) => metrics.fallbackActive.set(active ? 1 : 0) })
    : null;
  const shared = opts.redis && health ? { client: opts.redis, health, keyPrefix } : null;

  const limiter = createRateLimiter({ limits: config.limits, marginMs, spacing: config.spaceReservations ?? false, redis: shared });
  const breaker = createCircuitBreaker({
    breakers: config.breakers,
    defaultBreaker: config.defaultBreaker,
    logger,
    redis: shared,
    onTransition: (provider, from, to) => {
      metrics.breakerTransitions.inc({ provider, from, to });
      metrics.breakerState.set({ provider }, BREAKER_STATE_VALUE[to]);
    },
  });
  const cache = createResponseCache({
    defaultTtlMs: config.cacheTtlMs,
    redis: shared,
    onHit: (provider) => metrics.cacheHits.inc({ provider }),
    onMiss: (provider) => metrics.cacheMisses.inc({ provider }),
  });

  const leases = createLeases(shared);

  // Providers called by any process (Redis set) or this one, so an API process can report on workers' providers.
  const seen = new Set<string>();
  const providersKey = `${keyPrefix}providers`;
  const noteProvider = async (provider: string) => {
    if (seen.has(provider)) return;
    seen.add(provider);
    if (shared) await shared.health.run(() => shared.client.sadd(providersKey, provider), () => 0);
  };
  const allProviders = async (): Promise<string[]> => {
    const fromRedis = shared ? await shared.health.run(() => shared.client.smembers(providersKey), () => [] as string[]) : [];
    return [...new Set([...Object.keys(config.limits), ...Object.keys(config.breakers), ...seen, ...fromRedis])].sort();
  };

  const snapshot = async (): Promise<ProviderSnapshot[]> =>
    Promise.all(
      (await allProviders()).map(async (provider) => {
        const [lim, br] = await Promise.all([limiter.snapshot(provider), breaker.snapshot(provider)]);
        return { provider, breaker: br, windows: lim.windows, blockedUntil: lim.blockedUntil, blockedReason: lim.blockedReason, cache: cache.stats(provider) };
      }),
    );

  async function fillGauges(): Promise<void> {
    for (const s of await snapshot()) {
      metrics.breakerState.set({ provider: s.provider }, BREAKER_STATE_VALUE[s.breaker.state]);
      for (const w of s.windows) {
        const labels = { provider: s.provider, kind: w.kind, window: w.window ?? 'reported' };
        if (w.used !== null) metrics.used.set(labels, w.used);
        if (w.limit !== null) metrics.limit.set(labels, w.limit);
      }
    }
  }

  async function execute<T>(provider: string, eopts: ExecuteOptions<T>, fn: (ctx: CallContext) => Promise<T>): Promise<T> {
    await noteProvider(provider);
    let permit;
    try {
      permit = await breaker.enter(provider);
    } catch (err) {
      if (isBreakerOpenError(err)) metrics.calls.inc({ provider, outcome: 'breaker_open' });
      throw err;
    }
    const grant = await limiter.acquire(provider, { requests: eopts.requests ?? 1, tokens: eopts.tokens, ticket: eopts.ticket, maxWaitMs: eopts.maxWaitMs });
    if (!grant.ok) {
      await breaker.release(permit);
      metrics.refusals.inc({ provider });
      metrics.calls.inc({ provider, outcome: 'rate_limited' });
      const reason = grant.reason.startsWith(`${provider}: `) ? grant.reason.slice(provider.length + 2) : grant.reason;
      throw new RateLimitedError(provider, reason, grant.retryAfterMs);
    }

    const reports: Promise<void>[] = [];
    const ctx: CallContext = {
      report: (info: RateInfo) => {
        reports.push(limiter.learn(provider, info).catch(() => undefined));
      },
      signal: eopts.signal,
    };
    let result: T;
    const endTimer = metrics.callSeconds.startTimer({ provider });
    try {
      result = await fn(ctx);
    } catch (err) {
      endTimer({ outcome: isRateLimitedError(err) ? 'rate_limited' : 'error' });
      await Promise.all(reports);
      if (isRateLimitedError(err)) await limiter.blockUntil(provider, Date.now() + Math.max(0, err.retryAfterMs), err.message);
      // Errors that are not failures prove the provider answered: for the breaker that is a success.
      if ((eopts.isFailure ?? isTransientFailure)(err)) await breaker.failure(permit);
      else await breaker.success(permit);
      metrics.calls.inc({ provider, outcome: isRateLimitedError(err) ? 'rate_limited' : 'error' });
      throw err;
    }
    endTimer({ outcome: 'ok' });
    await Promise.all(reports);
    await breaker.success(permit);
    if (eopts.usage) {
      let used: number | undefined;
      try {
        used = eopts.usage(result);
      } catch {
        used = undefined;
      }
      if (used !== undefined && Number.isFinite(used)) await limiter.settle(provider, grant.reservation, used);
    }
    metrics.calls.inc({ provider, outcome: 'ok' });
    return result;
  }

  return {
    limiter,
    breaker,
    cache,
    leases,
    execute,
    snapshot,
    get fallbackActive() {
      return health?.fallbackActive ?? false;
    },
    async close() {
      closed = true;
      await health?.close();
    },
  };
}
