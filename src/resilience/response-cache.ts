// The response cache: the same prompt to the same provider is paid for once. Values are JSON (Buffers kept as base64),
// in Redis with a TTL when there is one, in a bounded in-process LRU otherwise.
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { MemoryCacheStore } from './response-cache-memory';
import { RedisCacheStore } from './response-cache-redis';
import type { RedisHealth } from './redis-fallback';
import type { CacheStats, CacheStore, ResponseCache } from './types';

export { MemoryCacheStore } from './response-cache-memory';
export { RedisCacheStore } from './response-cache-redis';

function canonical(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  if (Array.isArray(value)) return value.map((v) => (v === undefined || typeof v === 'function' ? null : canonical(v)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined && typeof v !== 'function') out[k] = canonical(v);
    }
    return out;
  }
  return value;
}

/** sha256 (hex) of the parts as JSON with sorted keys: equal requests give equal keys whatever the key order. */
export function cacheKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(canonical(parts)) ?? 'undefined').digest('hex');
}

const BUFFER_TAG = '$herald_b64';

export function serialize(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? { [BUFFER_TAG]: raw.toString('base64') } : v;
  });
}

export function deserialize<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const tagged = (v as Record<string, unknown>)[BUFFER_TAG];
      if (typeof tagged === 'string' && Object.keys(v).length === 1) return Buffer.from(tagged, 'base64');
    }
    return v;
  }) as T;
}

/** Redis while it answers; this process's LRU while it doesn't (it starts empty: a miss costs a call, never an error). */
export class FallbackCacheStore implements CacheStore {
  constructor(
    private readonly redis: RedisCacheStore,
    private readonly memory: MemoryCacheStore,
    private readonly health: RedisHealth,
  ) {}

  get(key: string): Promise<string | undefined> {
    return this.health.run(
      () => this.redis.get(key),
      () => this.memory.get(key),
    );
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.health.run(
      () => this.redis.set(key, value, ttlMs),
      () => this.memory.set(key, value, ttlMs),
    );
  }
}

export interface ResponseCacheOptions {
  store: CacheStore;
  defaultTtlMs: number;
  onHit?: (provider: string) => void;
  onMiss?: (provider: string) => void;
}

export class Cache implements ResponseCache {
  private readonly counts = new Map<string, CacheStats>();
  private readonly inflight = new Map<string, Promise<unknown>>();

  constructor(private readonly opts: ResponseCacheOptions) {}

  async get<T>(key: string, provider = 'unknown'): Promise<T | undefined> {
    const text = await this.opts.store.get(key);
    let value: T | undefined;
    try {
      value = text === undefined ? undefined : deserialize<T>(text);
    } catch {
      value = undefined; // unreadable entry: treat as a miss, the next set replaces it
    }
    this.count(provider, value !== undefined);
    return value;
  }

  async set(key: string, value: unknown, ttlMs: number = this.opts.defaultTtlMs): Promise<void> {
    if (value === undefined) return;
    await this.opts.store.set(key, serialize(value), ttlMs);
  }

  async execute<T>(provider: string, parts: unknown, fn: () => Promise<T>, opts: { ttlMs?: number } = {}): Promise<T> {
    const key = cacheKey({ provider, parts });
    // The same request already running in this process (looking up or calling): share its answer, pay once.
    const running = this.inflight.get(key) as Promise<T> | undefined;
    if (running) {
      this.count(provider, true);
      return running;
    }
    const call = (async () => {
      const cached = await this.get<T>(key, provider);
      if (cached !== undefined) return cached;
      const value = await fn();
      await this.set(key, value, opts.ttlMs ?? this.opts.defaultTtlMs);
      return value;
    })();
    this.inflight.set(key, call);
    try {
      return await call;
    } finally {
      if (this.inflight.get(key) === call) this.inflight.delete(key);
    }
  }

  stats(provider: string): CacheStats {
    return { ...(this.counts.get(provider) ?? { hits: 0, misses: 0 }) };
  }

  private count(provider: string, hit: boolean): void {
    const c = this.counts.get(provider) ?? { hits: 0, misses: 0 };
    if (hit) c.hits++;
    else c.misses++;
    this.counts.set(provider, c);
    if (hit) this.opts.onHit?.(provider);
    else this.opts.onMiss?.(provider);
  }
}

export interface CreateResponseCacheOptions {
  defaultTtlMs: number;
  maxMemoryEntries?: number;
  onHit?: (provider: string) => void;
  onMiss?: (provider: string) => void;
  redis: { client: Redis; health: RedisHealth; keyPrefix: string } | null;
}

export function createResponseCache(opts: CreateResponseCacheOptions): Cache {
  const memory = new MemoryCacheStore(opts.maxMemoryEntries ?? 1000);
  const store = opts.redis ? new FallbackCacheStore(new RedisCacheStore(opts.redis.client, opts.redis.keyPrefix), memory, opts.redis.health) : memory;
  return new Cache({ store, defaultTtlMs: opts.defaultTtlMs, onHit: opts.onHit, onMiss: opts.onMiss });
}
