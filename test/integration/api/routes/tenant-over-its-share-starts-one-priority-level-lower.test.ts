// Herald's own fairness between tenants (issue 11): once a tenant has BURST_SHARE unfinished pipelines, its next ones
// start one task-queue priority level lower, so another tenant's pipelines of the same priority go first; the tenant's
// own order holds (a critical one still before a low one). Read back from Temporal's description of each workflow.
// No worker runs here, so every pipeline stays unfinished.
import { BURST_SHARE, PRIORITY_KEY } from '../../../../src/pipelines/start-options';
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

jest.setTimeout(180_000);

let h: Harness;
const started: string[] = [];
beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => {
  for (const wf of started) await h?.client.workflow.getHandle(wf).terminate('test over').catch(() => undefined);
  await h?.stop();
});

async function start(body: Record<string, unknown>, key: string): Promise<{ priorityKey?: number; fairnessKey?: string } | undefined> {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest(body), { key });
  expect(res.status).toBe(202);
  const { rows } = await h.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM pipelines WHERE id = $1', [res.body.id]);
  started.push(rows[0].workflow_id);
  return (await h.client.workflow.getHandle(rows[0].workflow_id).describe()).priority;
}

it("a tenant's pipelines past its share start one level lower; another tenant's do not", async () => {
  for (let i = 0; i < BURST_SHARE; i++) {
    expect(await start({ topic: `within share ${i}` }, h.keys.a)).toEqual(expect.objectContaining({ priorityKey: PRIORITY_KEY.normal, fairnessKey: h.tenants.a }));
  }
  expect(await start({ topic: 'past share, normal' }, h.keys.a)).toEqual(expect.objectContaining({ priorityKey: PRIORITY_KEY.normal + 1, fairnessKey: h.tenants.a }));
  expect(await start({ topic: 'past share, critical', priority: 'critical' }, h.keys.a)).toEqual(expect.objectContaining({ priorityKey: PRIORITY_KEY.critical + 1 }));
  expect(await start({ topic: 'past share, low', priority: 'low' }, h.keys.a)).toEqual(expect.objectContaining({ priorityKey: PRIORITY_KEY.low + 1 }));
  // The light tenant meanwhile keeps its priority.
  expect(await start({ topic: 'the other tenant' }, h.keys.b)).toEqual(expect.objectContaining({ priorityKey: PRIORITY_KEY.normal, fairnessKey: h.tenants.b }));
});

it('pipelines waiting for their time or for a person do not count against the share', async () => {
  // BURST_SHARE of tenant b's pipelines, as they are once prepared: waiting in `scheduled` or `awaiting_approval`
  // (no worker runs here, so the status is set where the workflow's save would set it).
  const ids: string[] = [];
  for (let i = 0; i < BURST_SHARE; i++) {
    const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic: `waiting ${i}` }), { key: h.keys.b });
    expect(res.status).toBe(202);
    ids.push(res.body.id);
    const { rows } = await h.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM pipelines WHERE id = $1', [res.body.id]);
    started.push(rows[0].workflow_id);
  }
  await h.pool.query(`UPDATE pipelines SET status = CASE WHEN random() < 0.5 THEN 'scheduled' ELSE 'awaiting_approval' END WHERE id = ANY($1)`, [ids]);
  expect(await start({ topic: 'b, with many waiting' }, h.keys.b)).toEqual(expect.objectContaining({ priorityKey: PRIORITY_KEY.normal, fairnessKey: h.tenants.b }));
  // The same pipelines back at work: now b is over its share.
  await h.pool.query(`UPDATE pipelines SET status = 'publishing' WHERE id = ANY($1)`, [ids]);
  expect(await start({ topic: 'b, with many at work' }, h.keys.b)).toEqual(expect.objectContaining({ priorityKey: PRIORITY_KEY.normal + 1 }));
});
