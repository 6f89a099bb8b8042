// The in-process leases (no Redis, and while Redis is away), on a fake clock: one holder at a time, renewed by its
// holder, lapsing by itself when the holder stops renewing, freed at once or after a grace by its holder only. The Redis
// leases are proven by test/integration/activities/overlapping-attempts-of-a-publication-post-once.test.ts.
import { MemoryLeases } from '../../../src/resilience/lease';

let now = 1_000_000;
const leases = new MemoryLeases(() => now);

it('one holder at a time; the other is told when the lease runs out', async () => {
  expect(await leases.take('p1', 'a', 8_000)).toEqual({ held: true });
  expect(await leases.take('p1', 'b', 8_000)).toEqual({ held: false, retryAfterMs: 8_000 });
  now += 3_000;
  expect(await leases.take('p1', 'b', 8_000)).toEqual({ held: false, retryAfterMs: 5_000 });
  // Another name is another lease.
  expect(await leases.take('p2', 'b', 8_000)).toEqual({ held: true });
});

it('the holder renews it; a holder that stops renewing loses it when it lapses', async () => {
  expect(await leases.take('p3', 'a', 8_000)).toEqual({ held: true });
  now += 6_000;
  expect(await leases.take('p3', 'a', 8_000)).toEqual({ held: true }); // renewed: 8 s from now
  now += 6_000;
  expect(await leases.take('p3', 'b', 8_000)).toEqual({ held: false, retryAfterMs: 2_000 });
  now += 2_000;
  expect(await leases.take('p3', 'b', 8_000)).toEqual({ held: true });
  // The old holder, back from a stall, finds it taken.
  expect(await leases.take('p3', 'a', 8_000)).toEqual({ held: false, retryAfterMs: 8_000 });
});

it('released by its holder: at once, or within a grace; a release by anyone else changes nothing', async () => {
  await leases.take('p4', 'a', 8_000);
  await leases.release('p4', 'b');
  expect(await leases.take('p4', 'b', 8_000)).toMatchObject({ held: false });
  await leases.release('p4', 'a', 2_000);
  expect(await leases.take('p4', 'b', 8_000)).toEqual({ held: false, retryAfterMs: 2_000 });
  now += 2_000;
  expect(await leases.take('p4', 'b', 8_000)).toEqual({ held: true });
  await leases.release('p4', 'b');
  expect(await leases.take('p4', 'c', 8_000)).toEqual({ held: true });
});
