// Leases: one holder at a time for a name (a publication's idempotency key), shared by every process through Redis,
// held for a TTL that the holder renews while it works. A holder that dies (kill -9, a lost machine) stops renewing and
// its lease lapses within the TTL. Like the other policies here it runs on Redis while Redis answers and on this
// process's memory while it doesn't (RedisHealth): an outage never blocks a caller and never fails it, it only narrows
// what the lease spans to this process until Redis is back (the next renewal then takes the lease in Redis again).
//
// Keys: <prefix>lease:{<name>}  STRING the holder's token, SET NX PX ttl (renewed by its holder; lapses by itself)
import type Redis from 'ioredis';
import { LuaScript, readLua } from './redis-client';
import type { RedisHealth } from './redis-fallback';

const TAKE = new LuaScript(readLua('lease-take'));
const RELEASE = new LuaScript(readLua('lease-release'));

export type LeaseAnswer = { held: true } | { held: false; /** When the other holder's lease runs out unless renewed. */ retryAfterMs: number };

export interface Leases {
  /** Takes `name` for `ttlMs` if nobody holds it, or renews it (ttlMs from now) if `token` holds it already. */
  take(name: string, token: string, ttlMs: number): Promise<LeaseAnswer>;
  /** If `token` holds `name`: frees it at once (graceMs 0), or lets it lapse within graceMs. */
  release(name: string, token: string, graceMs?: number): Promise<void>;
}

/** In this process: with no Redis, and while Redis is away. */
export class MemoryLeases implements Leases {
  private readonly held = new Map<string, { token: string; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  async take(name: string, token: string, ttlMs: number): Promise<LeaseAnswer> {
    const now = this.now();
    const cur = this.held.get(name);
    if (cur && cur.token !== token && cur.until > now) return { held: false, retryAfterMs: Math.max(1, cur.until - now) };
    this.held.set(name, { token, until: now + ttlMs });
    this.sweep(now);
    return { held: true };
  }

  async release(name: string, token: string, graceMs = 0): Promise<void> {
    const cur = this.held.get(name);
    if (!cur || cur.token !== token) return;
    if (graceMs <= 0) this.held.delete(name);
    else cur.until = Math.min(cur.until, this.now() + graceMs);
  }

  /** Lapsed leases of holders that never came back are dropped now and then, so the map stays small. */
  private sweep(now: number): void {
    if (this.held.size < 1000) return;
    for (const [name, l] of this.held) if (l.until <= now) this.held.delete(name);
  }
}

export class RedisLeases implements Leases {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  key(name: string): string {
    return `${this.keyPrefix}lease:{${name}}`;
  }

  async take(name: string, token: string, ttlMs: number): Promise<LeaseAnswer> {
    const r = (await TAKE.run(this.redis, [this.key(name)], [token, Math.max(1, Math.ceil(ttlMs))])) as [number, number];
    return Number(r[0]) === 1 ? { held: true } : { held: false, retryAfterMs: Math.max(1, Number(r[1])) };
  }

  async release(name: string, token: string, graceMs = 0): Promise<void> {
    await RELEASE.run(this.redis, [this.key(name)], [token, Math.max(0, Math.ceil(graceMs))]);
  }
}

/** Redis while it answers, this process's memory while it doesn't. */
export class FallbackLeases implements Leases {
  constructor(
    private readonly redis: RedisLeases,
    private readonly memory: MemoryLeases,
    private readonly health: RedisHealth,
  ) {}

  take(name: string, token: string, ttlMs: number): Promise<LeaseAnswer> {
    return this.health.run(
      () => this.redis.take(name, token, ttlMs),
      () => this.memory.take(name, token, ttlMs),
    );
  }

  async release(name: string, token: string, graceMs = 0): Promise<void> {
    // Both: a lease taken in memory during an outage must not outlive its holder's release once Redis is back.
    await this.memory.release(name, token, graceMs);
    await this.health.run(
      () => this.redis.release(name, token, graceMs),
      () => undefined,
    );
  }
}

export function createLeases(shared: { client: Redis; health: RedisHealth; keyPrefix: string } | null): Leases {
  const memory = new MemoryLeases();
  if (!shared) return memory;
  return new FallbackLeases(new RedisLeases(shared.client, shared.keyPrefix), memory, shared.health);
}
