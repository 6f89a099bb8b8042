// Shared by the memory (test/unit) and Redis (test/integration) tests of rate-limit tickets: the same steps on a fake
// clock, so both limiters are held to one behaviour.
import { busiest } from './busiest';
import { parseReservation } from '../../src/resilience/rate-limiter-common';
import type { AcquireResult, ProviderLimits, RateLimiter } from '../../src/resilience';

export const T0 = 1_700_000_000_000;

export const req = (count: number, windowMs: number): ProviderLimits => ({ requests: [{ count, windowMs }], tokens: [] });

export function refused(r: AcquireResult): { retryAfterMs: number; reason: string } {
  if (r.ok) throw new Error(`expected a refusal, got ${r.reservation}`);
  return r;
}

export function granted(r: AcquireResult): number {
  if (!r.ok) throw new Error(`expected a grant, got ${r.reason}`);
  return parseReservation(r.reservation)!.at;
}

/** A deterministic spread of lateness, 0..max ms. */
export function lateness(seed: number, max: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return Math.floor((x / 2147483648) * max);
  };
}

export type MakeLimiter = (
  limits: Record<string, ProviderLimits>,
  opts?: { marginMs?: number; spacing?: boolean },
) => Promise<{ l: RateLimiter; clock: { now: number } }>;

/** A place in line is kept: the steps every limiter must pass. */
export function placeInLineIsKept(make: MakeLimiter): void {
  test('a holder that comes back long after its slot is admitted, logged (within half the margin) when its call happens', async () => {
    const { l, clock } = await make({ p: req(2, 10_000) });
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
    const { l, clock } = await make({ p: req(1, 1000) }, { marginMs: 0 });
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
    const { l, clock } = await make({ p: req(2, day) });
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
    const { l, clock } = await make({ p: req(1, 1000) });
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
    const { l, clock } = await make({ p: req(60, 60_000) }, { spacing: true });
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
}
