// The webhook dispatcher against the real worker, Temporal and PostgreSQL, delivering to an imitation receiver on
// 127.0.0.1. (1) Several events taken in one pass are each delivered once: a delivery's workflow is started only after
// the pass has committed its rows (started inside the transaction, the first attempt could run before its row existed
// for other connections, find nothing and end: the event was then never sent). (2) Deliveries a dispatcher committed
// and then could not start (Temporal away at that moment, or the process killed in between) are found by the next
// dispatcher's sweep and delivered once.
import pino from 'pino';
import { insertLifecycleEvents } from '../../../src/db/lifecycle-events-repo';
import { createSecretBox } from '../../../src/db/secret-box';
import { createWebhookRepository } from '../../../src/db/webhooks-repo';
import { startWebhookDispatcher, type Dispatcher } from '../../../src/webhooks/dispatcher';
import { startWebhookReceiver, type WebhookReceiver } from '../../fakes/webhook-receiver';
import { until } from '../../helpers/api-process';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../../helpers/harness';

jest.setTimeout(240_000);

let h: Harness;
let receiver: WebhookReceiver;
const dispatchers: Dispatcher[] = [];

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  h = await startHarness({ env: { WEBHOOK_ALLOW_PRIVATE: 'true', TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card' } });
});
afterAll(async () => {
  for (const d of dispatchers) await d.stop();
  await h?.stop();
  await receiver?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const repo = () => createWebhookRepository(h.pool, createSecretBox(TEST_ENCRYPTION_KEY));

async function subscribe(path: string): Promise<string> {
  const res = await h.api('POST', '/v1/webhooks', { url: `${receiver.url}${path}`, events: ['pipeline.published'] });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

function events(prefix: string, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: `evt_${prefix}_${i}`,
    tenantId: h.tenants.a,
    type: 'pipeline.published' as const,
    occurredAt: new Date().toISOString(),
    data: { pipelineId: `pl_${prefix}_${i}`, status: 'published' },
  }));
}

const accepted = (path: string) => receiver.requests.filter((r) => r.path === path && r.status === 200);
const idsAt = (path: string) => receiver.requests.filter((r) => r.path === path).map((r) => String(r.headers['webhook-id']));

it('delivers each of several events taken in one pass exactly once', async () => {
  await subscribe('/one-pass');
  const sent = events('onepass', 40);
  await insertLifecycleEvents(h.pool, sent);
  dispatchers.push(startWebhookDispatcher({ webhooks: repo(), client: h.client, taskQueue: h.taskQueue, logger: pino({ level: 'silent' }) }));
  await until('forty events accepted at /one-pass', 90_000, () => (accepted('/one-pass').length >= sent.length ? true : undefined));
  await sleep(3_000);
  expect(idsAt('/one-pass').sort()).toEqual(sent.map((e) => e.id).sort());
  const rows = await h.pool.query(`SELECT status, attempts FROM webhook_deliveries WHERE event_id = ANY($1)`, [sent.map((e) => e.id)]);
  expect(rows.rows).toHaveLength(sent.length);
  for (const r of rows.rows) expect(r).toEqual({ status: 'delivered', attempts: 1 });
});

it('starts deliveries a dispatcher committed but could not start, once each', async () => {
  for (const d of dispatchers.splice(0)) await d.stop();
  // Only this test's subscription listens from here on.
  await h.pool.query(`DELETE FROM webhook_subscriptions WHERE tenant_id = $1`, [h.tenants.a]);
  await subscribe('/unstarted');
  const sent = events('unstarted', 3);
  await insertLifecycleEvents(h.pool, sent);
  // A pass whose starts fail (Temporal unreachable at that moment): the deliveries are committed, the events marked.
  const webhooks = repo();
  await expect(webhooks.dispatchPending(100, async () => { throw new Error('Temporal unavailable'); })).rejects.toThrow('Temporal unavailable');
  // The fault landed: the deliveries exist, pending, never attempted, with no workflow, and the outbox is drained.
  const left = await h.pool.query(`SELECT id, status, attempts FROM webhook_deliveries WHERE event_id = ANY($1)`, [sent.map((e) => e.id)]);
  expect(left.rows).toHaveLength(sent.length);
  for (const r of left.rows) {
    expect(r).toMatchObject({ status: 'pending', attempts: 0 });
    await expect(h.client.workflow.getHandle(`webhook-delivery:${r.id}`).describe()).rejects.toThrow();
  }
  const undispatched = await h.pool.query(`SELECT count(*)::int AS n FROM lifecycle_events WHERE id = ANY($1) AND dispatched_at IS NULL`, [sent.map((e) => e.id)]);
  expect(undispatched.rows[0].n).toBe(0);
  expect(accepted('/unstarted')).toHaveLength(0);

  // A dispatcher sweeping every second finds them.
  dispatchers.push(startWebhookDispatcher({ webhooks, client: h.client, taskQueue: h.taskQueue, logger: pino({ level: 'silent' }), sweepEveryMs: 1_000 }));
  await until('three swept deliveries accepted at /unstarted', 90_000, () => (accepted('/unstarted').length >= sent.length ? true : undefined));
  await sleep(3_000);
  expect(idsAt('/unstarted').sort()).toEqual(sent.map((e) => e.id).sort());
  const rows = await h.pool.query(`SELECT status, attempts FROM webhook_deliveries WHERE event_id = ANY($1)`, [sent.map((e) => e.id)]);
  for (const r of rows.rows) expect(r).toEqual({ status: 'delivered', attempts: 1 });
});
