// The resilience layer with no Redis (REDIS_URL unset): execute() outcomes, metrics, the bounded cache.
import pino from 'pino';
import { Registry } from 'prom-client';
import { BreakerOpenError, QuotaExhaustedError, RateLimitedError, TransientError } from '../../../src/providers/errors';
import { createResilience, type ResilienceConfig } from '../../../src/resilience';
import { MemoryCacheStore } from '../../../src/resilience/response-cache';

const silent = pino({ level: 'silent' });

function make(extra: Partial<ResilienceConfig> = {}, logger = silent) {
  const metrics = new Registry();
  const config: ResilienceConfig = {
    limits: { openai: { requests: [{ count: 2, windowMs: 60_000 }], tokens: [] } },
    breakers: { flaky: { failures: 2, cooldownMs: 60_000 } },
    defaultBreaker: { failures: 5, cooldownMs: 60_000 },
    cacheTtlMs: 60_000,
    ...extra,
  };
  return { r: createResilience({ redis: null, config, logger, metrics }), metrics };
}

test('a refused call never reaches the provider and says how long to wait, in a RateLimitedError', async () => {
  const { r, metrics } = make();
  let calls = 0;
  const fn = async () => ++calls;
  await r.execute('openai', {}, fn);
  await r.execute('openai', {}, fn);
  const err = await r.execute('openai', {}, fn).catch((e: unknown) => e);
  expect(calls).toBe(2);
  expect(err).toBeInstanceOf(RateLimitedError);
  expect((err as RateLimitedError).message).toBe('openai: 2 requests per 1m used');
  expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(59_000);
  expect((err as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(60_250);
  const text = await metrics.metrics();
  expect(text).toContain('herald_provider_calls_total{provider="openai",outcome="ok"} 2');
  expect(text).toContain('herald_provider_calls_total{provider="openai",outcome="rate_limited"} 1');
  expect(text).toContain('herald_rate_limit_refusals_total{provider="openai"} 1');
  expect(text).toContain('herald_rate_limit_used{provider="openai",kind="requests",window="1m"} 2');
  expect(text).toContain('herald_rate_limit_limit{provider="openai",kind="requests",window="1m"} 2');
  expect(text).toContain('herald_redis_fallback_active 0');
  await r.close();
});

test('an open breaker fails fast, is logged and shows in metrics and the snapshot', async () => {
  const lines: { msg: string; provider?: string; from?: string; to?: string; retryAt?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  const { r, metrics } = make({}, logger);
  for (let i = 0; i < 2; i++) {
    await r
      .execute('flaky', {}, async () => {
        throw new TransientError('flaky', 'HTTP 503');
      })
      .catch(() => undefined);
  }
  let called = false;
  const err = await r
    .execute('flaky', {}, async () => {
      called = true;
    })
    .catch((e: unknown) => e);
  expect(called).toBe(false);
  expect(err).toBeInstanceOf(BreakerOpenError);
  expect(lines).toContainEqual(expect.objectContaining({ provider: 'flaky', from: 'closed', to: 'open', retryAt: expect.any(String), msg: 'circuit breaker opened for flaky' }));
  const snap = (await r.snapshot()).find((s) => s.provider === 'flaky')!;
  expect(snap.breaker).toMatchObject({ state: 'open', failures: 2 });
  const text = await metrics.metrics();
  expect(text).toContain('herald_breaker_state{provider="flaky"} 2');
  expect(text).toContain('herald_breaker_transitions_total{provider="flaky",from="closed",to="open"} 1');
  expect(text).toContain('herald_provider_calls_total{provider="flaky",outcome="error"} 2');
  expect(text).toContain('herald_provider_calls_total{provider="flaky",outcome="breaker_open"} 1');
  await r.close();
});

test('errors pass through unchanged, and quota errors neither block nor open the breaker', async () => {
  const { r } = make();
  const quota = new QuotaExhaustedError('flaky', 'insufficient_quota');
  for (let i = 0; i < 3; i++) await expect(r.execute('flaky', {}, () => Promise.reject(quota))).rejects.toBe(quota);
  expect((await r.breaker.snapshot('flaky')).state).toBe('closed');
  expect((await r.limiter.snapshot('flaky')).blockedUntil).toBeNull();
});

test('the snapshot covers every configured provider and any seen', async () => {
  const { r } = make();
  await r.execute('mastodon', {}, async () => 'ok');
  const snap = await r.snapshot();
  expect(snap.map((s) => s.provider)).toEqual(['flaky', 'mastodon', 'openai']);
  expect(snap.find((s) => s.provider === 'openai')).toEqual({
    provider: 'openai',
    breaker: { state: 'closed', failures: 0, retryAt: null, openedAt: null },
    windows: [{ kind: 'requests', limit: 2, used: 0, remaining: 2, resetAt: null, window: '1m', source: 'configured' }],
    blockedUntil: null,
    blockedReason: null,
    cache: { hits: 0, misses: 0 },
  });
});

test('concurrent identical requests in one process pay once', async () => {
  const { r, metrics } = make();
  let paid = 0;
  const gen = async () => {
    paid++;
    await new Promise((res) => setTimeout(res, 50));
    return { text: 'hi' };
  };
  const results = await Promise.all([1, 2, 3].map(() => r.cache.execute('openai', { prompt: 'same' }, gen)));
  expect(paid).toBe(1);
  expect(results).toEqual([{ text: 'hi' }, { text: 'hi' }, { text: 'hi' }]);
  expect(r.cache.stats('openai')).toEqual({ hits: 2, misses: 1 });
  const text = await metrics.metrics();
  expect(text).toContain('herald_cache_hits_total{provider="openai"} 2');
  expect(text).toContain('herald_cache_misses_total{provider="openai"} 1');
});

test('the in-process cache keeps at most its bound, dropping the least recently used', async () => {
  const store = new MemoryCacheStore(3);
  for (const k of ['a', 'b', 'c']) await store.set(k, k, 60_000);
  await store.get('a'); // a is now the most recently used
  await store.set('d', 'd', 60_000);
  expect(store.size).toBe(3);
  expect(await store.get('b')).toBeUndefined();
  expect(await store.get('a')).toBe('a');
  expect(await store.get('d')).toBe('d');
});

test('two instances in one test process keep their metrics apart', async () => {
  const a = make();
  const b = make();
  await a.r.execute('openai', {}, async () => 1);
  expect(await a.metrics.metrics()).toContain('herald_provider_calls_total{provider="openai",outcome="ok"} 1');
  expect(await b.metrics.metrics()).not.toContain('herald_provider_calls_total{provider="openai",outcome="ok"}');
});
