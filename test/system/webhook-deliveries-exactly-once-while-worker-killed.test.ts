// Webhook deliveries survive a worker killed mid-delivery. A worker PROCESS (src/worker/main.ts, with its webhook
// dispatcher) takes three pipeline.published events from the outbox; the receiver holds their deliveries open without
// answering; the worker is killed with SIGKILL while they are in flight (the receiver sees those connections drop,
// unanswered). An event written to the outbox while no worker runs is not lost either. A new worker process then
// delivers every event, and the receiver accepts each webhook-id exactly once, every signature checked with the
// standardwebhooks package.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { createSecretBox } from '../../src/db/secret-box';
import { createWebhookRepository } from '../../src/db/webhooks-repo';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../fakes/webhook-receiver';
import { TEST_DATA_DIR } from '../helpers/env';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../helpers/harness';
import { alive, harnessWorkerEnv, spawnWorkerProcess, stopWorkerProcesses, waitReady, type WorkerProc } from '../helpers/worker-process';

jest.setTimeout(600_000);

const LOG_DIR = path.join(TEST_DATA_DIR, 'webhook-kill');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let h: Harness;
let receiver: WebhookReceiver;
const procs: WorkerProc[] = [];

function startWorkerProcess(): WorkerProc {
  const proc = spawnWorkerProcess(procs.length + 1, harnessWorkerEnv(h, TEST_ENCRYPTION_KEY, { WEBHOOK_ALLOW_PRIVATE: 'true' }));
  procs.push(proc);
  return proc;
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  mkdirSync(LOG_DIR, { recursive: true });
  receiver = await startWebhookReceiver();
  h = await startHarness({ withWorker: false, env: { WEBHOOK_ALLOW_PRIVATE: 'true', TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card' } });
});
afterAll(async () => {
  await stopWorkerProcesses(procs, LOG_DIR);
  await h?.stop();
  await receiver?.close();
});

const idOf = (r: ReceivedWebhook) => String(r.headers['webhook-id']);

it('delivers each event exactly once when the worker is killed with deliveries in flight', async () => {
  const sub = (await h.api('POST', '/v1/webhooks', { url: `${receiver.url}/k`, events: ['pipeline.published', 'publication.failed'] })).body;
  expect(sub.secret).toMatch(/^whsec_/);
  receiver.hold();

  const first = startWorkerProcess();
  await waitReady([first], 180_000);
  // Three events in the outbox, as the pipelines' saveState writes them.
  const repo = createWebhookRepository(h.pool, createSecretBox(TEST_ENCRYPTION_KEY));
  const run = Date.now();
  const ids = [1, 2, 3].map((n) => `p_kill_${run}_${n}`);
  for (const id of ids) {
    await repo.recordEvent({ id: `evt_pipeline:${id}:published`, tenantId: h.tenants.a, type: 'pipeline.published', occurredAt: new Date().toISOString(), data: { pipelineId: id, status: 'published' } });
  }

  // All three deliveries reach the receiver and are held there, unanswered.
  await until('three deliveries held', 120_000, () => new Set(receiver.requests.filter((r) => r.status === null && !r.dropped).map(idOf)).size === 3);
  const inFlight = receiver.requests.filter((r) => r.status === null && !r.dropped);
  first.child.kill('SIGKILL');
  await first.exited;
  // The fault landed: every request in flight was cut off by the kill, none of them answered.
  await until('the held connections to drop', 10_000, () => inFlight.every((r) => r.dropped));
  expect(inFlight.every((r) => r.status === null)).toBe(true);
  expect(receiver.acceptedById().size).toBe(0);
  receiver.release();

  // Written while no worker runs: the next worker's dispatcher finds it.
  const outageEvent = `evt_while_down_${Date.now()}`;
  await repo.recordEvent({ id: outageEvent, tenantId: h.tenants.a, type: 'publication.failed', occurredAt: new Date().toISOString(), data: { pipelineId: 'p_while_down' } });
  expect(alive(first)).toBe(false);

  const second = startWorkerProcess();
  await waitReady([second], 180_000);
  await until('four events accepted', 180_000, () => receiver.acceptedById().size === 4);
  // Long enough for a duplicate to show up if one were coming (a retry waits 5 s after a failed attempt).
  await sleep(8_000);

  const accepted = receiver.acceptedById();
  expect([...accepted.values()]).toEqual([1, 1, 1, 1]);
  const verifier = new Webhook(sub.secret);
  const payloads = receiver.requests
    .filter((r) => r.status === 200)
    .map((r) => ({ id: idOf(r), ...(verifier.verify(r.raw, r.headers as Record<string, string>) as { type: string; data: { pipelineId: string } }) }));
  expect(payloads.filter((p) => p.type === 'pipeline.published').map((p) => p.data.pipelineId).sort()).toEqual([...ids].sort());
  expect(payloads.filter((p) => p.type === 'publication.failed').map((p) => p.id)).toEqual([outageEvent]);
  // Each cut-off delivery was tried again under the same webhook-id.
  for (const r of inFlight) expect(accepted.get(idOf(r))).toBe(1);

  const log = (await h.api('GET', `/v1/webhooks/${sub.id}/deliveries`)).body.items as any[];
  expect(log).toHaveLength(4);
  expect(log.every((d) => d.status === 'delivered' && d.lastStatusCode === 200)).toBe(true);
});
