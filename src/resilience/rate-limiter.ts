// The rate limiter: sliding-window logs per provider (requests and tokens), shared through Redis when there is one,
// in this process otherwise. It never waits: a refusal says how long until capacity returns.
import type Redis from 'ioredis';
import { limitsLookup } from './rate-limiter-common';
import { MemoryRateLimiter } from './rate-limiter-memory';
import { RedisRateLimiter } from './rate-limiter-redis';
import type { RedisHealth } from './redis-fallback';
import type { AcquireCost, AcquireResult, LimiterSnapshot, ProviderLimits, RateLimiter, RateInfo } from './types';

export { MemoryRateLimiter } from './rate-limiter-memory';
export { RedisRateLimiter } from './rate-limiter-redis';

/**
 * Redis first; while Redis is away, this process's copy. The copy also records every grant and ticket reservation Redis
 * makes, so a fallback still counts this process's recent calls and honours its reserved slots, and what it granted or
 * reserved while Redis was away is copied back on recovery.
 */
export class FallbackRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: RedisRateLimiter,
    private readonly memory: MemoryRateLimiter,
    private readonly health: RedisHealth,
  ) {
    health.onRecover(async () => {
      for (const provider of memory.providers()) await redis.importState(provider, memory.exportState(provider));
    });
  }

  acquire(provider: string, cost: AcquireCost): Promise<AcquireResult> {
    return this.health.run(
      async () => {
        const { result, reserved } = await this.redis.acquireDetailed(provider, cost);
        if (result.ok) {
          this.memory.record(provider, result.reservation, cost);
          if (cost.ticket) this.memory.forgetTicket(provider, cost.ticket);
        } else if (reserved && cost.ticket) {
          // The copy keeps the slot too, so a fallback before it comes round still grants it then.
          this.memory.recordReservation(provider, cost.ticket, reserved, cost);
        }
        return result;
      },
      () => this.memory.acquire(provider, cost),
    );
  }

  async settle(provider: string, reservation: string, actualTokens: number): Promise<void> {
    await this.memory.settle(provider, reservation, actualTokens);
    await this.health.run(
      () => this.redis.settle(provider, reservation, actualTokens),
      () => undefined,
    );
  }

  async learn(provider: string, info: RateInfo): Promise<void> {
    await this.memory.learn(provider, info);
    await this.health.run(
      () => this.redis.learn(provider, info),
      () => undefined,
    );
  }

  async blockUntil(provider: string, epochMs: number, reason: string): Promise<void> {
    await this.memory.blockUntil(provider, epochMs, reason);
    await this.health.run(
      () => this.redis.blockUntil(provider, epochMs, reason),
      () => undefined,
    );
  }

  snapshot(provider: string): Promise<LimiterSnapshot> {
    return this.health.run(
      () => this.redis.snapshot(provider),
      () => this.memory.snapshot(provider),
    );
  }
}

export interface CreateRateLimiterOptions {
  limits: Record<string, ProviderLimits>;
  marginMs: number;
  spacing?: boolean;
  /** Redis and its health; null for in-process only. */
  redis: { client: Redis; health: RedisHealth; keyPrefix: string } | null;
}

export function createRateLimiter(opts: CreateRateLimiterOptions): RateLimiter {
  const limitsFor = limitsLookup(opts.limits);
  if (!opts.redis) return new MemoryRateLimiter({ limitsFor, marginMs: opts.marginMs, spacing: opts.spacing });
  const { client, health, keyPrefix } = opts.redis;
  const memory = new MemoryRateLimiter({ limitsFor, marginMs: opts.marginMs, spacing: opts.spacing, now: () => health.now() });
  const redis = new RedisRateLimiter({ redis: client, keyPrefix, limitsFor, marginMs: opts.marginMs, spacing: opts.spacing, onRedisTime: (t) => health.observeRedisTime(t) });
  return new FallbackRateLimiter(redis, memory, health);
}
