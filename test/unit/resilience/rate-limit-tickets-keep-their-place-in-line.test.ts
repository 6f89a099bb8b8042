// Tickets on a fake clock, in memory: each waiting caller reserves a future slot of its own, so retrying at retryAfterMs
// is granted instead of starting a thundering herd; and it keeps its place in line when it comes back late. The same
// place-in-line steps run against Redis in test/integration/resilience/redis-tickets-keep-their-place-in-line.test.ts.
import pino from 'pino';
import { Registry } from 'prom-client';
import { RateLimitedError } from '../../../src/providers/errors';
import { createResilience, type ProviderLimits } from '../../../src/resilience';
import { DEFAULT_MAX_WAIT_MS, parseReservation, ticketLeaseMs } from '../../../src/resilience/rate-limiter-common';
import { MemoryRateLimiter } from '../../../src/resilience/rate-limiter-memory';
import { busiest } from '../../helpers/busiest';
import { granted, placeInLineIsKept, refused, req, T0 } from '../../helpers/rate-limit-tickets';

function limiter(limits: Record<string, ProviderLimits>, marginMs = 250) {
  const clock = { now: T0 };
  const l = new MemoryRateLimiter({ limitsFor: (p) => limits[p] ?? { requests: [], tokens: [] }, marginMs, now: () => clock.now });
  return { l, clock };
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

test('the lease: three of the longest windows, at least 60 s, at most an hour', () => {
  expect(ticketLeaseMs(req(60, 60_000))).toBe(180_000);
  expect(ticketLeaseMs(req(1, 1000))).toBe(60_000);
  expect(ticketLeaseMs(req(50, 86_400_000))).toBe(3_600_000);
});

describe('a place in line is kept (memory)', () => {
  placeInLineIsKept(async (limits, opts = {}) => {
    const clock = { now: T0 };
    const l = new MemoryRateLimiter({ limitsFor: (p) => limits[p] ?? { requests: [], tokens: [] }, marginMs: opts.marginMs ?? 250, spacing: opts.spacing ?? false, now: () => clock.now });
    return { l, clock };
  });
});
