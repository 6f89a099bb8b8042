// Every provider error becomes an ApplicationFailure whose type, retry behaviour and details[0] the workflows rely on.
// The expected values are written out here, not derived from the code under test.
import { ApplicationFailure } from '@temporalio/common';
import { limitFailure, toApplicationFailure } from '../../../src/activities/failures';
import {
  AuthExpiredError,
  BreakerOpenError,
  DuplicateError,
  NotReadyError,
  PermanentError,
  QuotaExhaustedError,
  RateLimitedError,
  ReauthRequiredError,
  TransientError,
} from '../../../src/providers/errors';

const KEYS = ['attempt', 'existingId', 'provider', 'retryAt', 'status'];

function mapped(err: unknown): ApplicationFailure {
  const out = toApplicationFailure(err, { attempt: 3 });
  expect(out).toBeInstanceOf(ApplicationFailure);
  return out as ApplicationFailure;
}

function first(f: ApplicationFailure): Record<string, unknown> {
  expect(f.details).toHaveLength(1);
  const d = f.details?.[0] as Record<string, unknown>;
  expect(Object.keys(d).sort()).toEqual(KEYS);
  return d;
}

describe('provider errors become typed ApplicationFailures', () => {
  test.each([
    ['QuotaExhausted', new QuotaExhaustedError('openai', 'out of credits', 429)],
    ['ReauthRequired', new ReauthRequiredError('x', 'revoked', 400)],
    ['Permanent', new PermanentError('slack', 'HTTP 404', 404)],
  ])('%s is not retried', (type, err) => {
    const f = mapped(err);
    expect(f.type).toBe(type);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe(err.message);
    expect(first(f)).toMatchObject({ provider: err.provider, status: err.status, attempt: 3, retryAt: null, existingId: null });
  });

  test.each([
    ['AuthExpired', new AuthExpiredError('linkedin', 'expired', 401)],
    ['Transient', new TransientError('gemini', 'HTTP 503', 503)],
  ])('%s is retried with Temporal backoff', (type, err) => {
    const f = mapped(err);
    expect(f.type).toBe(type);
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBeUndefined();
    expect(first(f)).toMatchObject({ provider: err.provider, status: err.status, attempt: 3 });
  });

  test('a rate limit is retried after the delay the provider named', () => {
    const f = mapped(new RateLimitedError('anthropic', 'slow down', 7_000, 429));
    expect(f.type).toBe('RateLimited');
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(7_000);
    expect(first(f)).toMatchObject({ provider: 'anthropic', status: 429, attempt: 3 });
  });

  test('a container still processing comes back after its delay', () => {
    const f = mapped(new NotReadyError('instagram', 'IN_PROGRESS', 5_000));
    expect(f.type).toBe('NotReady');
    expect(f.nextRetryDelay).toBe(5_000);
    expect(first(f)).toMatchObject({ provider: 'instagram', status: null });
  });

  test('an open breaker is retried when its probe may go', () => {
    const f = mapped(new BreakerOpenError('openai', Date.now() + 30_000));
    expect(f.type).toBe('BreakerOpen');
    expect(f.nextRetryDelay as number).toBeGreaterThan(25_000);
    expect(f.nextRetryDelay as number).toBeLessThanOrEqual(30_000);
  });

  test("a duplicate names the platform's existing post in details[0]", () => {
    const f = mapped(new DuplicateError('x', 'duplicate', '1790', 403));
    expect(f.type).toBe('Duplicate');
    expect(f.nonRetryable).toBe(true);
    expect(first(f)).toMatchObject({ provider: 'x', status: 403, existingId: '1790' });
  });

  test('failures already mapped and errors that are not a provider’s pass unchanged', () => {
    const already = ApplicationFailure.create({ type: 'AccountMissing', nonRetryable: true });
    expect(toApplicationFailure(already)).toBe(already);
    const bug = new TypeError('undefined is not a function');
    expect(toApplicationFailure(bug)).toBe(bug);
  });
});

describe('limits the workflow answers itself', () => {
  test('a publication waits until retryAt: not retried in place, the instant carried in details[0]', () => {
    const before = Date.now();
    const f = limitFailure(new RateLimitedError('x', 'slow down', 60_000, 429), { provider: 'x', attempt: 2, withRetryAt: true });
    expect(f.type).toBe('RateLimited');
    expect(f.nonRetryable).toBe(true);
    const d = first(f);
    expect(d).toMatchObject({ provider: 'x', status: 429, attempt: 2 });
    const at = Date.parse(d.retryAt as string);
    expect(at).toBeGreaterThanOrEqual(before + 60_000);
    expect(at).toBeLessThan(before + 65_000);
  });

  test("an open breaker's retryAt is the breaker's own", () => {
    const f = limitFailure(new BreakerOpenError('mastodon', Date.parse('2030-01-01T00:00:00Z')), { provider: 'mastodon', attempt: 1, withRetryAt: true });
    expect(f.type).toBe('BreakerOpen');
    expect(first(f).retryAt).toBe('2030-01-01T00:00:00.000Z');
  });

  test('a chain with a next provider moves on: no retryAt, the message says why', () => {
    const f = limitFailure(new RateLimitedError('openai', 'slow down', 120_000, 429), { provider: 'openai', attempt: 1, message: 'openai: slow down; the next provider writes' });
    expect(f.type).toBe('RateLimited');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe('openai: slow down; the next provider writes');
    expect(first(f).retryAt).toBeNull();
  });
});
