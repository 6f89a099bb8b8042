// A started pipeline that stops moving is not silent (issue 11): its worker goes away while the pipeline is
// illustrating, so its image step is left to a task queue nobody polls. It has no publish time, so it is never
// overdue; after STALL_NO_PROGRESS_AFTER without a recorded step GET /v1/stalls lists it as `stuck_pipeline` for its
// tenant with what Temporal says it waits for, and herald_stuck_pipelines counts it. A worker again: it publishes and
// leaves the list.
import { Context } from '@temporalio/activity';
import { createCardImageSource } from '../../../../src/providers/images/card';
import type { ImageSource } from '../../../../src/providers/images/types';
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

const NO_PROGRESS_S = 15;
let h: Harness;

// Title cards, except that while `hold` is on a card does not come back until its activity is cancelled (the worker
// shutting down): the pipeline stays in `illustrating`.
const card = createCardImageSource();
let hold = true;
let inFlight = 0;
const releases: (() => void)[] = [];
const heldCard: ImageSource = {
  name: 'card',
  async find(request) {
    if (hold) {
      inFlight++;
      await Promise.race([new Promise<void>((resolve) => releases.push(resolve)), Context.current().cancelled]);
    }
    return card.find(request);
  },
};

beforeAll(async () => {
  h = await startHarness({ env: { IMAGE_SOURCES: 'card', STALL_NO_PROGRESS_AFTER: `${NO_PROGRESS_S}s` }, depsOverrides: { imageSources: { card: heldCard } } });
});
afterAll(async () => {
  hold = false;
  for (const r of releases.splice(0)) r();
  await h?.stop();
});

type Item = { kind: string; pipelineId: string; pipelineStatus: string; publishAt: string | null; lateSeconds: number; reasons: { code: string; message: string }[] };
type Stalls = { items: Item[]; noProgressSeconds: number; workers: { polling: boolean | null } };

async function stalls(key?: string): Promise<Stalls> {
  const res = await h.api<Stalls>('GET', '/v1/stalls', undefined, { key });
  expect(res.status).toBe(200);
  return res.body;
}

async function stuckGauge(tenant: string): Promise<number | null> {
  const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`herald_stuck_pipelines{tenant="${tenant}"}`));
  return line ? Number(line.split(' ').pop()) : null;
}

test('illustrating when its worker went away: listed as stuck after the no-progress time, with what Temporal says, per tenant, and in the gauge', async () => {
  const created = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic: 'A pipeline left behind', image: { mode: 'auto' } }));
  expect(created.status).toBe(202);
  const id: string = created.body.id;
  const deadline = Date.now() + 90_000;
  while (inFlight === 0) {
    if (Date.now() > deadline) throw new Error('the image step never started');
    await new Promise((r) => setTimeout(r, 100));
  }
  expect((await h.api('GET', `/v1/pipelines/${id}`)).body.status).toBe('illustrating');

  // The worker goes away with the card still being drawn (its shutdown grace passes; the step is cancelled).
  await h.stopWorker();
  const { rows } = await h.pool.query<{ updated_at: Date; status: string }>('SELECT updated_at, status FROM pipelines WHERE id = $1', [id]);
  expect(rows[0].status).toBe('illustrating');
  const lastStep = rows[0].updated_at.getTime();

  // Looked at until it shows: never before the no-progress time has passed since its last recorded step.
  let listed: Item | undefined;
  const until = Date.now() + NO_PROGRESS_S * 1000 + 120_000;
  while (!listed) {
    if (Date.now() > until) throw new Error('the stuck pipeline never appeared in /v1/stalls');
    const body = await stalls();
    expect(body.noProgressSeconds).toBe(NO_PROGRESS_S);
    listed = body.items.find((i) => i.pipelineId === id);
    if (!listed) await new Promise((r) => setTimeout(r, 1_000));
  }
  expect(Date.now()).toBeGreaterThanOrEqual(lastStep + NO_PROGRESS_S * 1000);
  expect(listed).toMatchObject({ kind: 'stuck_pipeline', pipelineStatus: 'illustrating', publishAt: null });
  expect(listed.lateSeconds).toBeGreaterThanOrEqual(NO_PROGRESS_S);
  const codes = listed.reasons.map((r) => r.code);
  expect(codes).toContain('no_progress');
  // What Temporal says: the image step (or the workflow task after it) sits on the task queue, taken by no worker.
  const temporalSays = listed.reasons.filter((r) => ['activity_waiting', 'activity_retrying', 'workflow_task_waiting'].includes(r.code));
  expect(temporalSays.length).toBeGreaterThan(0);
  expect(temporalSays.some((r) => r.message.includes(h.taskQueue))).toBe(true);

  // Another tenant sees nothing of it; the gauge counts it for its tenant only.
  expect((await stalls(h.keys.b)).items.map((i) => i.pipelineId)).not.toContain(id);
  expect(await stuckGauge(h.tenants.a)).toBe(1);
  expect(await stuckGauge(h.tenants.b)).toBeNull();

  // A worker again, drawing cards: the pipeline moves on, publishes, and is no longer listed.
  hold = false;
  for (const r of releases.splice(0)) r();
  await h.startWorker({ imageSources: { card: heldCard } });
  await h.waitFor(id, (s) => s.status === 'published', { timeoutMs: 120_000 });
  expect((await stalls()).items.map((i) => i.pipelineId)).not.toContain(id);
  expect(await stuckGauge(h.tenants.a)).toBeNull();
}, 6 * 60_000);
