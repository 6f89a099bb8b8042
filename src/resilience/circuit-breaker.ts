// The circuit breaker: per provider, closed -> (N consecutive transient failures) -> open until now + cooldown ->
// exactly one caller across all processes gets the half-open probe -> its success closes, its failure reopens.
// While open, calls fail at once with BreakerOpenError(retryAt); Temporal retries them after that delay.
import type Redis from 'ioredis';
import type { Logger } from 'pino';
import { MemoryBreakerStore } from './circuit-breaker-memory';
import { RedisBreakerStore } from './circuit-breaker-redis';
import { BreakerOpenError, isTransientFailure } from './errors';
import { iso, randomSuffix } from './rate-limiter-common';
import type { RedisHealth } from './redis-fallback';
import type { BreakerEntry, BreakerPermit, BreakerSettings, BreakerSnapshot, BreakerState, BreakerStore, BreakerTransition, CircuitBreaker } from './types';

export { MemoryBreakerStore } from './circuit-breaker-memory';
export { RedisBreakerStore } from './circuit-breaker-redis';

/** Redis while it answers, this process's state while it doesn't. */
export class FallbackBreakerStore implements BreakerStore {
  constructor(
    private readonly redis: RedisBreakerStore,
    private readonly memory: MemoryBreakerStore,
    private readonly health: RedisHealth,
  ) {}

  enter(provider: string, settings: BreakerSettings, probeToken: string): Promise<BreakerEntry> {
    return this.health.run(
      () => this.redis.enter(provider, settings, probeToken),
      () => this.memory.enter(provider, settings, probeToken),
    );
  }

  record(provider: string, settings: BreakerSettings, outcome: 'success' | 'failure', probeToken: string | null): Promise<BreakerTransition | null> {
    return this.health.run(
      () => this.redis.record(provider, settings, outcome, probeToken),
      () => this.memory.record(provider, settings, outcome, probeToken),
    );
  }

  release(provider: string, probeToken: string): Promise<void> {
    return this.health.run(
      () => this.redis.release(provider, probeToken),
      () => this.memory.release(provider, probeToken),
    );
  }

  snapshot(provider: string): Promise<BreakerSnapshot> {
    return this.health.run(
      () => this.redis.snapshot(provider),
      () => this.memory.snapshot(provider),
    );
  }
}

export interface BreakerOptions {
  store: BreakerStore;
  settingsFor: (provider: string) => BreakerSettings;
  logger: Logger;
  /** Told about every state change this process caused or saw first (metrics). */
  onTransition?: (provider: string, from: BreakerState, to: BreakerState) => void;
}

export class Breaker implements CircuitBreaker {
  constructor(private readonly opts: BreakerOptions) {}

  async enter(provider: string): Promise<BreakerPermit> {
    const token = randomSuffix();
    const entry = await this.opts.store.enter(provider, this.opts.settingsFor(provider), token);
    if (entry.kind === 'open') throw new BreakerOpenError(provider, entry.retryAt);
    if (entry.kind === 'probe') {
      this.changed(provider, { from: 'open', to: 'half_open', retryAt: null });
      return { provider, probeToken: token, failures: 0 };
    }
    return { provider, probeToken: null, failures: entry.failures };
  }

  async success(permit: BreakerPermit): Promise<void> {
    // Nothing to reset when the breaker was closed with no failures: saves a write on every healthy call.
    if (permit.probeToken === null && permit.failures === 0) return;
    this.changed(permit.provider, await this.opts.store.record(permit.provider, this.opts.settingsFor(permit.provider), 'success', permit.probeToken));
  }

  async failure(permit: BreakerPermit): Promise<void> {
    this.changed(permit.provider, await this.opts.store.record(permit.provider, this.opts.settingsFor(permit.provider), 'failure', permit.probeToken));
  }

  async release(permit: BreakerPermit): Promise<void> {
    if (permit.probeToken !== null) await this.opts.store.release(permit.provider, permit.probeToken);
  }

  /** Runs fn unless the breaker is open. Errors for which isFailure is false prove the provider answered: they count as success. */
  async execute<T>(provider: string, fn: () => Promise<T>, isFailure: (err: unknown) => boolean = isTransientFailure): Promise<T> {
    const permit = await this.enter(provider);
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      if (isFailure(err)) await this.failure(permit);
      else await this.success(permit);
      throw err;
    }
    await this.success(permit);
    return result;
  }

  snapshot(provider: string): Promise<BreakerSnapshot> {
    return this.opts.store.snapshot(provider);
  }

  private changed(provider: string, t: BreakerTransition | null): void {
    if (!t || t.from === t.to) return;
    const retryAt = iso(t.retryAt);
    this.opts.logger.warn({ provider, from: t.from, to: t.to, retryAt }, `circuit breaker ${t.to === 'open' ? 'opened' : t.to === 'closed' ? 'closed' : 'half-open: probing'} for ${provider}`);
    this.opts.onTransition?.(provider, t.from, t.to);
  }
}

export interface CreateBreakerOptions {
  breakers: Record<string, BreakerSettings>;
  defaultBreaker: BreakerSettings;
  logger: Logger;
  onTransition?: (provider: string, from: BreakerState, to: BreakerState) => void;
  redis: { client: Redis; health: RedisHealth; keyPrefix: string } | null;
}

export function createCircuitBreaker(opts: CreateBreakerOptions): Breaker {
  const memory = new MemoryBreakerStore();
  const store = opts.redis ? new FallbackBreakerStore(new RedisBreakerStore(opts.redis.client, opts.redis.keyPrefix), memory, opts.redis.health) : memory;
  return new Breaker({
    store,
    settingsFor: (provider) => opts.breakers[provider] ?? opts.defaultBreaker,
    logger: opts.logger,
    onTransition: opts.onTransition,
  });
}
