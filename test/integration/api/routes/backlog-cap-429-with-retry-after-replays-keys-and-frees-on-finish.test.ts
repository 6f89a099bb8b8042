// TENANT_MAX_ACTIVE_PIPELINES on POST /v1/pipelines: at the cap a new pipeline is refused 429 `backlog_full` with
// Retry-After and nothing is stored or started; a repeat under an Idempotency-Key already used is still answered with
// its pipeline; another tenant is not affected; a pipeline that finishes makes room again, and finished ones, however
// many, never count. No worker runs here, so every pipeline stays unfinished until the test finishes it in SQL (where
// the workflow's save would).
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

jest.setTimeout(120_000);

let h: Harness;
const workflowIds: string[] = [];
beforeAll(async () => {
  h = await startHarness({ env: { TENANT_MAX_ACTIVE_PIPELINES: '2' }, withWorker: false });
});
afterAll(async () => {
  for (const wf of workflowIds) await h?.client.workflow.getHandle(wf).terminate('test over').catch(() => undefined);
  await h?.stop();
});

async function post(topic: string, o: { key?: string; idempotencyKey?: string } = {}) {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic }), { key: o.key, headers: o.idempotencyKey ? { 'idempotency-key': o.idempotencyKey } : {} });
  if (res.status === 202) {
    const { rows } = await h.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM pipelines WHERE id = $1', [(res.body as { id: string }).id]);
    workflowIds.push(rows[0].workflow_id);
  }
  return res as { status: number; body: any; headers: Headers };
}

async function rowsOf(tenantId: string): Promise<number> {
  const { rows } = await h.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM pipelines WHERE tenant_id = $1', [tenantId]);
  return rows[0].n;
}

it('refuses past the cap with Retry-After, replays keys, leaves other tenants alone and frees a place when one finishes', async () => {
  const first = await post('first', { idempotencyKey: 'backlog-key-1' });
  expect(first.status).toBe(202);
  expect((await post('second')).status).toBe(202);

  const refused = await post('third');
  expect(refused.status).toBe(429);
  expect(refused.headers.get('retry-after')).toBe('30');
  expect(refused.body).toEqual({ error: { code: 'backlog_full', message: expect.stringContaining('2 active pipelines'), details: [] } });
  expect(await rowsOf(h.tenants.a)).toBe(2);
  // Refused under a new key too: the key is not used up, so the same request goes through once there is room.
  expect((await post('keyed while full', { idempotencyKey: 'backlog-key-2' })).status).toBe(429);

  // A repeat of a stored request creates nothing, so the full backlog does not refuse it.
  const replay = await post('first', { idempotencyKey: 'backlog-key-1' });
  expect(replay.status).toBe(200);
  expect(replay.body.id).toBe(first.body.id);

  expect((await post('the other tenant', { key: h.keys.b })).status).toBe(202);

  // One of tenant a's pipelines finishes: room for exactly one more.
  await h.pool.query(`UPDATE pipelines SET status = 'published' WHERE id = $1`, [first.body.id]);
  const keyed = await post('keyed while full', { idempotencyKey: 'backlog-key-2' });
  expect(keyed.status).toBe(202);
  expect((await post('fourth')).status).toBe(429);

  // A long history of finished pipelines takes no room.
  await h.pool.query(
    `INSERT INTO pipelines (id, tenant_id, workflow_id, status, platforms, request, state, request_hash)
     SELECT 'pl_done_' || g, $1, 'wf-done-' || g, (ARRAY['published','failed','cancelled','partially_published','rejected','expired'])[1 + g % 6], '{x}', '{}', '{}', 'h'
     FROM generate_series(1, 300) g`,
    [h.tenants.a],
  );
  await h.pool.query(`UPDATE pipelines SET status = 'failed' WHERE id = $1`, [keyed.body.id]);
  expect((await post('after a long history')).status).toBe(202);
  expect((await post('one too many')).status).toBe(429);
});
