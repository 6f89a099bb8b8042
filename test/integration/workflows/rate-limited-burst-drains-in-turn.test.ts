// A burst of posts to ONE webhook account drains at the account's limit, each in its place in line (issue 7, item 3).
// Before: a publication that came back later than the limiter's 250 ms margin lost its reserved slot and queued again at
// the back, so a burst stalled (30 posts at 60/1m: 6 delivered in 188 s). Here 20 posts at 5 per 10 s (paced at one
// every 2 s) must all be delivered once, never more than 5 in any 10 s, within the limit's own time plus a margin, and
// each close to the slot it reserved, through the real stack: API, Temporal, worker, PostgreSQL, HTTP to the receiver.
// The worker is made as slow as a busy one: every publish reaches the limiter 0.3 to 1.5 s late (after Temporal's own
// lateness), so most holders come back well past the old 250 ms margin, and the test counts that they did.
import type { ProviderGuard } from '../../../src/activities/deps';
import { startFakeWebhookServer, type FakeWebhookServer, type RecordedRequest } from '../../fakes/webhook-server';
import { busiest } from '../../helpers/busiest';
import { startHarness, type Harness } from '../../helpers/harness';

jest.setTimeout(150_000);

const POSTS = 20;
const COUNT = 5;
const WINDOW_MS = 10_000;
const MARGIN_MS = 250; // the limiter's default
const GAP_MS = WINDOW_MS / COUNT; // paced: one call every 2 s
/** What the limit alone needs from the first call to the last: 5 per 10.25 s, one every 2 s within a window. */
const IDEAL_MS = (POSTS / COUNT - 1) * (WINDOW_MS + MARGIN_MS) + (COUNT - 1) * GAP_MS;

let h: Harness;
let fake: FakeWebhookServer;
/** Every holder's return: how long after the slot it was told (the `retryAt` of its last wait) it reached the limiter. */
const returns: { key: string; lateMs: number }[] = [];
const toldSlot = new Map<string, number>(); // ticket (idempotency key) -> the slot it was last told
const deliveredAt = new Map<string, number>(); // idempotency key -> when the receiver accepted it
const deliveries: string[] = [];

beforeAll(async () => {
  fake = await startFakeWebhookServer();
  const push = fake.received.push.bind(fake.received);
  fake.received.push = (...items: RecordedRequest[]) => {
    for (const it of items) {
      const key = String((it.body as { idempotencyKey?: unknown }).idempotencyKey);
      deliveries.push(key);
      if (!deliveredAt.has(key)) deliveredAt.set(key, Date.now());
    }
    return push(...items);
  };
  h = await startHarness({ withWorker: false, env: { RATE_LIMIT_WEBHOOK: `${COUNT}/${WINDOW_MS / 1000}s` } });
  // A busy worker: the real limiter and provider call, reached 0.3 to 1.5 s late.
  let seed = 11;
  const delay = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return 300 + Math.floor((seed / 2147483648) * 1200);
  };
  const guard: ProviderGuard = {
    async execute(provider, opts, fn) {
      await new Promise((r) => setTimeout(r, delay()));
      const key = opts.ticket ?? '';
      const slot = toldSlot.get(key);
      if (slot !== undefined) returns.push({ key, lateMs: Date.now() - slot });
      try {
        return await h.resilience.execute(provider, opts, fn);
      } catch (err) {
        const wait = (err as { retryAfterMs?: unknown }).retryAfterMs;
        if (typeof wait === 'number') toldSlot.set(key, Date.now() + wait);
        throw err;
      }
    },
  };
  await h.startWorker({ guard });
});
afterAll(async () => {
  await h?.stop();
  await fake?.close();
});

it(`${POSTS} posts to one account at ${COUNT} per ${WINDOW_MS / 1000} s all arrive once, in their turn, within the limit's time`, async () => {
  const account = await h.api('POST', '/v1/accounts', { platform: 'webhook', handle: 'drain', credentials: { url: `${fake.url}/hook/drain-secret` } });
  expect(account.status).toBe(201);
  const submitted = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < POSTS; i++) {
    const res = await h.api('POST', '/v1/pipelines', { topic: `Drain ${i}`, targets: [{ platform: 'webhook', accountId: account.body.id }], image: { mode: 'none' } });
    expect(res.status).toBe(202);
    ids.push(res.body.id);
  }
  const keyOf = (id: string) => `${id}:0:webhook`;

  // Follow every publication in the projection: the slot it was first told (retryAt while waiting) is its place in line.
  const firstSlot = new Map<string, number>();
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const rows = (
      await h.pool.query<{ id: string; status: string; pub: string | null; retry_at: string | null }>(
        `SELECT id, status, state->'publications'->0->>'status' AS pub, state->'publications'->0->>'retryAt' AS retry_at
           FROM pipelines WHERE id = ANY($1)`,
        [ids],
      )
    ).rows;
    for (const r of rows) if (r.pub === 'waiting' && r.retry_at && !firstSlot.has(r.id)) firstSlot.set(r.id, Date.parse(r.retry_at));
    if (rows.filter((r) => ['published', 'failed', 'partially_published'].includes(r.status)).length === POSTS) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const states = await Promise.all(ids.map(async (id) => (await h.api('GET', `/v1/pipelines/${id}`)).body));
  expect(states.filter((s) => s.status !== 'published').map((s) => `${s.id} ${s.status}: ${JSON.stringify(s.publications[0])}`)).toEqual([]);

  // Once each, every one of them, and never a 429 from the receiver.
  expect(deliveries).toHaveLength(POSTS);
  expect(new Set(deliveries)).toEqual(new Set(ids.map(keyOf)));
  expect(fake.rejected).toEqual([]);
  const times = ids.map((id) => deliveredAt.get(keyOf(id))!);
  const first = Math.min(...times);
  const last = Math.max(...times);
  // The limit holds for the real deliveries: at most 5 in any 10 s.
  expect(busiest(times, WINDOW_MS)).toBeLessThanOrEqual(COUNT);
  // The burst waited: most publications reserved a slot (the proof that the line, not luck, spaced them).
  expect(firstSlot.size).toBeGreaterThanOrEqual(POSTS - COUNT);
  // Each is delivered close to the slot it reserved: nobody went back to the end of the line (that is 30 s and more).
  const lateness = ids.filter((id) => firstSlot.has(id)).map((id) => deliveredAt.get(keyOf(id))! - firstSlot.get(id)!);
  expect(Math.max(...lateness)).toBeLessThan(12_000);
  const lateReturns = returns.map((r) => r.lateMs).sort((a, b) => a - b);
  // In the order of reservation, give or take neighbours that came back in another order.
  const byDelivery = [...firstSlot.keys()].sort((a, b) => deliveredAt.get(keyOf(a))! - deliveredAt.get(keyOf(b))!);
  const bySlot = [...firstSlot.keys()].sort((a, b) => firstSlot.get(a)! - firstSlot.get(b)!);
  const displacement = Math.max(...byDelivery.map((id, i) => Math.abs(i - bySlot.indexOf(id))));
  expect(displacement).toBeLessThanOrEqual(3);
  // The fault landed: most holders came back later than the old 250 ms margin (some by more than a second).
  expect(returns.length).toBeGreaterThanOrEqual(POSTS - COUNT);
  expect(returns.filter((r) => r.lateMs > 250).length).toBeGreaterThanOrEqual(returns.length * 0.8);
  expect(returns.filter((r) => r.lateMs > 1000).length).toBeGreaterThan(0);
  // Drained at the limit's pace: first to last within what the limit needs plus 15 s, and the whole burst in 90 s.
  expect(last - first).toBeGreaterThanOrEqual((POSTS / COUNT - 1) * (WINDOW_MS + MARGIN_MS / 2)); // the limit held: 5 per 10 s + half the margin
  expect(last - first).toBeLessThan(IDEAL_MS + 15_000);
  expect(last - submitted).toBeLessThan(90_000);
  console.log(
    `[drain] ${POSTS} posts at ${COUNT}/${WINDOW_MS / 1000}s: first delivery ${((first - submitted) / 1000).toFixed(1)} s after submit, last ${((last - submitted) / 1000).toFixed(1)} s ` +
      `(the limit needs ${(IDEAL_MS / 1000).toFixed(1)} s from the first); worst delivery after the first slot ${(Math.max(...lateness) / 1000).toFixed(1)} s; displacement ${displacement}; ` +
      `${returns.length} returns, late by ${lateReturns[0]}..${lateReturns[lateReturns.length - 1]} ms (${lateReturns.filter((x) => x > 250).length} past 250 ms)`,
  );
});
