// Webhook subscriptions through the real API and worker (Temporal, PostgreSQL), delivering to an imitation receiver on
// 127.0.0.1 (WEBHOOK_ALLOW_PRIVATE=true here): the secret is shown once, never again, and stored sealed; unknown event
// types and other tenants' subscriptions are refused; a test event and a redelivery arrive signed (checked with the
// standardwebhooks package); a receiver answering 410, and one failing for the whole retry window, get their
// subscription disabled with a reason the API and the log show.
import { createDecipheriv } from 'node:crypto';
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { createSecretBox } from '../../../../src/db/secret-box';
import { createWebhookRepository } from '../../../../src/db/webhooks-repo';
import { startWebhookDispatcher, type Dispatcher } from '../../../../src/webhooks/dispatcher';
import { startWebhookReceiver, type WebhookReceiver } from '../../../fakes/webhook-receiver';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../../../helpers/harness';

jest.setTimeout(180_000);

let h: Harness;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  h = await startHarness({ env: { WEBHOOK_ALLOW_PRIVATE: 'true', TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card' } });
});
afterAll(async () => {
  await h?.stop();
  await receiver?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function subscribe(path: string, events: string[] = ['pipeline.published']) {
  const res = await h.api('POST', '/v1/webhooks', { url: `${receiver.url}${path}`, events, description: `receiver ${path}` });
  expect(res.status).toBe(201);
  return res.body as { id: string; secret: string; status: string };
}

async function delivery(subId: string, deliveryId: string, pred: (d: any) => boolean) {
  return until(`delivery ${deliveryId}`, async () => {
    const res = await h.api('GET', `/v1/webhooks/${subId}/deliveries`);
    const d = (res.body.items as any[]).find((x) => x.id === deliveryId);
    return d && pred(d) ? d : null;
  });
}

/** AES-256-GCM opened with node:crypto and the test key: not with Herald's secret box. */
function openEnvelope(envelope: string): string {
  const [version, , iv, tag, data] = envelope.split(':');
  expect(version).toBe('v1');
  const d = createDecipheriv('aes-256-gcm', TEST_ENCRYPTION_KEY, Buffer.from(iv, 'base64url'));
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return JSON.parse(Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8'));
}

it('shows the secret once at creation, never in GET, and stores it only sealed', async () => {
  const created = await subscribe('/secret', ['pipeline.published', 'account.token_expiring']);
  expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  expect(created).toMatchObject({ status: 'active', events: ['pipeline.published', 'account.token_expiring'], description: 'receiver /secret' });
  const one = await h.api('GET', `/v1/webhooks/${created.id}`);
  const list = await h.api('GET', '/v1/webhooks');
  expect(one.status).toBe(200);
  expect(one.body).not.toHaveProperty('secret');
  expect((list.body.items as any[]).find((s) => s.id === created.id)).not.toHaveProperty('secret');
  const bare = created.secret.slice('whsec_'.length);
  for (const text of [JSON.stringify(one.body), JSON.stringify(list.body), ...h.logs]) {
    expect(text).not.toContain(bare);
  }
  const { rows } = await h.pool.query('SELECT * FROM webhook_subscriptions WHERE id = $1', [created.id]);
  const stored = JSON.stringify(rows[0]);
  expect(stored).not.toContain(bare);
  expect(stored).not.toContain(Buffer.from(bare, 'base64').toString('hex'));
  expect(rows[0].secret).toMatch(/^v1:[^:]+:[^:]+:[^:]+:[^:]+$/);
  expect(openEnvelope(rows[0].secret)).toBe(created.secret);
});

it('refuses unknown event types naming them, bad URLs naming the field, and other tenants', async () => {
  const bad = await h.api('POST', '/v1/webhooks', { url: `${receiver.url}/x`, events: ['pipeline.published', 'pipeline.exploded', 'post.sent'] });
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('validation_failed');
  expect(bad.body.error.message).toContain('"pipeline.exploded"');
  expect(bad.body.error.message).toContain('"post.sent"');
  expect(bad.body.error.message).toContain('events');
  const ftp = await h.api('POST', '/v1/webhooks', { url: 'ftp://example.com/in', events: ['pipeline.published'] });
  expect(ftp.status).toBe(400);
  expect(ftp.body.error.message).toMatch(/url: .*http or https/);
  const none = await h.api('POST', '/v1/webhooks', { url: `${receiver.url}/x`, events: [] });
  expect(none.status).toBe(400);
  expect(none.body.error.message).toContain('events');

  const mine = await subscribe('/tenant-a');
  const other = { key: h.keys.b };
  for (const [method, path] of [
    ['GET', `/v1/webhooks/${mine.id}`],
    ['GET', `/v1/webhooks/${mine.id}/deliveries`],
    ['POST', `/v1/webhooks/${mine.id}/test`],
    ['DELETE', `/v1/webhooks/${mine.id}`],
  ] as const) {
    const res = await h.api(method, path, undefined, other);
    expect([method, path, res.status]).toEqual([method, path, 404]);
  }
  expect(((await h.api('GET', '/v1/webhooks', undefined, other)).body.items as any[]).map((s) => s.id)).not.toContain(mine.id);
  expect((await h.api('GET', `/v1/webhooks/${mine.id}`)).status).toBe(200);
  expect((await h.api('DELETE', `/v1/webhooks/${mine.id}`)).status).toBe(204);
  expect((await h.api('GET', `/v1/webhooks/${mine.id}`)).status).toBe(404);
});

it('sends a signed webhook.test event, and a redelivery with the same webhook-id; refuses redelivering a pending one', async () => {
  const sub = await subscribe('/test-event');
  const sent = await h.api('POST', `/v1/webhooks/${sub.id}/test`);
  expect(sent.status).toBe(202);
  expect(sent.body).toMatchObject({ eventType: 'webhook.test', status: 'pending', subscriptionId: sub.id });
  const done = await delivery(sub.id, sent.body.id, (d) => d.status === 'delivered');
  expect(done).toMatchObject({ attempts: 1, lastStatusCode: 200, lastError: null, nextAttemptAt: null });
  const first = receiver.requests.filter((r) => r.path === '/test-event');
  expect(first).toHaveLength(1);
  const payload = new Webhook(sub.secret).verify(first[0].raw, first[0].headers as Record<string, string>) as any;
  expect(first[0].headers['webhook-id']).toBe(sent.body.eventId);
  expect(payload).toMatchObject({ type: 'webhook.test', data: { subscriptionId: sub.id } });
  expect(Date.parse(payload.timestamp)).toBeGreaterThan(Date.now() - 120_000);

  const again = await h.api('POST', `/v1/webhooks/${sub.id}/deliveries/${sent.body.id}/redeliver`);
  expect(again.status).toBe(202);
  expect(again.body).toMatchObject({ eventId: sent.body.eventId, redeliveryOf: sent.body.id });
  expect(again.body.id).not.toBe(sent.body.id);
  await delivery(sub.id, again.body.id, (d) => d.status === 'delivered');
  const both = receiver.requests.filter((r) => r.path === '/test-event');
  expect(both.map((r) => r.headers['webhook-id'])).toEqual([sent.body.eventId, sent.body.eventId]);
  expect(new Webhook(sub.secret).verify(both[1].raw, both[1].headers as Record<string, string>)).toEqual(payload);

  // A delivery still being retried cannot be redelivered beside itself.
  receiver.answer(503);
  const pending = await h.api('POST', `/v1/webhooks/${sub.id}/test`);
  await delivery(sub.id, pending.body.id, (d) => d.attempts >= 1 && d.lastStatusCode === 503 && d.nextAttemptAt !== null);
  const refused = await h.api('POST', `/v1/webhooks/${sub.id}/deliveries/${pending.body.id}/redeliver`);
  expect(refused.status).toBe(409);
  expect(refused.body.error.message).toContain('still being retried');
  expect((await h.api('POST', `/v1/webhooks/${sub.id}/deliveries/whd_nope/redeliver`)).status).toBe(404);
  receiver.answer(200);
  await delivery(sub.id, pending.body.id, (d) => d.status === 'delivered');
  expect(receiver.requests.filter((r) => r.headers['webhook-id'] === pending.body.eventId).map((r) => r.status)).toEqual([503, 200]);

  // The log pages newest first.
  const page1 = await h.api('GET', `/v1/webhooks/${sub.id}/deliveries?limit=2`);
  expect(page1.body.items.map((d: any) => d.id)).toEqual([pending.body.id, again.body.id]);
  const page2 = await h.api('GET', `/v1/webhooks/${sub.id}/deliveries?limit=2&cursor=${page1.body.nextCursor}`);
  expect(page2.body).toMatchObject({ items: [{ id: sent.body.id }], nextCursor: null });
  const forged = await h.api('GET', `/v1/webhooks/${sub.id}/deliveries?cursor=${Buffer.from('0000-01-01|x').toString('base64url')}`);
  expect(forged.status).toBe(400);
  expect(forged.body.error.message).toContain('cursor');
});

it('disables a subscription whose receiver answers 410 Gone, with the reason in GET and in the log', async () => {
  const sub = await subscribe('/gone');
  receiver.answer(410);
  try {
    const sent = await h.api('POST', `/v1/webhooks/${sub.id}/test`);
    const d = await delivery(sub.id, sent.body.id, (x) => x.status === 'failed');
    expect(d).toMatchObject({ attempts: 1, lastStatusCode: 410 });
  } finally {
    receiver.answer(200);
  }
  expect(receiver.requests.filter((r) => r.path === '/gone').map((r) => r.status)).toEqual([410]);
  const got = await h.api('GET', `/v1/webhooks/${sub.id}`);
  expect(got.body.status).toBe('disabled');
  expect(got.body.disabledReason).toContain('410 Gone');
  expect(got.body.disabledAt).not.toBeNull();
  const line = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'webhook subscription disabled' && l.subscriptionId === sub.id);
  expect(line?.reason).toContain('410');
  const test = await h.api('POST', `/v1/webhooks/${sub.id}/test`);
  expect(test.status).toBe(409);
  expect(test.body.error.message).toContain('disabled');
});

it('disables a subscription whose receiver fails for the whole retry window, never silently', async () => {
  const repo = createWebhookRepository(h.pool, createSecretBox(TEST_ENCRYPTION_KEY));
  // The window is 24 h in production; the dispatcher of this test gives its deliveries 12 s.
  const dispatcher: Dispatcher = startWebhookDispatcher({ webhooks: repo, client: h.client, taskQueue: h.taskQueue, logger: pino({ level: 'silent' }), retryWindowMs: 12_000 });
  try {
    const sub = await subscribe('/always-500', ['publication.failed']);
    receiver.failUntil(Date.now() + 10 * 60_000, 500);
    const eventId = `evt_window_${Date.now()}`;
    await repo.recordEvent({ id: eventId, tenantId: h.tenants.a, type: 'publication.failed', occurredAt: new Date().toISOString(), data: { pipelineId: 'p_window' } });
    const got = await until('the subscription disabled', async () => {
      const res = await h.api('GET', `/v1/webhooks/${sub.id}`);
      return res.body.status === 'disabled' ? res.body : null;
    });
    expect(got.disabledReason).toMatch(/every attempt for 12 s failed \(\d+ attempts; last: the receiver answered 500/);
    const seen = receiver.requests.filter((r) => r.path === '/always-500');
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.every((r) => r.status === 500 && r.headers['webhook-id'] === eventId)).toBe(true);
    const log = await h.api('GET', `/v1/webhooks/${sub.id}/deliveries`);
    expect(log.body.items).toHaveLength(1);
    expect(log.body.items[0]).toMatchObject({ status: 'failed', lastStatusCode: 500, attempts: seen.length, nextAttemptAt: null });
    expect(h.logs.some((l) => l.includes('webhook subscription disabled') && l.includes(sub.id))).toBe(true);
  } finally {
    receiver.failUntil(0);
    await dispatcher.stop();
  }
});
