// A publication that waits for an open circuit breaker, and whose worker is gone when the wait ends: absent from
// /v1/stalls until its retryAt is more than two minutes past, then listed with its error, the open breaker and no worker
// polling, for its own tenant only, and counted by herald_stalled_publications; with a worker back it publishes.
import { startFakeWebhookServer, type FakeWebhookServer } from '../../../fakes/webhook-server';
import { startHarness, type Harness } from '../../../helpers/harness';

const GRACE_MS = 120_000;
let h: Harness;
let fake: FakeWebhookServer;

beforeAll(async () => {
  fake = await startFakeWebhookServer();
  // Two transient failures open a breaker for 20 s (publishing keeps one per account: webhook:<account>); the
  // publication then waits, visibly, until then.
  h = await startHarness({ env: { CIRCUIT_BREAKER: '2/20s', WEBHOOK_ALLOW_PRIVATE: 'true', TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card' } });
});
afterAll(async () => {
  await h?.stop();
  await fake?.close();
});

type Item = { kind: string; pipelineId: string; platform?: string; status?: string; error?: unknown; retryAt?: string; attempts?: number; lateSeconds: number; reasons: { code: string; message: string }[] };

async function stalls(key?: string): Promise<Item[]> {
  const res = await h.api<{ items: Item[] }>('GET', '/v1/stalls', undefined, { key });
  expect(res.status).toBe(200);
  return res.body.items;
}

async function stalledGauge(tenant: string): Promise<number | null> {
  const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`herald_stalled_publications{tenant="${tenant}"}`));
  return line ? Number(line.split(' ').pop()) : null;
}

test('waiting for a breaker with no worker left: listed past retryAt + grace with error, breaker and no worker; then published', async () => {
  const account = await h.api('POST', '/v1/accounts', { platform: 'webhook', handle: 'stall-hook', credentials: { url: `${fake.url}/hook/stall` } });
  expect(account.status).toBe(201);
  fake.failNext(503, { error: 'down for maintenance' }, undefined, 2);
  const created = await h.api('POST', '/v1/pipelines', { topic: 'A receiver under maintenance', targets: [{ platform: 'webhook', accountId: account.body.id }], image: { mode: 'none' } });
  expect(created.status).toBe(202);
  const id: string = created.body.id;

  const waiting = await h.waitFor(id, (s) => s.publications[0].status === 'waiting', { timeoutMs: 60_000 });
  const retryAt = Date.parse(waiting.publications[0].retryAt);
  await h.stopWorker();
  expect(Date.now()).toBeLessThan(retryAt); // gone before the wait ended: nothing will pick the publication up
  expect(fake.rejected.filter((r) => r.path === '/hook/stall')).toHaveLength(2); // the two 503s that opened the breaker

  expect((await stalls()).map((i) => i.pipelineId)).not.toContain(id);
  let absentAfterRetryAt = 0;
  let listed: Item | undefined;
  const deadline = retryAt + GRACE_MS + 120_000;
  while (!listed) {
    if (Date.now() > deadline) throw new Error('the stalled publication never appeared in /v1/stalls');
    const askedAt = Date.now();
    listed = (await stalls()).find((i) => i.pipelineId === id && i.kind === 'stalled_publication');
    if (!listed) {
      if (askedAt > retryAt) absentAfterRetryAt += 1;
      await new Promise((r) => setTimeout(r, 2_000));
    } else {
      expect(askedAt).toBeGreaterThanOrEqual(retryAt + GRACE_MS - 1_000);
    }
  }
  expect(absentAfterRetryAt).toBeGreaterThan(0);

  expect(listed).toMatchObject({ platform: 'webhook', status: 'waiting', retryAt: new Date(retryAt).toISOString() });
  expect(listed.error).toBeTruthy();
  expect(listed.lateSeconds).toBeGreaterThanOrEqual(GRACE_MS / 1000);
  const byCode = new Map(listed.reasons.map((r) => [r.code, r.message]));
  expect([...byCode.keys()]).toEqual(expect.arrayContaining(['no_worker_polling', 'retry_overdue', 'breaker_open']));
  expect(byCode.get('breaker_open')).toMatch(new RegExp(`^webhook:${account.body.id}: circuit breaker (open|half_open) after 2 failures`));
  expect(byCode.get('retry_overdue')).toContain(new Date(retryAt).toISOString());

  expect((await stalls(h.keys.b)).map((i) => i.pipelineId)).not.toContain(id);
  expect(await stalledGauge(h.tenants.a)).toBe(1);
  expect(await stalledGauge(h.tenants.b)).toBeNull();

  // A worker again: the breaker's probe goes through, the post is delivered, and nothing is stalled.
  await h.startWorker();
  const done = await h.waitFor(id, (s) => ['published', 'failed', 'partially_published'].includes(s.status), { timeoutMs: 90_000 });
  expect(done.status).toBe('published');
  expect(fake.received.filter((r) => r.path === '/hook/stall')).toHaveLength(1);
  expect((await stalls()).map((i) => i.pipelineId)).not.toContain(id);
  expect(await stalledGauge(h.tenants.a)).toBeNull();
}, 8 * 60_000);
