// The worker keeps polling its normal task queue while every pipeline in its cache waits for its publish time (issue
// 11; src/worker/lanes.ts, kindCap). Temporal's worker reserves a workflow-task slot from Herald's supplier before each
// poll and holds it through the long poll. Seen in the scheduled bench: the sticky queue's polls held all 8 slots while
// the sticky queue stayed empty (everything cached was waiting on a timer), and pipelines whose tasks were on the
// normal queue waited there for minutes. Here a worker made as npm start makes it (8 workflow-task slots) fills its
// cache with waiting pipelines; the real worker's reservations never give the sticky polls every slot, the normal
// queue always has one, and pipelines posted afterwards are taken at once.
import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { buildActivityDeps } from '../../../src/worker/build-deps';
import { createHeraldWorker, type HeraldWorker } from '../../../src/worker/create-worker';
import { WORKFLOW_BUNDLE_PATH } from '../../helpers/env';
import { dryRunRequest, startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../../helpers/harness';

jest.setTimeout(240_000);

const SLOTS = 8;
const H = 3600_000;
let h: Harness;
let connection: NativeConnection | undefined;
let worker: HeraldWorker | undefined;
let running: Promise<void> | undefined;
const ids: string[] = [];

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});

afterAll(async () => {
  const { rows } = await h.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM pipelines WHERE id = ANY($1)', [ids]).catch(() => ({ rows: [] as { workflow_id: string }[] }));
  for (const r of rows) await h.client.workflow.getHandle(r.workflow_id).terminate('test over').catch(() => undefined);
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running?.catch(() => undefined);
  await connection?.close();
  await h?.stop();
});

async function post(i: number): Promise<string> {
  const publishAt = new Date(Date.now() + 24 * H + i * 3 * H).toISOString();
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic: `Waiting ${i}`, publishAt, image: { mode: 'none' } }));
  expect(res.status).toBe(202);
  ids.push(res.body.id);
  return res.body.id;
}

it('with every cached pipeline waiting for its time, the sticky polls never hold every slot and new pipelines are taken at once', async () => {
  connection = await NativeConnection.connect({ address: h.config.temporal.address });
  worker = await createHeraldWorker({
    connection,
    namespace: h.config.temporal.namespace,
    taskQueue: h.taskQueue,
    deps: buildActivityDeps(h.config, h.pool, TEST_ENCRYPTION_KEY, pino({ level: 'silent' }), h.resilience),
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
    maxActivities: SLOTS,
    maxWorkflowTasks: SLOTS,
  });
  running = worker.run();
  const slots = worker.lanes.main.workflowTasks;

  // What the real worker reserves, looked at every 20 ms for the whole test.
  let maxSticky = 0;
  let samples = 0;
  let stickyReturned = 0; // looks at which fewer slots were held for sticky polls than at the look before
  let last = 0;
  const sampler = setInterval(() => {
    maxSticky = Math.max(maxSticky, slots.heldSticky);
    if (slots.heldSticky < last) stickyReturned++;
    last = slots.heldSticky;
    samples++;
  }, 20);
  try {
    const first = [];
    for (let i = 0; i < 12; i++) first.push(await post(i));
    for (const id of first) await h.waitFor(id, (s) => s.status === 'scheduled', { timeoutMs: 120_000 });

    // The fault this guards against could land: Temporal's worker does ask for sticky slots (it says which kind a
    // reservation is for), and runs sticky polls against an idle sticky queue.
    const deadline = Date.now() + 30_000;
    while (!(slots.heldSticky >= 1 && slots.reserved - slots.heldSticky >= 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(slots.heldSticky).toBeGreaterThanOrEqual(1);
    // ...and a slot stays with the normal queue's poll.
    expect(slots.reserved - slots.heldSticky).toBeGreaterThanOrEqual(1);

    // Pipelines posted now are taken from the normal queue while the cached ones all wait.
    const later = [];
    for (let i = 12; i < 17; i++) later.push(await post(i));
    for (const id of later) await h.waitFor(id, (s) => s.status === 'scheduled', { timeoutMs: 60_000 });
  } finally {
    clearInterval(sampler);
  }
  expect(samples).toBeGreaterThan(10);
  expect(maxSticky).toBeGreaterThanOrEqual(1);
  expect(maxSticky).toBeLessThanOrEqual(SLOTS - 1);
  // Sticky slots come back as their polls return (Temporal hands back the permit that says which kind it was for);
  // were they never counted back, the sticky polls would stop for good once at their share.
  expect(stickyReturned).toBeGreaterThan(0);
});
