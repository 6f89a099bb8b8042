// A Redis client set up to fail fast, so the resilience layer can fall back to in-process state instead of waiting.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';

/** For entry points: commands fail at once while disconnected (no offline queue) and give up after 500 ms. */
export function createRedisClient(url: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 1000,
    // Keep reconnecting in the background, never more than every 2 s.
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: false,
    // disconnect() of a socket that never connected leaves a timer this long (ioredis default 2 s).
    disconnectTimeout: 500,
  });
}

/** A Lua script run by EVALSHA, loaded again with EVAL when Redis has forgotten it (after a restart). */
export class LuaScript {
  private readonly sha: string;
  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error)?.message ?? '').includes('NOSCRIPT')) throw err;
      return await redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * The source of a script from src/resilience/lua: the named files joined in order (shared pieces first, then the
 * script). Read from the source tree when a module loads, so nothing needs a build step.
 */
export function readLua(...names: string[]): string {
  return names.map((name) => readFileSync(path.join(__dirname, 'lua', `${name}.lua`), 'utf8')).join('\n');
}
