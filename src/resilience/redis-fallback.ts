// Redis when it answers, this process's memory when it doesn't. Every Redis-backed policy runs its calls through one
// RedisHealth: the first failed call switches all of them to memory at once (logged once), a background PING every
// few seconds looks for Redis again, and recovery hooks (e.g. copying this process's rate-limit log back) run before
// calls return to Redis. Callers never see a Redis error.
import type Redis from 'ioredis';
import type { Logger } from 'pino';

export interface RedisHealthOptions {
  /** How often to look for Redis again while on memory. */
  retryMs: number;
  /** How long a call may wait for the very first connection at start-up. */
  startupWaitMs?: number;
  /** Called with true when falling back to memory, false when back on Redis. */
  onChange?: (fallbackActive: boolean) => void;
}

export class RedisHealth {
  private usingRedis = true;
  private everReady: boolean;
  private nextProbeAt = 0;
  private probing: Promise<void> | null = null;
  private offsetMs = 0;
  private closed = false;
  private readonly recoverHooks: Array<() => Promise<void>> = [];
  private readonly onError = (err: Error) => this.logger.debug({ err: err.message }, 'redis connection error');

  constructor(
    readonly redis: Redis,
    private readonly logger: Logger,
    private readonly opts: RedisHealthOptions,
  ) {
    this.everReady = redis.status === 'ready';
    // Without a listener ioredis prints every reconnect failure to stderr.
    redis.on('error', this.onError);
  }

  get fallbackActive(): boolean {
    return !this.usingRedis;
  }

  /** This process's estimate of the Redis clock, so memory state lines up with what Redis recorded. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Redis scripts report Redis TIME; keep the offset to the local clock. */
  observeRedisTime(redisNowMs: number): void {
    if (Number.isFinite(redisNowMs) && redisNowMs > 0) this.offsetMs = redisNowMs - Date.now();
  }

  /** Runs before calls go back to Redis after an outage; if it fails, calls stay on memory and try again later. */
  onRecover(hook: () => Promise<void>): void {
    this.recoverHooks.push(hook);
  }

  async run<T>(primary: () => Promise<T>, fallback: () => T | Promise<T>): Promise<T> {
    if (this.usingRedis && !this.closed) {
      try {
        await this.whenConnected();
        return await primary();
      } catch (err) {
        this.markDown(err);
      }
    } else {
      this.maybeProbe();
    }
    return await fallback();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.probing) await this.probing;
    this.redis.off('error', this.onError);
  }

  private async whenConnected(): Promise<void> {
    const status = this.redis.status;
    if (status === 'ready') {
      this.everReady = true;
      return;
    }
    // At start-up give the first connection a moment; later, a missing connection means Redis is down.
    if (this.everReady || status === 'end' || status === 'close') throw new Error(`redis not connected (${status})`);
    if (status === 'wait') this.redis.connect().catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const timer = setTimeout(() => done(new Error('redis did not connect in time')), this.opts.startupWaitMs ?? 1000);
      this.redis.once('ready', onReady);
    });
    this.everReady = true;
  }

  private markDown(err: unknown): void {
    this.everReady = true; // from now on, never wait for a connection inside a call
    this.nextProbeAt = Date.now() + this.opts.retryMs;
    if (!this.usingRedis) return;
    this.usingRedis = false;
    this.logger.warn({ err: (err as Error)?.message ?? String(err) }, 'redis unavailable: rate limits, breakers and cache fall back to this process');
    this.opts.onChange?.(true);
  }

  private maybeProbe(): void {
    if (this.probing || this.closed || Date.now() < this.nextProbeAt) return;
    this.probing = (async () => {
      try {
        await this.redis.ping();
        for (const hook of this.recoverHooks) await hook();
        if (this.closed) return;
        this.usingRedis = true;
        this.logger.info('redis is back: rate limits, breakers and cache shared through redis again');
        this.opts.onChange?.(false);
      } catch {
        this.nextProbeAt = Date.now() + this.opts.retryMs;
      } finally {
        this.probing = null;
      }
    })();
  }
}
