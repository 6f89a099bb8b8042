// Limit and breaker specs from the environment, the built-in limits, cache keys and the error classification.
import { BreakerOpenError, PermanentError, RateLimitedError, TransientError } from '../../../src/providers/errors';
import { cacheKey, DEFAULT_LIMITS, isBreakerOpenError, isTransientFailure, parseBreakerSpec, parseLimitSpec } from '../../../src/resilience';
import { deserialize, serialize } from '../../../src/resilience/response-cache';
import { formatWindow } from '../../../src/resilience/types';

describe('limit specs', () => {
  test('several comma-separated windows with any unit parse to counts and milliseconds', () => {
    expect(parseLimitSpec('60/1m,1000/1d')).toEqual([
      { count: 60, windowMs: 60_000 },
      { count: 1000, windowMs: 86_400_000 },
    ]);
    expect(parseLimitSpec('150/10s')).toEqual([{ count: 150, windowMs: 10_000 }]);
    expect(parseLimitSpec(' 5 / 500ms , 300/5m, 50/24h, 10/m ')).toEqual([
      { count: 5, windowMs: 500 },
      { count: 300, windowMs: 300_000 },
      { count: 50, windowMs: 86_400_000 },
      { count: 10, windowMs: 60_000 },
    ]);
    expect(parseLimitSpec('none')).toEqual([]);
    expect(parseLimitSpec('')).toEqual([]);
  });

  test('bad limit specs are refused with a message that shows the fix', () => {
    expect(() => parseLimitSpec('sixty per minute')).toThrow(/"sixty per minute" is not a limit \(use count\/window, e.g. 60\/1m/);
    expect(() => parseLimitSpec('0/1m')).toThrow(/count must be a whole number >= 1/);
    expect(() => parseLimitSpec('10/1y')).toThrow(/"1y" is not a duration/);
    expect(() => parseLimitSpec('10/0s')).toThrow(/longer than 0/);
    expect(() => parseLimitSpec('60/1m,')).toThrow(/is not a limit/);
  });

  test('breaker specs are failures/cooldown', () => {
    expect(parseBreakerSpec('5/60s')).toEqual({ failures: 5, cooldownMs: 60_000 });
    expect(parseBreakerSpec('3/2m')).toEqual({ failures: 3, cooldownMs: 120_000 });
    expect(() => parseBreakerSpec('5')).toThrow(/use failures\/cooldown, e.g. 5\/60s/);
    expect(() => parseBreakerSpec('0/60s')).toThrow(/failure count must be a whole number >= 1/);
  });

  test('windows are named in the largest unit that fits', () => {
    expect([60_000, 10_000, 86_400_000, 1500, 2_592_000_000, 300_000].map(formatWindow)).toEqual(['1m', '10s', '1d', '1500ms', '30d', '5m']);
  });
});

test('every provider Herald talks to has a built-in request limit', () => {
  const providers = ['openai', 'anthropic', 'gemini', 'stability', 'unsplash', 'pexels', 'x', 'linkedin', 'facebook', 'instagram', 'threads', 'mastodon', 'bluesky', 'slack', 'discord', 'webhook'];
  expect(Object.keys(DEFAULT_LIMITS).sort()).toEqual([...providers].sort());
  for (const p of providers) {
    expect(DEFAULT_LIMITS[p].requests.length).toBeGreaterThan(0);
    for (const w of [...DEFAULT_LIMITS[p].requests, ...DEFAULT_LIMITS[p].tokens]) {
      expect(Number.isInteger(w.count) && w.count > 0 && w.windowMs > 0).toBe(true);
    }
  }
  expect(DEFAULT_LIMITS.stability.requests).toEqual([{ count: 150, windowMs: 10_000 }]);
  expect(DEFAULT_LIMITS.instagram.requests).toEqual([{ count: 50, windowMs: 86_400_000 }]);
});

describe('cache keys', () => {
  test('equal requests give equal keys whatever the key order; different requests differ', () => {
    const a = cacheKey({ provider: 'openai', prompt: { system: 's', user: 'u', maxTokens: 100 }, model: 'm' });
    const b = cacheKey({ model: 'm', prompt: { maxTokens: 100, user: 'u', system: 's' }, provider: 'openai' });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(cacheKey({ provider: 'openai', prompt: { system: 's', user: 'u2', maxTokens: 100 }, model: 'm' })).not.toBe(a);
    expect(cacheKey([1, 2])).not.toBe(cacheKey([2, 1]));
    expect(cacheKey({ a: 1, b: undefined })).toBe(cacheKey({ a: 1 }));
  });

  test('cached values keep their Buffers', () => {
    const value = { bytes: Buffer.from('png bytes'), nested: [{ b: Buffer.from([0, 255]) }], text: 'x' };
    const back = deserialize<typeof value>(serialize(value));
    expect(back).toEqual(value);
    expect(Buffer.isBuffer(back.nested[0].b)).toBe(true);
  });
});

test('only transient errors, timeouts and dropped connections count as breaker failures', () => {
  expect(isTransientFailure(new TransientError('p', 'HTTP 503'))).toBe(true);
  expect(isTransientFailure(Object.assign(new Error('timeout'), { name: 'TimeoutError' }))).toBe(true);
  expect(isTransientFailure(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }))).toBe(true);
  expect(isTransientFailure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(true);
  expect(isTransientFailure(new PermanentError('p', 'HTTP 400'))).toBe(false);
  expect(isTransientFailure(new RateLimitedError('p', '429', 1000))).toBe(false);
  expect(isTransientFailure(Object.assign(new Error('aborted'), { name: 'AbortError' }))).toBe(false);
  expect(isTransientFailure(Object.assign(new Error('aborted'), { code: 'UND_ERR_ABORTED' }))).toBe(false);
  expect(isTransientFailure('nope')).toBe(false);
});

test('a breaker-open error says until when, and is recognised by its guard', () => {
  const at = Date.parse('2030-01-02T03:04:05.000Z');
  const err = new BreakerOpenError('openai', at);
  expect(err.message).toBe('openai: circuit breaker open for openai until 2030-01-02T03:04:05.000Z');
  expect(err.retryAt).toBe(at);
  expect(err.name).toBe('BreakerOpenError');
  expect(isBreakerOpenError(err)).toBe(true);
  expect(isBreakerOpenError(new TransientError('openai', 'x'))).toBe(false);
});
