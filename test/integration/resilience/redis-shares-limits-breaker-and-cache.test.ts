// The resilience layer against a real Redis: limits shared by several processes, the breaker's single probe, the
// response cache, and falling back to in-process state when Redis dies (and back when it returns). The same
// behaviour suite also runs with no Redis at all.
import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { BreakerOpenError, PermanentError, RateLimitedError, TransientError } from '../../../src/providers/errors';
import { createRedisClient, createResilience, type AcquireResult, type ProviderLimits, type RateLimiter, type Resilience, type ResilienceConfig } from '../../../src/resilience';
import { parseReservation } from '../../../src/resilience/rate-limiter-common';
import { busiest } from '../../helpers/busiest';
import { startPrivateRedis } from '../../helpers/private-redis';

jest.setTimeout(20_000);

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function captureLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

const clients: Redis[] = [];
const instances: Resilience[] = [];
const prefixes: string[] = [];

async function connect(url = REDIS_URL): Promise<Redis> {
  const c = createRedisClient(url);
  clients.push(c);
  if (c.status !== 'ready') await new Promise((resolve) => c.once('ready', resolve));
  return c;
}

function config(limits: Record<string, ProviderLimits>, extra: Partial<ResilienceConfig> = {}): ResilienceConfig {
  const keyPrefix = `herald-test:${randomUUID()}:`;
  prefixes.push(keyPrefix);
  return { limits, breakers: {}, defaultBreaker: { failures: 3, cooldownMs: 800 }, cacheTtlMs: 60_000, keyPrefix, ...extra };
}

function instance(redis: Redis | null, cfg: ResilienceConfig, logger: pino.Logger = pino({ level: 'silent' }), metrics = new Registry()): Resilience {
  const r = createResilience({ redis, config: cfg, logger, metrics });
  instances.push(r);
  return r;
}

let cleaner: Redis;
beforeAll(async () => {
  cleaner = await connect();
  clients.splice(clients.indexOf(cleaner), 1);
});
afterAll(async () => {
  await cleaner.quit();
});

afterEach(async () => {
  for (const r of instances.splice(0)) await r.close();
  for (const c of clients.splice(0)) {
    if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
    else c.disconnect();
  }
  for (const prefix of prefixes.splice(0)) {
    let cursor = '0';
    do {
      const [next, keys] = await cleaner.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await cleaner.del(...keys);
    } while (cursor !== '0');
  }
});

const ok = async <T>(v: T) => v;

interface TicketRun {
  ticket: string;
  answers: AcquireResult[];
  /** The granted slot (limiter clock) and when the caller had it (this clock). */
  slot: number;
  grantedAt: number;
  reservation: string;
}

/** One logical call: acquire; when refused, wait retryAfterMs (+3 ms) and acquire again with the same ticket. */
async function ticketCaller(limiters: RateLimiter[], provider: string, ticket: string, maxWaitMs?: number): Promise<TicketRun> {
  const answers: AcquireResult[] = [];
  for (;;) {
    // Each retry may land in another process, as Temporal retries do.
    const g = await limiters[answers.length % limiters.length].acquire(provider, { ticket, maxWaitMs });
    answers.push(g);
    if (g.ok) return { ticket, answers, slot: parseReservation(g.reservation)!.at, grantedAt: Date.now(), reservation: g.reservation };
    if (answers.length >= 6) throw new Error(`${ticket}: refused ${answers.length} times: ${g.reason}`);
    await sleep(g.retryAfterMs + 3);
  }
}

/** Each caller was granted on its first or second acquire, at its own slot; no interval of the window held more than count. */
function expectNoHerd(runs: TicketRun[], count: number, windowMs: number, marginMs = 250): void {
  expect(runs.filter((x) => x.answers.length > 2).map((x) => x.ticket)).toEqual([]);
  expect(new Set(runs.map((x) => x.reservation)).size).toBe(runs.length);
  // Refused callers were told slots of their own: never more than `count` told the same time.
  const told = runs.filter((x) => !x.answers[0].ok).map((x) => x.slot);
  expect(busiest(told, 1)).toBeLessThanOrEqual(count);
  // The limiter's log holds at most `count` in any window + margin; the callers' own clocks, in any window.
  expect(busiest(runs.map((x) => x.slot), windowMs + marginMs)).toBeLessThanOrEqual(count);
  expect(busiest(runs.map((x) => x.grantedAt), windowMs)).toBeLessThanOrEqual(count);
}

describe.each([['redis'], ['memory']] as const)('with %s state', (mode) => {
  const make = async (cfg: ResilienceConfig) => instance(mode === 'redis' ? await connect() : null, cfg);

  test('a refusal says exactly how long to wait: waiting that long is enough, a little less is not', async () => {
    const r = await make(config({ p: { requests: [{ count: 3, windowMs: 1000 }], tokens: [] } }));
    for (let i = 0; i < 3; i++) expect((await r.limiter.acquire('p', {})).ok).toBe(true);
    const refused = await r.limiter.acquire('p', {});
    if (refused.ok) throw new Error('expected a refusal');
    expect(refused.reason).toBe('p: 3 requests per 1s used');
    expect(refused.retryAfterMs).toBeGreaterThan(1000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(1250);
    await sleep(refused.retryAfterMs - 200);
    expect((await r.limiter.acquire('p', {})).ok).toBe(false);
    await sleep(205);
    expect((await r.limiter.acquire('p', {})).ok).toBe(true);
  });

  test('every window of a provider is honoured (5 per 1s and 8 per 3s)', async () => {
    const r = await make(config({ p: { requests: [{ count: 5, windowMs: 1000 }, { count: 8, windowMs: 3000 }], tokens: [] } }));
    for (let i = 0; i < 5; i++) expect((await r.limiter.acquire('p', {})).ok).toBe(true);
    const first = await r.limiter.acquire('p', {});
    if (first.ok) throw new Error('expected a refusal');
    expect(first.reason).toBe('p: 5 requests per 1s used');
    await sleep(first.retryAfterMs + 50); // the five grants were a few ms apart: let them all leave the 1s window
    for (let i = 0; i < 3; i++) expect((await r.limiter.acquire('p', {})).ok).toBe(true);
    const second = await r.limiter.acquire('p', {});
    if (second.ok) throw new Error('expected a refusal');
    expect(second.reason).toBe('p: 8 requests per 3s used');
    expect(second.retryAfterMs).toBeGreaterThan(1500);
    expect(second.retryAfterMs).toBeLessThanOrEqual(2000);
    const snap = await r.limiter.snapshot('p');
    expect(snap.windows.map((w) => [w.window, w.used, w.remaining])).toEqual([
      ['1s', 3, 2],
      ['3s', 8, 0],
    ]);
  });

  test('a token budget counts estimates, and settle() replaces them with real usage', async () => {
    const r = await make(config({ ai: { requests: [], tokens: [{ count: 1000, windowMs: 2000 }] } }));
    const a = await r.limiter.acquire('ai', { tokens: 400 });
    const b = await r.limiter.acquire('ai', { tokens: 400 });
    expect(a.ok && b.ok).toBe(true);
    const refused = await r.limiter.acquire('ai', { tokens: 400 });
    if (refused.ok) throw new Error('expected a refusal');
    expect(refused.reason).toBe('ai: 800 of 1000 tokens per 2s used, this call needs 400');
    if (!a.ok) throw new Error('unreachable');
    await r.limiter.settle('ai', a.reservation, 100);
    expect((await r.limiter.acquire('ai', { tokens: 400 })).ok).toBe(true);
    expect((await r.limiter.snapshot('ai')).windows[0]).toMatchObject({ kind: 'tokens', used: 900, remaining: 100, limit: 1000 });
    expect((await r.limiter.acquire('ai', { tokens: 200 })).ok).toBe(false);
    // Real usage above the estimate fills the window: even a call with no estimate must wait.
    const c = await r.limiter.acquire('ai', { tokens: 100 });
    if (!c.ok) throw new Error('expected a grant');
    await r.limiter.settle('ai', c.reservation, 500);
    expect((await r.limiter.acquire('ai', {})).ok).toBe(false);
  });

  test('execute() settles real token usage from the result', async () => {
    const r = await make(config({ ai: { requests: [{ count: 100, windowMs: 2000 }], tokens: [{ count: 1000, windowMs: 2000 }] } }));
    await r.execute('ai', { tokens: 900, usage: (res: { total: number }) => res.total }, async () => ({ total: 50 }));
    const windows = (await r.limiter.snapshot('ai')).windows;
    expect(windows.find((w) => w.kind === 'tokens')).toMatchObject({ used: 50 });
    expect(windows.find((w) => w.kind === 'requests')).toMatchObject({ used: 1 });
  });

  test('a provider report of 0 remaining blocks calls until its reset time', async () => {
    const r = await make(config({ p: { requests: [{ count: 100, windowMs: 1000 }], tokens: [] } }));
    const resetAt = Date.now() + 700;
    await r.execute('p', {}, async (ctx) => {
      ctx.report?.({ windows: [{ kind: 'requests', limit: 10, remaining: 0, resetAt }] });
      return 'ok';
    });
    const refused = await r.limiter.acquire('p', {});
    if (refused.ok) throw new Error('expected a refusal');
    expect(refused.reason).toMatch(/^p: provider reports no requests left until /);
    expect(refused.retryAfterMs).toBeGreaterThan(300);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(710);
    const snap = await r.limiter.snapshot('p');
    expect(snap.blockedUntil).not.toBeNull();
    expect(snap.windows).toContainEqual(expect.objectContaining({ source: 'provider', kind: 'requests', limit: 10, remaining: 0, used: 10 }));
    await expect(r.execute('p', {}, async () => 'never')).rejects.toBeInstanceOf(RateLimitedError);
    // Free again once the reset time has passed (asked again until then: a busy machine answers late, never early).
    await sleep(Math.max(0, resetAt - Date.now() + 10));
    let freed = await r.limiter.acquire('p', {});
    while (!freed.ok && Date.now() < resetAt + 5_000) {
      await sleep(50);
      freed = await r.limiter.acquire('p', {});
    }
    expect(freed.ok).toBe(true);
  });

  test('after a 429 the provider is not called again until its Retry-After has passed, and the breaker stays closed', async () => {
    const r = await make(config({ p: { requests: [{ count: 100, windowMs: 1000 }], tokens: [] } }));
    let calls = 0;
    const call = () =>
      r.execute('p', {}, async () => {
        calls++;
        throw new RateLimitedError('p', 'rate limited (429)', 500, 429);
      });
    for (let i = 0; i < 4; i++) await expect(call()).rejects.toBeInstanceOf(RateLimitedError);
    expect(calls).toBe(1);
    const err = await r.execute('p', {}, ok).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(500);
    expect((err as RateLimitedError).message).toBe('p: rate limited (429)');
    expect((await r.breaker.snapshot('p')).state).toBe('closed');
    await sleep((err as RateLimitedError).retryAfterMs + 5);
    await expect(r.execute('p', {}, async () => 'fine')).resolves.toBe('fine');
  });

  test('blockUntil() refuses every acquire until then, with that delay and reason', async () => {
    const r = await make(config({}));
    await r.limiter.blockUntil('q', Date.now() + 600, 'q: told to wait');
    const refused = await r.limiter.acquire('q', {});
    expect(refused).toEqual({ ok: false, retryAfterMs: expect.any(Number), reason: 'q: told to wait' });
    if (refused.ok) throw new Error('unreachable');
    expect(refused.retryAfterMs).toBeGreaterThan(300);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(600);
    // An earlier block never shortens a later one.
    await r.limiter.blockUntil('q', Date.now() + 100, 'q: shorter');
    expect(await r.limiter.acquire('q', {})).toMatchObject({ ok: false, reason: 'q: told to wait' });
    await sleep(refused.retryAfterMs + 10);
    expect((await r.limiter.acquire('q', {})).ok).toBe(true);
  });

  test('the breaker opens after N transient failures, fails fast with retryAt, and a successful probe closes it', async () => {
    const r = await make(config({}));
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new TransientError('svc', 'HTTP 503');
    };
    for (let i = 0; i < 3; i++) await expect(r.execute('svc', {}, failing)).rejects.toBeInstanceOf(TransientError);
    const before = Date.now();
    const err = await r.execute('svc', {}, failing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BreakerOpenError);
    expect(calls).toBe(3);
    const retryAt = (err as BreakerOpenError).retryAt;
    expect(retryAt).toBeGreaterThan(before + 500);
    expect(retryAt).toBeLessThanOrEqual(before + 850);
    expect((err as Error).message).toMatch(/^svc: circuit breaker open for svc until \d{4}-/);
    expect(await r.breaker.snapshot('svc')).toMatchObject({ state: 'open', failures: 3, retryAt: expect.any(String), openedAt: expect.any(String) });

    await sleep(retryAt - Date.now() + 10);
    expect((await r.breaker.snapshot('svc')).state).toBe('half_open');
    await expect(r.execute('svc', {}, async () => 'back')).resolves.toBe('back');
    expect(await r.breaker.snapshot('svc')).toMatchObject({ state: 'closed', failures: 0, retryAt: null });
  });

  test('a failed probe reopens the breaker for another cooldown', async () => {
    const r = await make(config({}));
    const failing = async () => {
      throw new TransientError('svc', 'HTTP 500');
    };
    for (let i = 0; i < 3; i++) await r.execute('svc', {}, failing).catch(() => undefined);
    const first = await r.execute('svc', {}, failing).catch((e: BreakerOpenError) => e);
    await sleep(first.retryAt - Date.now() + 10);
    await expect(r.execute('svc', {}, failing)).rejects.toBeInstanceOf(TransientError); // the probe
    const again = await r.execute('svc', {}, failing).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(BreakerOpenError);
    expect((again as BreakerOpenError).retryAt).toBeGreaterThan(Date.now() + 500);
    expect((await r.breaker.snapshot('svc')).state).toBe('open');
  });

  test('permanent errors and cancellations do not open the breaker; timeouts do', async () => {
    const r = await make(config({}));
    const fail = (make: () => Error) => r.execute('svc', {}, async () => Promise.reject(make())).catch(() => undefined);
    for (let i = 0; i < 5; i++) await fail(() => new PermanentError('svc', 'HTTP 400'));
    for (let i = 0; i < 5; i++) await fail(() => Object.assign(new Error('This operation was aborted'), { name: 'AbortError' }));
    expect(await r.breaker.snapshot('svc')).toMatchObject({ state: 'closed', failures: 0 });
    for (let i = 0; i < 3; i++) await fail(() => Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }));
    expect((await r.breaker.snapshot('svc')).state).toBe('open');
  });

  test('30 callers with tickets against 5 per 1s: each holds its own slot and is granted on its second acquire at the latest', async () => {
    const r = await make(config({ p: { requests: [{ count: 5, windowMs: 1000 }], tokens: [] } }));
    const t0 = Date.now();
    const runs = await Promise.all([...Array(30)].map((_, n) => ticketCaller([r.limiter], 'p', `wf-${n}/act-1`)));
    const elapsed = Math.max(...runs.map((x) => x.grantedAt)) - t0;
    expectNoHerd(runs, 5, 1000);
    expect(runs.filter((x) => x.answers.length === 1)).toHaveLength(5);
    // Six batches, one window + margin apart: the last is granted about 5 x 1.25 s after the first.
    expect(elapsed).toBeGreaterThanOrEqual(5 * 1250 - 20);
    expect(elapsed).toBeLessThan(5 * 1250 + 500);
    console.log(`[tickets/${mode}] 30 callers, 5/1s: ${runs.reduce((s, x) => s + x.answers.length, 0)} acquires, last granted after ${elapsed} ms`);
  });

  test('a ticket is refused without a reservation when its slot is further away than maxWaitMs', async () => {
    const r = await make(config({ p: { requests: [{ count: 2, windowMs: 1000 }], tokens: [] } }));
    for (let i = 0; i < 2; i++) expect((await r.limiter.acquire('p', {})).ok).toBe(true);
    const a = await r.limiter.acquire('p', { ticket: 'a', maxWaitMs: 1500 });
    expect(a).toEqual({ ok: false, retryAfterMs: expect.any(Number), reason: expect.stringMatching(/^p: reserved slot at \d{4}-/) });
    await r.limiter.acquire('p', { ticket: 'b', maxWaitMs: 1500 });
    const c = await r.limiter.acquire('p', { ticket: 'c', maxWaitMs: 1500 });
    if (c.ok || a.ok) throw new Error('expected refusals');
    // Its slot would be one window after a and b: more than it accepts, so it is refused, with that wait.
    expect(c.reason).toBe('p: 2 requests per 1s used');
    expect(c.retryAfterMs).toBeGreaterThan(1500);
    expect(c.retryAfterMs).toBeLessThanOrEqual(a.retryAfterMs + 1250);
    expect((await r.limiter.snapshot('p')).windows[0]).toMatchObject({ used: 4, remaining: 0 });
    // a and b are granted at their slot; c, coming back then, now gets a slot within its limit.
    const [ra, rb] = await Promise.all([ticketCaller([r.limiter], 'p', 'a'), ticketCaller([r.limiter], 'p', 'b')]);
    expect([ra.answers.length, rb.answers.length]).toEqual([2, 2]);
    const again = await r.limiter.acquire('p', { ticket: 'c', maxWaitMs: 1500 });
    expect(again).toMatchObject({ ok: false, reason: expect.stringMatching(/reserved slot/) });
    if (!again.ok) expect(again.retryAfterMs).toBeLessThanOrEqual(1500);
  });

  test('a ticket is used once, and settle() works on a reserved grant', async () => {
    const r = await make(config({ ai: { requests: [{ count: 1, windowMs: 400 }], tokens: [{ count: 1000, windowMs: 400 }] } }));
    expect((await r.limiter.acquire('ai', { tokens: 100 })).ok).toBe(true);
    const run = await ticketCaller([r.limiter], 'ai', 'wf/a');
    expect(run.answers.length).toBe(2);
    await r.limiter.settle('ai', run.reservation, 700);
    expect((await r.limiter.snapshot('ai')).windows.find((w) => w.kind === 'tokens')).toMatchObject({ used: 700 });
    // The same ticket again (a retry after the call failed) is a new call: it waits for a new slot.
    const again = await r.limiter.acquire('ai', { ticket: 'wf/a' });
    expect(again).toMatchObject({ ok: false, reason: expect.stringMatching(/reserved slot/) });
  });

  test('a ticket slot fits the token windows too, counting earlier reservations', async () => {
    const r = await make(config({ ai: { requests: [], tokens: [{ count: 1000, windowMs: 2000 }] } }));
    const a = await r.limiter.acquire('ai', { tokens: 400 });
    await sleep(100);
    const b = await r.limiter.acquire('ai', { tokens: 400 });
    if (!a.ok || !b.ok) throw new Error('expected grants');
    const at = (g: AcquireResult) => (g.ok ? parseReservation(g.reservation)!.at : Date.now() + g.retryAfterMs);
    // 600 left for the newest entries: b fits beside c, a must have left; then c fits beside d, b must have left.
    const c = await r.limiter.acquire('ai', { tokens: 400, ticket: 'c' });
    const d = await r.limiter.acquire('ai', { tokens: 400, ticket: 'd' });
    const e = await r.limiter.acquire('ai', { tokens: 5000, ticket: 'e' }); // more than the budget: a whole window after d
    expect(Math.abs(at(c) - (at(a) + 2250))).toBeLessThan(25);
    expect(Math.abs(at(d) - (at(b) + 2250))).toBeLessThan(25);
    expect(Math.abs(at(e) - (at(b) + 4500))).toBeLessThan(25);
    // The snapshot counts reserved slots as used (here beyond the limit: that is the queue).
    expect((await r.limiter.snapshot('ai')).windows[0]).toMatchObject({ used: 400 + 400 + 400 + 400 + 5000, remaining: 0 });
  });

  test('a slot claimed later than the margin is still its holder\'s: granted, logged (within half the margin) when the call happens', async () => {
    const r = await make(config({ p: { requests: [{ count: 1, windowMs: 300 }], tokens: [] } }, { marginMs: 50 }));
    expect((await r.limiter.acquire('p', {})).ok).toBe(true);
    const a = await r.limiter.acquire('p', { ticket: 'a' });
    if (a.ok) throw new Error('expected a reservation');
    await sleep(a.retryAfterMs + 150);
    const late = await r.limiter.acquire('p', { ticket: 'a' });
    if (!late.ok) throw new Error(`expected a grant: ${late.reason}`);
    expect(parseReservation(late.reservation)!.at).toBeGreaterThan(Date.now() - 25 - 20); // now (less half the margin), not at the old slot
    expect((await r.limiter.snapshot('p')).windows[0]).toMatchObject({ used: 1 }); // moved, not counted twice
  });

  test('while blocked each new ticket reserves its own slot after the block: no stampede when it lifts', async () => {
    const r = await make(config({ p: { requests: [{ count: 1, windowMs: 300 }], tokens: [] } }));
    const blockedAt = Date.now();
    await r.limiter.blockUntil('p', blockedAt + 400, 'p: told to wait');
    const runs = await Promise.all(['a', 'b', 'c'].map((t) => ticketCaller([r.limiter], 'p', t)));
    for (const run of runs) expect(run.answers[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/reserved slot/) });
    // Every caller is granted on its second acquire, at or after the block's end, one per window.
    expect(runs.map((x) => x.answers.length)).toEqual([2, 2, 2]);
    for (const run of runs) expect(run.slot).toBeGreaterThanOrEqual(blockedAt + 390);
    expect(busiest(runs.map((x) => x.slot), 550)).toBe(1);
  });

  test('the cache answers the same prompt once, counts hits and misses, and forgets after its TTL', async () => {
    const r = await make(config({}));
    let paid = 0;
    const generate = async () => {
      paid++;
      return { text: 'hello', image: Buffer.from([1, 2, 3]) };
    };
    const first = await r.cache.execute('openai', { model: 'm', prompt: 'p', opts: { a: 1, b: 2 } }, generate, { ttlMs: 400 });
    const second = await r.cache.execute('openai', { opts: { b: 2, a: 1 }, prompt: 'p', model: 'm' }, generate, { ttlMs: 400 });
    expect(paid).toBe(1);
    expect(second).toEqual(first);
    expect(Buffer.isBuffer(second.image)).toBe(true);
    expect(r.cache.stats('openai')).toEqual({ hits: 1, misses: 1 });
    await r.cache.execute('openai', { model: 'm', prompt: 'other' }, generate);
    expect(paid).toBe(2);
    await sleep(450);
    await r.cache.execute('openai', { model: 'm', prompt: 'p', opts: { a: 1, b: 2 } }, generate, { ttlMs: 400 });
    expect(paid).toBe(3);
    expect(r.cache.stats('openai')).toEqual({ hits: 1, misses: 3 });
    expect(await r.cache.get('no-such-key', 'openai')).toBeUndefined();
    await r.cache.set('k', { n: 1 }, 1000);
    expect(await r.cache.get('k', 'x')).toEqual({ n: 1 });
  });
});

describe('shared through Redis by several processes', () => {
  test('two processes hammering one provider never exceed 20 calls in any 2 s interval, and use the quota', async () => {
    const cfg = config({ hammer: { requests: [{ count: 20, windowMs: 2000 }], tokens: [] } });
    const procs = [instance(await connect(), cfg), instance(await connect(), cfg)];
    const grants: number[] = [];
    let refusals = 0;
    const until = Date.now() + 5000;
    const worker = async (r: Resilience) => {
      while (Date.now() < until) {
        const g = await r.limiter.acquire('hammer', {});
        if (g.ok) grants.push(parseReservation(g.reservation)!.at);
        else {
          refusals++;
          await sleep(Math.min(g.retryAfterMs, 15));
        }
      }
    };
    await Promise.all(procs.flatMap((r) => [worker(r), worker(r), worker(r), worker(r)]));
    grants.sort((a, b) => a - b);
    let worst = 0;
    for (let i = 0; i < grants.length; i++) {
      let j = i;
      while (j < grants.length && grants[j] < grants[i] + 2000) j++;
      worst = Math.max(worst, j - i);
    }
    expect(worst).toBeLessThanOrEqual(20);
    // With a 250 ms margin the windows restart at about 0, 2.25 and 4.5 s: 60 grants at most, 40 at least.
    expect(grants.length).toBeGreaterThanOrEqual(40);
    expect(refusals).toBeGreaterThan(100);
  });

  test('two processes interleave ticket reservations: every caller granted on its second acquire, in either process', async () => {
    const cfg = config({ p: { requests: [{ count: 3, windowMs: 500 }], tokens: [] } });
    const a = instance(await connect(), cfg);
    const b = instance(await connect(), cfg);
    const t0 = Date.now();
    // Half start in each process; each retry goes to the other one.
    const runs = await Promise.all([...Array(12)].map((_, n) => ticketCaller(n % 2 ? [a.limiter, b.limiter] : [b.limiter, a.limiter], 'p', `wf-${n}/1`)));
    const elapsed = Math.max(...runs.map((x) => x.grantedAt)) - t0;
    expectNoHerd(runs, 3, 500);
    expect(elapsed).toBeGreaterThanOrEqual(3 * 750 - 20);
    expect(elapsed).toBeLessThan(3 * 750 + 500);
    console.log(`[tickets/2 processes] 12 callers, 3/500ms: ${runs.reduce((s, x) => s + x.answers.length, 0)} acquires, last granted after ${elapsed} ms`);
  });

  test('after the cooldown exactly one caller across two processes gets the half-open probe', async () => {
    const cfg = config({});
    const a = instance(await connect(), cfg);
    const b = instance(await connect(), cfg);
    for (let i = 0; i < 3; i++) {
      await a
        .execute('svc', {}, async () => {
          throw new TransientError('svc', 'HTTP 502');
        })
        .catch(() => undefined);
    }
    // The other process sees it open too.
    await expect(b.execute('svc', {}, ok)).rejects.toBeInstanceOf(BreakerOpenError);
    const snap = await b.breaker.snapshot('svc');
    await sleep(Date.parse(snap.retryAt!) - Date.now() + 10);

    let probes = 0;
    const probe = async () => {
      probes++;
      await sleep(150);
      return 'up';
    };
    const results = await Promise.allSettled([...Array(6)].flatMap(() => [a.execute('svc', {}, probe), b.execute('svc', {}, probe)]));
    expect(probes).toBe(1);
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    for (const x of results) if (x.status === 'rejected') expect(x.reason).toBeInstanceOf(BreakerOpenError);
    await expect(b.execute('svc', {}, async () => 'closed again')).resolves.toBe('closed again');
    expect((await a.breaker.snapshot('svc')).state).toBe('closed');
  });

  test('a cached answer from one process is a hit in another', async () => {
    const cfg = config({});
    const a = instance(await connect(), cfg);
    const b = instance(await connect(), cfg);
    let paid = 0;
    const gen = async () => ++paid;
    await a.cache.execute('anthropic', { prompt: 'x' }, gen);
    expect(await b.cache.execute('anthropic', { prompt: 'x' }, gen)).toBe(1);
    expect(paid).toBe(1);
    expect(b.cache.stats('anthropic')).toEqual({ hits: 1, misses: 0 });
  });

  test('snapshot() lists configured providers and those another process has called, with metrics to match', async () => {
    const cfg = config({ openai: { requests: [{ count: 10, windowMs: 60_000 }], tokens: [{ count: 5000, windowMs: 60_000 }] } });
    const registry = new Registry();
    const a = instance(await connect(), cfg);
    const b = instance(await connect(), cfg, pino({ level: 'silent' }), registry);
    await a.execute('openai', { tokens: 100 }, ok);
    await a.execute('custom', {}, ok);
    const snap = await b.snapshot();
    expect(snap.map((s) => s.provider)).toEqual(['custom', 'openai']);
    const openai = snap.find((s) => s.provider === 'openai')!;
    expect(openai.breaker.state).toBe('closed');
    expect(openai.windows).toEqual([
      { kind: 'requests', limit: 10, used: 1, remaining: 9, resetAt: expect.any(String), window: '1m', source: 'configured' },
      { kind: 'tokens', limit: 5000, used: 100, remaining: 4900, resetAt: expect.any(String), window: '1m', source: 'configured' },
    ]);
    const text = await registry.metrics();
    expect(text).toContain('herald_rate_limit_used{provider="openai",kind="requests",window="1m"} 1');
    expect(text).toContain('herald_rate_limit_limit{provider="openai",kind="tokens",window="1m"} 5000');
    expect(text).toContain('herald_breaker_state{provider="openai"} 0');
    expect(text).toContain('herald_redis_fallback_active 0');
  });
});

describe('when Redis goes away', () => {
  test('calls carry on from memory without Redis errors, and return to Redis when it is back', async () => {
    const redis = await startPrivateRedis();
    try {
      const { logger, lines } = captureLogger();
      const registry = new Registry();
      const cfg = config({ p: { requests: [{ count: 5, windowMs: 10_000 }], tokens: [] } }, { redisRetryMs: 200 });
      const client = await connect(redis.url);
      const r = instance(client, cfg, logger, registry);
      await r.execute('p', {}, ok);
      await r.execute('p', {}, ok);
      expect(await client.zcard(`${cfg.keyPrefix}rl:{p}:req`)).toBe(2);

      await redis.kill();
      // Everything keeps answering; the limiter still counts this process's two earlier calls.
      for (let i = 0; i < 3; i++) await expect(r.execute('p', {}, async () => i)).resolves.toBe(i);
      await expect(r.execute('p', {}, ok)).rejects.toBeInstanceOf(RateLimitedError);
      await expect(r.cache.execute('openai', { prompt: 'x' }, async () => 'fresh')).resolves.toBe('fresh');
      await expect(r.snapshot()).resolves.toEqual(expect.any(Array));
      expect(r.fallbackActive).toBe(true);
      expect(await registry.metrics()).toContain('herald_redis_fallback_active 1');
      expect(lines.filter((l) => /redis unavailable/.test(l.msg))).toHaveLength(1);

      await redis.restart();
      const deadline = Date.now() + 8000;
      while (r.fallbackActive && Date.now() < deadline) {
        await r.limiter.snapshot('p');
        await sleep(100);
      }
      expect(r.fallbackActive).toBe(false);
      expect(lines.filter((l) => /redis is back/.test(l.msg))).toHaveLength(1);
      // What this process did while Redis was away was copied back: another process sees the window full.
      const other = instance(await connect(redis.url), cfg);
      expect(await other.limiter.acquire('p', {})).toMatchObject({ ok: false, reason: 'p: 5 requests per 10s used' });
      expect((await other.limiter.snapshot('p')).windows[0]).toMatchObject({ used: 5, remaining: 0 });
      await r.limiter.blockUntil('p', Date.now() + 60_000, 'p: new block');
      expect(await other.limiter.acquire('p', {})).toMatchObject({ ok: false, reason: 'p: new block' });
      expect(await registry.metrics()).toContain('herald_redis_fallback_active 0');
    } finally {
      await redis.stop();
    }
  });

  test('reserved slots survive an outage: kept in memory while Redis is away, copied back when it returns', async () => {
    const redis = await startPrivateRedis();
    try {
      const cfg = config({ p: { requests: [{ count: 2, windowMs: 2000 }], tokens: [] } }, { redisRetryMs: 200 });
      const r = instance(await connect(redis.url), cfg);
      for (let i = 0; i < 2; i++) expect((await r.limiter.acquire('p', {})).ok).toBe(true);
      const a = await r.limiter.acquire('p', { ticket: 'a' }); // reserved in Redis
      await redis.kill();
      const b = await r.limiter.acquire('p', { ticket: 'b' }); // reserved in memory, after a
      const c = await r.limiter.acquire('p', { ticket: 'c' });
      expect(r.fallbackActive).toBe(true);
      if (a.ok || b.ok || c.ok) throw new Error('expected reservations');
      expect(b.retryAfterMs).toBeGreaterThan(a.retryAfterMs - 100);
      expect(b.retryAfterMs).toBeLessThanOrEqual(a.retryAfterMs + 10); // the copy's estimate of the Redis clock may be a few ms off
      expect(c.retryAfterMs).toBeGreaterThan(a.retryAfterMs + 2000);
      await redis.restart();
      const deadline = Date.now() + 5000;
      while (r.fallbackActive && Date.now() < deadline) {
        await r.limiter.snapshot('p');
        await sleep(50);
      }
      expect(r.fallbackActive).toBe(false);
      // Back on Redis (restarted empty), every ticket is granted at its slot, and another process queues behind them.
      const other = instance(await connect(redis.url), cfg);
      const d = await other.limiter.acquire('p', { ticket: 'd' });
      if (d.ok) throw new Error('expected a reservation');
      const runs = await Promise.all(['a', 'b', 'c'].map((t) => ticketCaller([r.limiter], 'p', t)));
      for (const run of runs) expect(run.answers).toEqual([expect.objectContaining({ ok: false, reason: expect.stringMatching(/reserved slot/) }), expect.objectContaining({ ok: true })]);
      expect(busiest(runs.map((x) => x.slot), 2250)).toBe(2);
      expect(Date.now() + d.retryAfterMs).toBeGreaterThan(Math.max(...runs.map((x) => x.grantedAt)) + 2000);
    } finally {
      await redis.stop();
    }
  });

  test('a Redis that hangs costs one short timeout, then calls go to memory', async () => {
    const redis = await startPrivateRedis();
    try {
      const cfg = config({ p: { requests: [{ count: 100, windowMs: 10_000 }], tokens: [] } }, { redisRetryMs: 200 });
      const r = instance(await connect(redis.url), cfg);
      await r.execute('p', {}, ok);
      redis.pause();
      const t0 = Date.now();
      await expect(r.execute('p', {}, async () => 'a')).resolves.toBe('a');
      expect(Date.now() - t0).toBeLessThan(1500);
      const t1 = Date.now();
      for (let i = 0; i < 5; i++) await r.execute('p', {}, ok);
      expect(Date.now() - t1).toBeLessThan(500);
      expect(r.fallbackActive).toBe(true);
      redis.resume();
      const deadline = Date.now() + 5000;
      while (r.fallbackActive && Date.now() < deadline) {
        await r.execute('p', {}, ok);
        await sleep(100);
      }
      expect(r.fallbackActive).toBe(false);
    } finally {
      redis.resume();
      await redis.stop();
    }
  });

  test('a Redis that is down at start-up is no obstacle', async () => {
    const redis = await startPrivateRedis();
    await redis.stop();
    const client = createRedisClient(redis.url);
    clients.push(client);
    const r = instance(client, config({ p: { requests: [{ count: 1, windowMs: 10_000 }], tokens: [] } }));
    await expect(r.execute('p', {}, async () => 'ran')).resolves.toBe('ran');
    await expect(r.execute('p', {}, ok)).rejects.toBeInstanceOf(RateLimitedError);
    expect(r.fallbackActive).toBe(true);
  });
});
