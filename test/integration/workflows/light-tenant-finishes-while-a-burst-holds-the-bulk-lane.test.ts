// Fairness between tenants inside the worker (issue 11, src/worker/lanes.ts): a tenant over its share starts its normal
// pipelines on the bulk lane, so another tenant's pipeline is not held up behind the burst's steps already in the
// worker. Here tenant a's burst holds every activity slot of the bulk lane (its image steps hang until the test lets
// them go) and tenant b's pipeline still publishes, with a's steps still hanging. With one lane, b's steps would wait
// for one of the slots the burst holds. The worker is made as npm start makes it: 8 activity and 8 workflow-task slots.
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { BURST_SHARE, bulkTaskQueue } from '../../../src/pipelines/start-options';
import { createCardImageSource } from '../../../src/providers/images/card';
import type { ImageSource } from '../../../src/providers/images/types';
import { buildActivityDeps } from '../../../src/worker/build-deps';
import { createHeraldWorker, type HeraldWorker } from '../../../src/worker/create-worker';
import { WORKFLOW_BUNDLE_PATH } from '../../helpers/env';
import { dryRunRequest, startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../../helpers/harness';

jest.setTimeout(240_000);

const SLOTS = 8;
let h: Harness;
let connection: NativeConnection | undefined;
let worker: HeraldWorker | undefined;
let running: Promise<void> | undefined;
const workflowIds: string[] = [];

// Title cards as usual, except that a heavy pipeline's hangs until `letGo`: the burst's steps stay in the worker.
// A light pipeline whose topic starts with 'held' hangs likewise until `letLightGo`: the main lane stays busy.
const card = createCardImageSource();
const inFlight = { heavy: 0, held: 0 };
/** When the gated pipelines' cards were drawn (after they were let go). */
const drawnAt: Record<'heavy' | 'held', number[]> = { heavy: [], held: [] };
let letGo: () => void = () => undefined;
let letLightGo: () => void = () => undefined;
const mayGo = {
  heavy: new Promise<void>((resolve) => (letGo = resolve)),
  held: new Promise<void>((resolve) => (letLightGo = resolve)),
};
const gatedCard: ImageSource = {
  name: 'card',
  async find(request) {
    const gate = (['heavy', 'held'] as const).find((g) => request.topic.startsWith(g));
    if (gate) {
      inFlight[gate]++;
      try {
        await mayGo[gate];
      } finally {
        inFlight[gate]--;
      }
    }
    const found = await card.find(request);
    if (gate) drawnAt[gate].push(Date.now());
    return found;
  },
};

async function until(what: string | (() => string), cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function post(key: string, topic: string): Promise<{ id: string; workflowId: string }> {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic, image: { mode: 'auto' } }), { key });
  expect(res.status).toBe(202);
  const { rows } = await h.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM pipelines WHERE id = $1', [res.body.id]);
  workflowIds.push(rows[0].workflow_id);
  return { id: res.body.id, workflowId: rows[0].workflow_id };
}

beforeAll(async () => {
  h = await startHarness({ withWorker: false, env: { IMAGE_SOURCES: 'card' } });
});

afterAll(async () => {
  letGo();
  letLightGo();
  for (const wf of workflowIds) await h?.client.workflow.getHandle(wf).terminate('test over').catch(() => undefined);
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running?.catch(() => undefined);
  await connection?.close();
  await h?.stop();
});

it("a light tenant's pipeline publishes while a heavy tenant's burst holds every bulk-lane slot", async () => {
  // Tenant a at its share: BURST_SHARE pipelines at work (started with no worker about, then stopped, so their rows
  // stay `queued`, which counts as at work).
  for (let i = 0; i < BURST_SHARE; i++) await post(h.keys.a, `at work ${i}`);
  for (const wf of workflowIds.splice(0)) await h.client.workflow.getHandle(wf).terminate('only its row counts here');

  // a's burst: past its share, so on the bulk lane.
  const burst: { id: string; workflowId: string }[] = [];
  for (let i = 0; i < SLOTS + 4; i++) burst.push(await post(h.keys.a, `heavy ${i}`));
  for (const p of burst.slice(0, 3)) expect((await h.client.workflow.getHandle(p.workflowId).describe()).taskQueue).toBe(bulkTaskQueue(h.taskQueue));

  connection = await NativeConnection.connect({ address: h.config.temporal.address });
  worker = await createHeraldWorker({
    connection,
    namespace: h.config.temporal.namespace,
    taskQueue: h.taskQueue,
    deps: { ...buildActivityDeps(h.config, h.pool, TEST_ENCRYPTION_KEY, pino({ level: 'silent' }), h.resilience), imageSources: { card: gatedCard } },
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
    maxActivities: SLOTS,
    maxWorkflowTasks: SLOTS,
    // No starve bound within this test: a held bulk step goes on only when the main lane is idle.
    laneTimings: { starveMs: 600_000 },
  });
  running = worker.run();

  // The fault landed: the burst's image steps fill the bulk lane's activity slots and stay there.
  await until(`${SLOTS} of a's image steps in the worker (${inFlight.heavy} so far)`, () => inFlight.heavy === SLOTS, 120_000);

  const light = await post(h.keys.b, 'light, from the other tenant');
  expect((await h.client.workflow.getHandle(light.workflowId).describe()).taskQueue).toBe(h.taskQueue);
  const done = await h.waitFor(light.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status), { timeoutMs: 90_000, key: h.keys.b });
  expect(done.status).toBe('published');
  expect(done.images.length).toBeGreaterThan(0);

  // ...and a's burst was still holding them all the while: none of it is done.
  expect(inFlight.heavy).toBe(SLOTS);
  const { rows } = await h.pool.query<{ status: string }>('SELECT status FROM pipelines WHERE id = ANY($1)', [burst.map((p) => p.id)]);
  expect(rows.filter((r) => r.status === 'illustrating').length).toBeGreaterThanOrEqual(SLOTS);
  expect(rows.every((r) => !['published', 'failed'].includes(r.status))).toBe(true);

  // b's next pipeline stays in its image step: the main lane is busy. Then a's steps are let go: each reaches its title
  // card while b's pipeline works, and waits for its turn instead of drawing (the steps the bulk lane already holds
  // are not gated by its slots).
  const held = await post(h.keys.b, 'held light, from the other tenant');
  await until(`b's held pipeline in its image step (${inFlight.held})`, () => inFlight.held === 1, 90_000);
  expect(worker.lanes.busy()).toBe(true);
  letGo();
  // (A step of a's next pipeline may be waiting at its start too: one the bulk lane took before b's work arrived.)
  await until(() => `a's ${SLOTS} cards waiting for the main lane (${JSON.stringify(worker!.lanes.turns())})`, () => worker!.lanes.turns().waiting >= SLOTS, 60_000);
  const waiting = await h.pool.query<{ status: string }>('SELECT status FROM pipelines WHERE id = ANY($1)', [burst.map((p) => p.id)]);
  expect(waiting.rows.filter((r) => r.status === 'illustrating').length).toBeGreaterThanOrEqual(SLOTS);

  // b's pipeline goes on and publishes; then the burst finishes too (its cards drawn, and the bulk lane gets its slots
  // back once b's work is over).
  letLightGo();
  expect((await h.waitFor(held.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status), { timeoutMs: 90_000, key: h.keys.b })).status).toBe('published');
  for (const p of burst) await h.waitFor(p.id, (s) => s.status === 'published', { timeoutMs: 120_000 });
  expect(worker.lanes.turns().waiting).toBe(0);
  expect(worker.lanes.turns().held).toBeGreaterThanOrEqual(SLOTS);
  // a's cards were let go first, yet every one of them was drawn after b's (drawn at once, they would come before).
  expect(drawnAt.held).toHaveLength(1);
  expect(drawnAt.heavy.length).toBeGreaterThanOrEqual(SLOTS);
  expect(Math.min(...drawnAt.heavy)).toBeGreaterThan(drawnAt.held[0]);
});
