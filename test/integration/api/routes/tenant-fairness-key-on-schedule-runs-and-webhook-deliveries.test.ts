// Every workflow Herald starts queues with its tenant as fairness key (issue 11): not only pipelines started by
// POST /v1/pipelines but a Schedule's runs (with the scheduled pipeline's priority) and webhook delivery workflows,
// whether the dispatcher starts them from the outbox or the API starts them (test event). Read back from Temporal's
// own description of each workflow, through the real API, worker, Temporal and PostgreSQL.
import pino from 'pino';
import { createSecretBox } from '../../../../src/db/secret-box';
import { createWebhookRepository } from '../../../../src/db/webhooks-repo';
import { PRIORITY_KEY } from '../../../../src/pipelines/start-options';
import { startWebhookDispatcher, type Dispatcher } from '../../../../src/webhooks/dispatcher';
import { deliveryWorkflowId } from '../../../../src/webhooks/policy';
import { startWebhookReceiver, type WebhookReceiver } from '../../../fakes/webhook-receiver';
import { dryRunRequest, startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../../../helpers/harness';

jest.setTimeout(180_000);

let h: Harness;
let receiver: WebhookReceiver;
let dispatcher: Dispatcher | undefined;
const schedules: string[] = [];

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  h = await startHarness({ env: { WEBHOOK_ALLOW_PRIVATE: 'true', TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card' } });
});
afterAll(async () => {
  await dispatcher?.stop();
  // Leave no Schedule ticking on the shared dev server.
  for (const id of schedules) await h?.api('DELETE', `/v1/schedules/${id}`).catch(() => undefined);
  await h?.stop();
  await receiver?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const priorityOf = async (workflowId: string) => (await h.client.workflow.getHandle(workflowId).describe()).priority;

describe('the tenant fairness key', () => {
  it("is on a Schedule's runs, with the scheduled pipeline's priority, and on the pipeline each run starts", async () => {
    const topic = `Fairness of scheduled runs ${Date.now()}`;
    const res = await h.api('POST', '/v1/schedules', { every: '1h', pipeline: dryRunRequest({ topic, priority: 'critical', targets: [{ platform: 'x' }] }) });
    expect(res.status).toBe(201);
    schedules.push(res.body.id);
    const handle = h.client.schedule.getHandle(`herald-schedule-${h.tenants.a}-${res.body.id}`);
    const want = { priorityKey: PRIORITY_KEY.critical, fairnessKey: h.tenants.a };
    // On the Schedule's action, so every future run has it...
    const desc = await handle.describe();
    expect(desc.action).toEqual(expect.objectContaining({ type: 'startWorkflow', priority: expect.objectContaining(want) }));
    // ...and on a run, as Temporal describes the execution.
    await handle.trigger();
    const runWorkflowId = await until('the schedule run', async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId);
    expect(await priorityOf(runWorkflowId)).toEqual(expect.objectContaining(want));
    const pipelineId: string = await h.client.workflow.getHandle(runWorkflowId).result();
    expect(pipelineId).toEqual(expect.any(String));
    const { rows } = await h.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM pipelines WHERE id = $1', [pipelineId]);
    expect(await priorityOf(rows[0].workflow_id)).toEqual(expect.objectContaining(want));
  });

  it('is on webhook delivery workflows, from the outbox dispatcher and from the test-event route', async () => {
    const sub = await h.api('POST', '/v1/webhooks', { url: `${receiver.url}/fair`, events: ['pipeline.published'], description: 'fairness key' });
    expect(sub.status).toBe(201);
    const subId: string = sub.body.id;

    // The API starts a test event's delivery itself.
    const test = await h.api('POST', `/v1/webhooks/${subId}/test`);
    expect(test.status).toBe(202);
    expect(await priorityOf(deliveryWorkflowId(test.body.id))).toEqual(expect.objectContaining({ fairnessKey: h.tenants.a }));

    // The dispatcher starts a lifecycle event's delivery from the outbox (the tenant comes from the event's row).
    const webhooks = createWebhookRepository(h.pool, createSecretBox(TEST_ENCRYPTION_KEY));
    dispatcher = startWebhookDispatcher({ webhooks, client: h.client, taskQueue: h.taskQueue, logger: pino({ level: 'silent' }), intervalMs: 200 });
    const created = await h.api('POST', '/v1/pipelines', dryRunRequest({ targets: [{ platform: 'x' }] }));
    expect(created.status).toBe(202);
    await h.waitFor(created.body.id, (s) => s.status === 'published');
    const published = await until('the pipeline.published delivery', async () => {
      const list = await h.api('GET', `/v1/webhooks/${subId}/deliveries`);
      return (list.body.items as any[]).find((d) => d.eventType === 'pipeline.published');
    });
    expect(await priorityOf(deliveryWorkflowId(published.id))).toEqual(expect.objectContaining({ fairnessKey: h.tenants.a }));
  });
});
