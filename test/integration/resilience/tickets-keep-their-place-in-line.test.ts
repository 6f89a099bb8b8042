// Tickets on a fake clock: each waiting caller reserves a future slot of its own, so retrying at retryAfterMs is granted
// instead of starting a thundering herd; and it keeps its place in line when it comes back late (memory and Redis).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { RateLimitedError } from '../../../src/providers/errors';
import { createResilience, type AcquireResult, type ProviderLimits, type RateLimiter } from '../../../src/resilience';
import { DEFAULT_MAX_WAIT_MS, parseReservation, ticketLeaseMs } from '../../../src/resilience/rate-limiter-common';
import { MemoryRateLimiter } from '../../../src/resilience/rate-limiter-memory';
import { RedisRateLimiter } from '../../../src/resilience/rate-limiter-redis';
import { busiest } from '../../helpers/busiest';
import { ROOT } from '../../helpers/env';
import { startPrivateRedis, type PrivateRedis } from '../../helpers/private-redis';

const T0 = 1_700_000_000_000;

function limiter(limits: Record<string, ProviderLimits>, marginMs = 250) {
  const clock = { now: T0 };
  const l = new MemoryRateLimiter({ limitsFor: (p) => limits[p] ?? { requests: [], tokens: [] }, marginMs, now: () => clock.now });
  return { l, clock };
}

const req = (count: number, windowMs: number): ProviderLimits => ({ requests: [{ count, windowMs }], tokens: [] });

function refused(r: AcquireResult): { retryAfterMs: number; reason: string } {
  if (r.ok) throw new Error(`expected a refusal, got ${r.reservation}`);
  return r;
}

function granted(r: AcquireResult): number {
  if (!r.ok) throw new Error(`expected a grant, got ${r.reason}`);
  return parseReservation(r.reservation)!.at;
}

test('refused ticket callers get slots one window apart, in order, and the slot is granted when it comes round', async () => {
  const { l, clock } = limiter({ p: req(5, 1000) });
  for (let i = 0; i < 5; i++) granted(await l.acquire('p', {}));
  const waits = [];
  for (let n = 0; n < 12; n++) waits.push(refused(await l.acquire('p', { ticket: `t${n}` })).retryAfterMs);
  expect(waits).toEqual([...Array(5).fill(1250), ...Array(5).fill(2500), 3750, 3750]);
  const first = refused(await l.acquire('p', { ticket: 't0' }));
  expect(first.retryAfterMs).toBe(1250);
  expect(Date.parse(first.reason.replace(/^p: reserved slot at /, '')) - Date.now()).toBeGreaterThan(1200);

  // Asking again early reserves nothing new.
  clock.now = T0 + 100;
  expect(refused(await l.acquire('p', { ticket: 't0' })).retryAfterMs).toBe(1150);
  expect((await l.snapshot('p')).windows[0]).toMatchObject({ used: 17, remaining: 0 });

  clock.now = T0 + 1250;
  expect(granted(await l.acquire('p', { ticket: 't0' }))).toBe(T0 + 1250);
  // A caller without a ticket cannot take a reserved slot.
  expect((await l.acquire('p', {})).ok).toBe(false);
  // A ticket is used once: asking again is a new call, at the back of the queue.
  expect(refused(await l.acquire('p', { ticket: 't0' })).retryAfterMs).toBe(3750 - 1250);
});

test('30 ticket callers against 5 per 1s: every one is granted on its second acquire at the latest, within every window', async () => {
  const { l, clock } = limiter({ p: req(5, 1000) });
  const pending = new Map<string, number>(); // ticket -> time it comes back
  const attempts = new Map<string, number>();
  const grants: number[] = [];
  const ask = async (ticket: string) => {
    attempts.set(ticket, (attempts.get(ticket) ?? 0) + 1);
    const r = await l.acquire('p', { ticket });
    if (r.ok) {
      expect(parseReservation(r.reservation)!.at).toBeLessThanOrEqual(clock.now);
      grants.push(clock.now);
      pending.delete(ticket);
    } else pending.set(ticket, clock.now + r.retryAfterMs + 3);
  };
  for (let n = 0; n < 30; n++) {
    clock.now = T0 + n; // one a millisecond
    await ask(`wf-${n}/1`);
  }
  while (pending.size) {
    const [ticket, at] = [...pending].sort((a, b) => a[1] - b[1])[0];
    clock.now = at;
    await ask(ticket);
  }
  expect(Math.max(...attempts.values())).toBe(2);
  expect(grants).toHaveLength(30);
  expect(busiest(grants, 1250 - 3)).toBeLessThanOrEqual(5); // the 3 ms each caller is late is within the margin
  expect(busiest(grants, 1000)).toBe(5);
  expect(Math.max(...grants) - T0).toBeGreaterThanOrEqual(5 * 1250);
  expect(Math.max(...grants) - T0).toBeLessThan(5 * 1250 + 50);
});

test('the slot fits every window: requests and tokens, with earlier reservations counted', async () => {
  const { l } = limiter({ p: { requests: [{ count: 5, windowMs: 1000 }, { count: 8, windowMs: 3000 }], tokens: [] } });
  for (let i = 0; i < 5; i++) granted(await l.acquire('p', {}));
  const waits = [];
  for (let n = 0; n < 6; n++) waits.push(refused(await l.acquire('p', { ticket: `t${n}` })).retryAfterMs);
  // Three fit after 1.25 s (8 per 3 s), the next three when the first five have left the 3.25 s window.
  expect(waits).toEqual([1250, 1250, 1250, 3250, 3250, 3250]);

  const t = limiter({ ai: { requests: [], tokens: [{ count: 1000, windowMs: 2000 }] } });
  granted(await t.l.acquire('ai', { tokens: 400 }));
  t.clock.now = T0 + 100;
  granted(await t.l.acquire('ai', { tokens: 400 }));
  // 600 left for the newest entries: the 400 at +100 fits, the one at 0 must have left (0 + 2250).
  expect(refused(await t.l.acquire('ai', { tokens: 400, ticket: 'a' })).retryAfterMs).toBe(2250 - 100);
  // Next: the reserved 400 fits, the 400 at +100 must have left.
  expect(refused(await t.l.acquire('ai', { tokens: 400, ticket: 'b' })).retryAfterMs).toBe(2350 - 100);
  // A call bigger than the budget waits for a whole window after the newest entry.
  expect(refused(await t.l.acquire('ai', { tokens: 5000, ticket: 'c' })).retryAfterMs).toBe(2350 + 2250 - 100);
  t.clock.now = T0 + 2350;
  const b = await t.l.acquire('ai', { tokens: 400, ticket: 'b' });
  if (!b.ok) throw new Error('expected a grant');
  await t.l.settle('ai', b.reservation, 100); // settle works on a reserved grant
  expect(t.l.exportState('ai').entries.find((e) => e.at === T0 + 2350)).toMatchObject({ tokens: 100 });
});

test('a ticket never reserves further ahead than maxWaitMs: it is refused without a reservation instead', async () => {
  const { l } = limiter({ p: req(2, 1000) });
  granted(await l.acquire('p', {}));
  granted(await l.acquire('p', {}));
  refused(await l.acquire('p', { ticket: 'a' })); // 1250
  refused(await l.acquire('p', { ticket: 'b' })); // 1250
  const c = refused(await l.acquire('p', { ticket: 'c', maxWaitMs: 2000 }));
  expect(c.retryAfterMs).toBe(2500); // when its slot would have been, beyond what it accepts
  expect(c.reason).toBe('p: 2 requests per 1s used');
  expect(l.exportState('p').entries).toHaveLength(4);
  expect(l.exportState('p').tickets.map((x) => x.ticket)).toEqual(['a', 'b']);
  // Nothing was kept for it: the same answer again, and a longer wait is accepted by default.
  expect(refused(await l.acquire('p', { ticket: 'c', maxWaitMs: 2000 })).retryAfterMs).toBe(2500);
  expect(refused(await l.acquire('p', { ticket: 'c', maxWaitMs: 0 })).retryAfterMs).toBe(2500);
  expect(refused(await l.acquire('p', { ticket: 'c' })).reason).toMatch(/reserved slot/);
  expect(DEFAULT_MAX_WAIT_MS).toBe(600_000);
});

test('while the provider is blocked a new ticket reserves after the block and a held slot is kept', async () => {
  const { l, clock } = limiter({ p: req(1, 1000) });
  granted(await l.acquire('p', {}));
  expect(refused(await l.acquire('p', { ticket: 'a' })).retryAfterMs).toBe(1250);
  await l.blockUntil('p', Date.now() + 500, 'p: told to wait');
  // Without a ticket: the block's own answer.
  // (blockUntil takes this process's clock: a millisecond may pass between reading it and turning it into the fake one.)
  const plain = refused(await l.acquire('p', {}));
  expect(plain.reason).toBe('p: told to wait');
  expect(plain.retryAfterMs).toBeGreaterThan(490);
  expect(plain.retryAfterMs).toBeLessThanOrEqual(500);
  // A new ticket queues behind the slot already held (which is later than the block), one window after it.
  expect(refused(await l.acquire('p', { ticket: 'b' })).retryAfterMs).toBe(2500);
  expect(l.exportState('p').tickets.map((x) => x.ticket).sort()).toEqual(['a', 'b']);
  // The held slot is later than the block: that is the wait.
  expect(refused(await l.acquire('p', { ticket: 'a' })).retryAfterMs).toBe(1250);
  await l.blockUntil('p', Date.now() + 2000, 'p: told to wait longer');
  const held = refused(await l.acquire('p', { ticket: 'a' }));
  expect(held.reason).toBe('p: told to wait longer');
  expect(held.retryAfterMs).toBeGreaterThan(1990);
  expect(held.retryAfterMs).toBeLessThanOrEqual(2000);
  // By the end of the block its slot has long passed: it is still a's (the lease runs from the block's end at the
  // earliest), and a is admitted in its place, ahead of b (logged half the 250 ms margin back, see lateAllowance).
  clock.now = T0 + 2000;
  expect(granted(await l.acquire('p', { ticket: 'a' }))).toBe(T0 + 2000 - 125);
  expect(l.exportState('p').tickets.map((x) => x.ticket)).toEqual(['b']);
});

test('execute() passes the ticket: the RateLimitedError carries the reserved time, and the retry then runs', async () => {
  const r = createResilience({
    redis: null,
    config: { limits: { p: req(1, 200) }, breakers: {}, defaultBreaker: { failures: 5, cooldownMs: 60_000 }, cacheTtlMs: 60_000, marginMs: 50 },
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
  });
  await r.execute('p', { ticket: 'wf/1' }, async () => 'first');
  const err = await r.execute('p', { ticket: 'wf/2' }, async () => 'never').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RateLimitedError);
  expect((err as RateLimitedError).message).toMatch(/^p: reserved slot at /);
  const wait = (err as RateLimitedError).retryAfterMs;
  expect(wait).toBeGreaterThan(200);
  expect(wait).toBeLessThanOrEqual(250);
  const far = await r.execute('p', { ticket: 'wf/3', maxWaitMs: 100 }, async () => 'never').catch((e: unknown) => e);
  expect((far as RateLimitedError).retryAfterMs).toBeGreaterThan(100);
  expect((far as RateLimitedError).message).toBe('p: 1 requests per 200ms used');
  await new Promise((res) => setTimeout(res, wait + 5));
  await expect(r.execute('p', { ticket: 'wf/2' }, async () => 'second')).resolves.toBe('second');
  await r.close();
});

// --- A place in line is kept. The same steps in memory and in Redis (Lua), both on a fake clock. ---

const none: ProviderLimits = { requests: [], tokens: [] };
let redisServer: PrivateRedis | null = null;
const redisClients: Redis[] = [];
afterAll(async () => {
  for (const c of redisClients) c.disconnect();
  await redisServer?.stop();
});

type Impl = 'memory' | 'redis';

async function make(impl: Impl, limits: Record<string, ProviderLimits>, opts: { marginMs?: number; spacing?: boolean } = {}) {
  const clock = { now: T0 };
  const base = { limitsFor: (p: string) => limits[p] ?? none, marginMs: opts.marginMs ?? 250, spacing: opts.spacing ?? false, now: () => clock.now };
  if (impl === 'memory') return { l: new MemoryRateLimiter(base) as RateLimiter, clock, prefix: '' };
  redisServer ??= await startPrivateRedis();
  const client = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
  redisClients.push(client);
  const prefix = `tickets-test:${randomUUID()}:`;
  return { l: new RedisRateLimiter({ ...base, redis: client, keyPrefix: prefix }) as RateLimiter, clock, prefix };
}

/** A deterministic spread of lateness, 0..max ms. */
function lateness(seed: number, max: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return Math.floor((x / 2147483648) * max);
  };
}

test('the lease: three of the longest windows, at least 60 s, at most an hour', () => {
  expect(ticketLeaseMs(req(60, 60_000))).toBe(180_000);
  expect(ticketLeaseMs(req(1, 1000))).toBe(60_000);
  expect(ticketLeaseMs(req(50, 86_400_000))).toBe(3_600_000);
});

describe.each([['memory'], ['redis']] as const)('a place in line is kept (%s)', (impl) => {
  test('a holder that comes back long after its slot is admitted, logged (within half the margin) when its call happens', async () => {
    const { l, clock } = await make(impl, { p: req(2, 10_000) });
    granted(await l.acquire('p', {}));
    granted(await l.acquire('p', {}));
    expect(refused(await l.acquire('p', { ticket: 'a' })).retryAfterMs).toBe(10_250);
    expect(refused(await l.acquire('p', { ticket: 'b' })).retryAfterMs).toBe(10_250);
    expect(refused(await l.acquire('p', { ticket: 'c' })).retryAfterMs).toBe(20_500);
    // The case: back far later than the 250 ms margin (a busy worker, Temporal's timers). Still admitted.
    clock.now = T0 + 10_250 + 30_000;
    const aAt = granted(await l.acquire('p', { ticket: 'a' }));
    expect(aAt).toBe(clock.now - 125); // half the 250 ms margin
    clock.now += 5000;
    expect(granted(await l.acquire('p', { ticket: 'b' }))).toBe(clock.now - 125);
    // Counted where they really happened: a caller without a ticket finds the window full.
    expect(refused(await l.acquire('p', {})).retryAfterMs).toBe(aAt + 10_250 - clock.now);
    // c is due too, but the two real calls fill the window: it keeps its place, with a new slot when a's call leaves.
    const c = refused(await l.acquire('p', { ticket: 'c' }));
    expect(c.reason).toMatch(/^p: reserved slot at /);
    expect(c.retryAfterMs).toBe(aAt + 10_250 - clock.now);
    clock.now += c.retryAfterMs;
    expect(granted(await l.acquire('p', { ticket: 'c' }))).toBe(clock.now);
    // Used up: the same ticket again is a new call.
    expect(refused(await l.acquire('p', { ticket: 'c' })).reason).toMatch(/reserved slot/);
  });

  test('the line is served in order: a late holder whose room was taken gets the next room, ahead of those behind it', async () => {
    const { l, clock } = await make(impl, { p: req(1, 1000) }, { marginMs: 0 });
    granted(await l.acquire('p', {}));
    for (const [t, wait] of [['a', 1000], ['b', 2000], ['c', 3000], ['d', 4000]] as const) {
      expect(refused(await l.acquire('p', { ticket: t })).retryAfterMs).toBe(wait);
    }
    const grants: [string, number][] = [];
    const claim = async (t: string, at: number) => {
      clock.now = T0 + at;
      const r = await l.acquire('p', { ticket: t });
      if (r.ok) grants.push([t, parseReservation(r.reservation)!.at - T0]);
      return r;
    };
    expect((await claim('b', 2050)).ok).toBe(true); // b on time; a (due at 1000) not back yet
    expect(refused(await claim('a', 2100)).retryAfterMs).toBe(950); // a late: b's call fills the window; next room is a's
    expect(refused(await claim('c', 3000)).retryAfterMs).toBe(1050); // c on time, but a is ahead of it
    expect((await claim('a', 3050)).ok).toBe(true);
    // A newcomer queues behind the whole line.
    expect(refused(await l.acquire('p', { ticket: 'e' })).retryAfterMs).toBe(2000);
    expect(refused(await claim('d', 4000)).retryAfterMs).toBe(1050);
    expect((await claim('c', 4050)).ok).toBe(true);
    expect((await claim('d', 5050)).ok).toBe(true);
    expect(refused(await claim('e', 5050)).retryAfterMs).toBe(1000);
    expect((await claim('e', 6050)).ok).toBe(true);
    expect(grants).toEqual([
      ['b', 2050],
      ['a', 3050],
      ['c', 4050],
      ['d', 5050],
      ['e', 6050],
    ]);
  });

  test('a holder that never comes back costs its slot only until its lease runs out', async () => {
    const day = 86_400_000;
    const { l, clock } = await make(impl, { p: req(2, day) });
    granted(await l.acquire('p', {}));
    granted(await l.acquire('p', {}));
    const slot = T0 + refused(await l.acquire('p', { ticket: 'gone', maxWaitMs: 2 * day })).retryAfterMs;
    expect(slot).toBe(T0 + day + 250);
    // Within the lease (an hour for a daily window) its slot counts: one call fits beside it, not two.
    clock.now = slot + 3_600_000 - 1;
    granted(await l.acquire('p', {}));
    expect((await l.acquire('p', {})).ok).toBe(false);
    expect((await l.snapshot('p')).windows[0]).toMatchObject({ used: 2, remaining: 0 });
    // Then the lease is over and the slot is free.
    clock.now = slot + 3_600_000 + 1;
    expect((await l.snapshot('p')).windows[0]).toMatchObject({ used: 1 });
    granted(await l.acquire('p', {}));
    // Back after its lease, the caller is new: it joins the back of the line.
    const again = refused(await l.acquire('p', { ticket: 'gone', maxWaitMs: 2 * day }));
    expect(again.reason).toMatch(/reserved slot/);
    expect(again.retryAfterMs).toBe(day + 250 - 2); // one window after the older of the two calls just made
  });

  test('coming back early gives the same slot back with the time left, and reserves nothing more', async () => {
    const { l, clock } = await make(impl, { p: req(1, 1000) });
    granted(await l.acquire('p', {}));
    const first = refused(await l.acquire('p', { ticket: 'a' }));
    expect(first.retryAfterMs).toBe(1250);
    for (const early of [1, 400, 1249]) {
      clock.now = T0 + early;
      const again = refused(await l.acquire('p', { ticket: 'a' }));
      expect(again.retryAfterMs).toBe(1250 - early);
      expect(again.reason).toMatch(/^p: reserved slot at /);
      expect((await l.snapshot('p')).windows[0]).toMatchObject({ used: 2 }); // one call, one slot: nothing more
    }
    clock.now = T0 + 1250;
    expect(granted(await l.acquire('p', { ticket: 'a' }))).toBe(T0 + 1250);
  });

  test('the issue\'s burst: 200 holders against 60 a minute, each back 0.2 to 3 s late, drain in 200 s + 10%', async () => {
    const { l, clock } = await make(impl, { p: req(60, 60_000) }, { spacing: true });
    const late = lateness(7, 2800);
    const due = new Map<string, number>(); // ticket -> when it comes back
    const firstSlot = new Map<string, number>();
    const asks = new Map<string, number>();
    const grants: { ticket: string; at: number; logged: number }[] = [];
    const ask = async (ticket: string) => {
      asks.set(ticket, (asks.get(ticket) ?? 0) + 1);
      const r = await l.acquire('p', { ticket });
      if (r.ok) {
        // Logged when the call really happens, or up to half the margin before.
        const logged = parseReservation(r.reservation)!.at;
        expect(clock.now - logged).toBeGreaterThanOrEqual(0);
        expect(clock.now - logged).toBeLessThanOrEqual(125);
        grants.push({ ticket, at: clock.now, logged });
        due.delete(ticket);
      } else {
        if (!firstSlot.has(ticket)) firstSlot.set(ticket, clock.now + r.retryAfterMs);
        due.set(ticket, clock.now + r.retryAfterMs + 200 + late());
      }
    };
    for (let n = 0; n < 200; n++) {
      clock.now = T0 + 10 * n; // submitted over 2 s
      await ask(`wf-${n}/1`);
    }
    while (due.size) {
      const [ticket, at] = [...due].sort((a, b) => a[1] - b[1])[0];
      clock.now = at;
      await ask(ticket);
    }
    expect(grants).toHaveLength(200);
    // Never more than 60 in any minute + margin as logged, nor in any minute + half the margin as really made.
    expect(busiest(grants.map((g) => g.logged), 60_250)).toBeLessThanOrEqual(60);
    expect(busiest(grants.map((g) => g.at), 60_125)).toBeLessThanOrEqual(60);
    // Nobody went to the back of the line (a minute and more): each is served within seconds of its slot.
    const delays = grants.filter((g) => firstSlot.has(g.ticket)).map((g) => g.at - firstSlot.get(g.ticket)!);
    expect(Math.max(...delays)).toBeLessThan(10_000);
    expect(Math.max(...asks.values())).toBeLessThanOrEqual(4);
    // The whole burst: the limit's pace (one a second) plus the lateness, within 200 s + 10%.
    const drained = Math.max(...grants.map((g) => g.at)) - T0;
    expect(drained).toBeGreaterThan(199_000);
    expect(drained).toBeLessThan(220_000);
  });
});

test('Redis: two processes reserving at the same moment share one line: distinct slots, each granted in either process', async () => {
  const limits = { p: req(60, 60_000) };
  const { l, clock, prefix } = await make('redis', limits, { spacing: true });
  const childTickets = [...Array(30)].map((_, n) => `child-${n}`);
  const ownTickets = [...Array(30)].map((_, n) => `own-${n}`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/limiter-process.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      LIMITER_REDIS_URL: redisServer!.url,
      LIMITER_PREFIX: prefix,
      LIMITER_LIMITS: JSON.stringify(limits),
      LIMITER_CLOCK: String(T0),
      LIMITER_PROVIDER: 'p',
      LIMITER_TICKETS: childTickets.join(','),
      LIMITER_SPACING: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!out.includes('ready\n')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the second process did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  child.stdin!.write('go\n');
  const own = await Promise.all(ownTickets.map(async (ticket) => ({ ticket, result: await l.acquire('p', { ticket }) })));
  expect(await exited).toBe(0);
  const theirs = JSON.parse(out.slice(out.indexOf('ready\n') + 6).trim()) as { ticket: string; result: AcquireResult }[];
  const all = [...own, ...theirs];
  expect(all).toHaveLength(60);
  // Paced at one a second: one call now, and 59 slots of their own, one a second apart, whichever process asked.
  expect(all.filter((x) => x.result.ok)).toHaveLength(1);
  const slots = all.filter((x) => !x.result.ok).map((x) => ({ ticket: x.ticket, at: T0 + (x.result as { retryAfterMs: number }).retryAfterMs }));
  expect(slots.map((s) => s.at - T0).sort((a, b) => a - b)).toEqual([...Array(59)].map((_, k) => (k + 1) * 1000));
  expect(slots.filter((s) => s.ticket.startsWith('child-')).length).toBeGreaterThan(0);
  expect(slots.filter((s) => s.ticket.startsWith('own-')).length).toBeGreaterThan(0);
  // This process claims every slot, the other's included, each a little late: all granted where they are.
  for (const s of slots.sort((a, b) => a.at - b.at)) {
    clock.now = s.at + 400;
    expect(granted(await l.acquire('p', { ticket: s.ticket }))).toBe(clock.now - 125);
  }
});
