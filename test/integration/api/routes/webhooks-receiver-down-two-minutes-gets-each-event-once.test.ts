// A webhook receiver that answers 500 for two minutes, then 200, gets every event exactly once after it recovers,
// counted by webhook-id, each signature checked with the standardwebhooks package (not Herald's code). The events are
// real: two dry-run pipelines to two platforms (pipeline.published), an X account whose refresh token is dead
// (account.reauth_required) and a LinkedIn token Herald cannot renew (account.token_expiring, from the token-refresh
// workflow run twice: still one event). Another tenant's event goes only to that tenant's receiver.
import pino from 'pino';
import { Webhook } from 'standardwebhooks';
import { createSecretBox } from '../../../../src/db/secret-box';
import { createWebhookRepository } from '../../../../src/db/webhooks-repo';
import { startWebhookDispatcher, type Dispatcher } from '../../../../src/webhooks/dispatcher';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../../fakes/webhook-receiver';
import { startXFake, type XFake } from '../../../fakes/x-server';
import { dryRunRequest, startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../../../helpers/harness';

jest.setTimeout(480_000);

const DOWN_MS = 120_000;
const EVENTS = ['pipeline.published', 'account.reauth_required', 'account.token_expiring'];

let h: Harness;
let x: XFake;
let receiver: WebhookReceiver;
let dispatcher: Dispatcher;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  x = await startXFake({ clientId: 'herald-webhook-test', clientSecret: 'x-secret-webhooks' });
  h = await startHarness({
    env: { WEBHOOK_ALLOW_PRIVATE: 'true', TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card', X_API_BASE_URL: x.url, X_CLIENT_ID: 'herald-webhook-test', X_CLIENT_SECRET: 'x-secret-webhooks' },
  });
  // The worker's dispatcher, as src/bootstrap/worker.ts runs it, on this harness's task queue.
  dispatcher = startWebhookDispatcher({ webhooks: createWebhookRepository(h.pool, createSecretBox(TEST_ENCRYPTION_KEY)), client: h.client, taskQueue: h.taskQueue, logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await dispatcher?.stop();
  await h?.stop();
  await x?.close();
  await receiver?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

const byPath = (path: string) => receiver.requests.filter((r) => r.path === path);
const idOf = (r: ReceivedWebhook) => String(r.headers['webhook-id']);

it('delivers every event once after two minutes of 500s, signed, to its own tenant only', async () => {
  const downUntil = Date.now() + DOWN_MS;
  receiver.failUntil(downUntil, 500);
  const subA = (await h.api('POST', '/v1/webhooks', { url: `${receiver.url}/a`, events: EVENTS })).body;
  const subB = (await h.api('POST', '/v1/webhooks', { url: `${receiver.url}/b`, events: EVENTS }, { key: h.keys.b })).body;
  expect(subA.secret).toMatch(/^whsec_/);
  expect(subB.secret).toMatch(/^whsec_/);

  // Two dry-run pipelines of tenant A, one of tenant B.
  const started = await Promise.all([
    h.api('POST', '/v1/pipelines', dryRunRequest({ topic: 'Webhooks one' })),
    h.api('POST', '/v1/pipelines', dryRunRequest({ topic: 'Webhooks two' })),
    h.api('POST', '/v1/pipelines', dryRunRequest({ topic: 'Webhooks for B' }), { key: h.keys.b }),
  ]);
  const [p1, p2, pb] = started.map((r) => r.body.id as string);
  await Promise.all([
    h.waitFor(p1, (s) => s.status === 'published', { timeoutMs: 90_000 }),
    h.waitFor(p2, (s) => s.status === 'published', { timeoutMs: 90_000 }),
    h.waitFor(pb, (s) => s.status === 'published', { timeoutMs: 90_000, key: h.keys.b }),
  ]);

  // An X account whose refresh token the platform does not know: the refresh marks it reauth_required.
  const dead = await h.api('POST', '/v1/accounts', { platform: 'x', handle: '@dead', credentials: { accessToken: 'AT-dead', refreshToken: 'RT-unknown' }, expiresAt: new Date(Date.now() + 600_000).toISOString() });
  expect(dead.status).toBe(201);
  const refresh = await h.api('POST', `/v1/accounts/${dead.body.id}/refresh`);
  expect(refresh.status).toBe(409);
  // A LinkedIn token (no LinkedIn OAuth app configured: Herald cannot renew it) expiring in two days.
  const expiresAt = new Date(Date.now() + 2 * 86_400_000).toISOString();
  const li = await h.api('POST', '/v1/accounts', { platform: 'linkedin', handle: 'Expiring Co', credentials: { accessToken: 'li-token' }, expiresAt });
  expect(li.status).toBe(201);
  for (const run of [1, 2]) {
    await h.client.workflow.execute('refreshExpiringTokens', {
      taskQueue: h.taskQueue,
      workflowId: `webhook-test-refresh-${li.body.id}-${run}`,
      args: [{ aheadMs: 60_000, spreadMs: 0, warningMs: 7 * 86_400_000 }],
    });
  }
  expect(Date.now()).toBeLessThan(downUntil - 30_000);

  // Every event arrives once the receiver is back; until then it only sees 500s.
  const want = 4;
  const seen = () => receiver.requests.map((r) => `${r.path} ${idOf(r).slice(0, 12)} ${r.status} ${Math.round((r.at - downUntil) / 1000)}s`).join('; ');
  await until('four events accepted by receiver A, one by B', async () => byPath('/a').filter((r) => r.status === 200).length >= want && byPath('/b').some((r) => r.status === 200), 300_000).catch(async (err: Error) => {
    const log = await h.api('GET', `/v1/webhooks/${subA.id}/deliveries`);
    const workflows = await Promise.all(
      (log.body.items as { id: string; status: string }[])
        .filter((d) => d.status === 'pending')
        .map((d) =>
          h.client.workflow
            .getHandle(`webhook-delivery:${d.id}`)
            .describe()
            .then((w) => `${d.id}: ${w.status.name}, pending activities ${JSON.stringify(w.raw.pendingActivities?.map((a) => ({ attempt: a.attempt, state: a.state, lastFailure: a.lastFailure?.message })))}`)
            .catch((e: Error) => `${d.id}: ${e.message}`),
        ),
    );
    throw new Error(`${err.message}; pending deliveries' workflows: ${workflows.join('; ')}; the receiver saw (path, webhook-id, status, seconds after it came back): ${seen()}; A's delivery log: ${JSON.stringify(log.body.items)}`);
  });
  // A little longer, to see that nothing more comes.
  await sleep(5_000);

  const a = byPath('/a');
  const accepted = a.filter((r) => r.status === 200);
  const ids = [...new Set(a.map(idOf))];
  expect(ids).toHaveLength(want);
  for (const id of ids) {
    const tries = a.filter((r) => idOf(r) === id);
    // The fault landed for every event: 500s first, then exactly one 200, only after the receiver came back.
    expect(tries.filter((r) => r.status === 500).length).toBeGreaterThanOrEqual(1);
    expect(tries.filter((r) => r.status === 200)).toHaveLength(1);
    expect(tries.filter((r) => r.status === 200)[0].at).toBeGreaterThanOrEqual(downUntil);
    expect(tries.every((r) => r.at < downUntil || r.status === 200)).toBe(true);
  }
  const verifier = new Webhook(subA.secret);
  const payloads = accepted.map((r) => verifier.verify(r.raw, r.headers as Record<string, string>) as { type: string; timestamp: string; data: Record<string, any> });
  // Every 500 carried a valid signature too (each attempt is signed with its own timestamp).
  for (const r of a) expect(() => verifier.verify(r.raw, r.headers as Record<string, string>)).not.toThrow();
  expect(() => new Webhook(subB.secret).verify(accepted[0].raw, accepted[0].headers as Record<string, string>)).toThrow();

  expect(payloads.map((p) => p.type).sort()).toEqual(['account.reauth_required', 'account.token_expiring', 'pipeline.published', 'pipeline.published']);
  expect(payloads.filter((p) => p.type === 'pipeline.published').map((p) => p.data.pipelineId).sort()).toEqual([p1, p2].sort());
  expect(payloads.find((p) => p.type === 'account.reauth_required')!.data).toMatchObject({ accountId: dead.body.id, platform: 'x' });
  expect(payloads.find((p) => p.type === 'account.token_expiring')!.data).toMatchObject({ accountId: li.body.id, platform: 'linkedin', expiresAt });
  for (const p of payloads) expect(Number.isNaN(Date.parse(p.timestamp))).toBe(false);

  // Tenant B's receiver got B's pipeline, and A's got nothing of B's.
  const b = byPath('/b');
  expect(JSON.stringify(a.map((r) => r.raw))).not.toContain(pb);
  const bPayloads = b.filter((r) => r.status === 200).map((r) => new Webhook(subB.secret).verify(r.raw, r.headers as Record<string, string>) as any);
  expect(bPayloads.map((p) => [p.type, p.data.pipelineId])).toEqual([['pipeline.published', pb]]);

  // The delivery log says the same.
  const log = await h.api('GET', `/v1/webhooks/${subA.id}/deliveries`);
  expect(log.body.items).toHaveLength(want);
  for (const d of log.body.items) {
    const tries = a.filter((r) => idOf(r) === d.eventId);
    expect(d).toMatchObject({ status: 'delivered', lastStatusCode: 200, lastError: null, nextAttemptAt: null, attempts: tries.length });
  }
});
