// Cached responses in Redis, shared by every process.
//
// Keys:
//   <prefix>cache:<sha256 of the canonical request>  STRING JSON value, PX ttl
import type Redis from 'ioredis';
import type { CacheStore } from './types';

export class RedisCacheStore implements CacheStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  key(key: string): string {
    return `${this.keyPrefix}cache:${key}`;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.key(key))) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) return;
    await this.redis.set(this.key(key), value, 'PX', Math.ceil(ttlMs));
  }
}
