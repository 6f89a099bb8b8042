// A scheduled pipeline whose worker is gone at its publish time: absent from /v1/stalls before its time and during the
// two-minute grace, then listed with its reasons (timer not fired, no worker polling) for its own tenant only, and
// counted by the herald_overdue_pipelines gauge; once a worker is back it publishes and leaves the list.
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

const GRACE_MS = 120_000;
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

type Stalls = { items: { kind: string; pipelineId: string; pipelineStatus: string; publishAt?: string; lateSeconds: number; reasons: { code: string; message: string }[] }[]; workers: { polling: boolean | null } };

async function stalls(key?: string): Promise<Stalls> {
  const res = await h.api<Stalls>('GET', '/v1/stalls', undefined, { key });
  expect(res.status).toBe(200);
  return res.body;
}

/** The gauge's value for one tenant, or null when the tenant has no series (nothing overdue). */
async function overdueGauge(tenant: string): Promise<number | null> {
  const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`herald_overdue_pipelines{tenant="${tenant}"}`));
  return line ? Number(line.split(' ').pop()) : null;
}

test('held past its publish time by having no worker: listed after the grace period with its reasons, per tenant, and in the gauge', async () => {
  const publishAt = new Date(Date.now() + 20_000);
  const created = await h.api('POST', '/v1/pipelines', dryRunRequest({ publishAt: publishAt.toISOString() }));
  expect(created.status).toBe(202);
  const id: string = created.body.id;
  await h.waitFor(id, (s) => s.status === 'scheduled');

  // Before its time: not a stall, and no series for this tenant.
  expect((await stalls()).items.map((i) => i.pipelineId)).not.toContain(id);
  expect(await overdueGauge(h.tenants.a)).toBeNull();

  await h.stopWorker();
  expect(Date.now()).toBeLessThan(publishAt.getTime()); // the worker was gone before the timer could fire

  // Poll until it shows; every look before publishAt + grace must find it absent.
  const deadline = publishAt.getTime() + GRACE_MS + 120_000;
  let absentAfterPublishAt = 0;
  let listed: Stalls['items'][number] | undefined;
  while (!listed) {
    if (Date.now() > deadline) throw new Error('the overdue pipeline never appeared in /v1/stalls');
    const askedAt = Date.now();
    listed = (await stalls()).items.find((i) => i.pipelineId === id);
    if (!listed) {
      if (askedAt > publishAt.getTime()) absentAfterPublishAt += 1;
      await new Promise((r) => setTimeout(r, 2_000));
    } else {
      expect(askedAt).toBeGreaterThanOrEqual(publishAt.getTime() + GRACE_MS - 1_000);
    }
  }
  expect(absentAfterPublishAt).toBeGreaterThan(0); // late but within the grace: not yet listed

  // Its state in PostgreSQL still says scheduled: the timer never fired.
  expect((await h.api('GET', `/v1/pipelines/${id}`)).body.status).toBe('scheduled');
  expect(listed).toMatchObject({ kind: 'overdue_pipeline', pipelineStatus: 'scheduled', publishAt: publishAt.toISOString() });
  expect(listed.lateSeconds).toBeGreaterThanOrEqual(GRACE_MS / 1000);
  const codes = listed.reasons.map((r) => r.code);
  expect(codes).toEqual(expect.arrayContaining(['timer_not_fired', 'no_worker_polling']));
  expect(listed.reasons.find((r) => r.code === 'no_worker_polling')?.message).toContain(h.taskQueue);

  // Another tenant sees nothing of it.
  expect((await stalls(h.keys.b)).items.map((i) => i.pipelineId)).not.toContain(id);
  expect(await overdueGauge(h.tenants.a)).toBe(1);
  expect(await overdueGauge(h.tenants.b)).toBeNull();

  // A worker again: the timer fires late, the pipeline publishes and is no longer a stall.
  await h.startWorker();
  await h.waitFor(id, (s) => s.status === 'published', { timeoutMs: 60_000 });
  const after = await stalls();
  expect(after.items.map((i) => i.pipelineId)).not.toContain(id);
  expect(after.workers.polling).toBe(true);
  expect(await overdueGauge(h.tenants.a)).toBeNull();
}, 8 * 60_000);
