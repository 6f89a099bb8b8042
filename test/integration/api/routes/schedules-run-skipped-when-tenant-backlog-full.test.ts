// A scheduled run that would take the tenant past TENANT_MAX_ACTIVE_PIPELINES makes no pipeline: the run ends with no
// pipeline, GET /v1/schedules shows it skipped with the reason, and a schedule.run_skipped event waits in the outbox.
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

let h: Harness;
let scheduleId: string | null = null;
beforeAll(async () => {
  h = await startHarness({ env: { TENANT_MAX_ACTIVE_PIPELINES: '1' } });
}, 60_000);
afterAll(async () => {
  if (scheduleId) await h?.api('DELETE', `/v1/schedules/${scheduleId}`).catch(() => undefined);
  await h?.stop();
});

async function pipelineRows(): Promise<number> {
  const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM pipelines WHERE tenant_id = $1', [h.tenants.a]);
  return rows[0].n;
}

it('skips the run, shows why, and records schedule.run_skipped once', async () => {
  // The tenant's one active pipeline: it waits for an approval that never comes during this test.
  const active = await h.api('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true } }));
  expect(active.status).toBe(202);
  await h.waitFor(active.body.id, (s) => s.status === 'awaiting_approval', { timeoutMs: 60_000 });
  // The API refuses a second one, so the limit is in force for this tenant.
  expect((await h.api('POST', '/v1/pipelines', dryRunRequest())).status).toBe(429);

  const schedule = await h.api('POST', '/v1/schedules', { every: '1h', pipeline: dryRunRequest({ topic: 'Recurring', targets: [{ platform: 'x' }] }) });
  expect(schedule.status).toBe(201);
  scheduleId = schedule.body.id;
  const handle = h.client.schedule.getHandle(`herald-schedule-${h.tenants.a}-${scheduleId}`);
  await handle.trigger();

  let runWorkflowId: string | undefined;
  const deadline = Date.now() + 60_000;
  while (!runWorkflowId && Date.now() < deadline) {
    runWorkflowId = (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId;
    if (!runWorkflowId) await new Promise((r) => setTimeout(r, 200));
  }
  expect(runWorkflowId).toBeDefined();
  // The run ends (it is not retried for half an hour) and made no pipeline.
  expect(await h.client.workflow.getHandle(runWorkflowId!).result()).toBeNull();
  expect(await pipelineRows()).toBe(1);

  const list = await h.api('GET', '/v1/schedules');
  const mine = list.body.items.find((s: any) => s.id === scheduleId);
  expect(mine.recentRuns).toEqual([
    { runAt: expect.any(String), pipelineId: null, skipped: expect.stringContaining('1 active pipelines (TENANT_MAX_ACTIVE_PIPELINES)') },
  ]);

  const { rows } = await h.pool.query('SELECT id, type, data FROM lifecycle_events WHERE tenant_id = $1 AND type = $2', [h.tenants.a, 'schedule.run_skipped']);
  expect(rows).toEqual([
    {
      id: `evt_schedule:${scheduleId}:${runWorkflowId!.replace(/[^A-Za-z0-9_.-]/g, '_')}:skipped`,
      type: 'schedule.run_skipped',
      data: { scheduleId, runId: runWorkflowId, reason: expect.stringContaining('backlog full'), limit: 1 },
    },
  ]);

  // With room again (the active pipeline rejected), the next run makes its pipeline.
  expect((await h.api('POST', `/v1/pipelines/${active.body.id}/reject`, { reason: 'making room' })).status).toBe(200);
  await h.waitFor(active.body.id, (s) => s.status === 'rejected');
  await handle.trigger();
  const made = Date.now() + 60_000;
  while ((await pipelineRows()) < 2 && Date.now() < made) await new Promise((r) => setTimeout(r, 200));
  expect(await pipelineRows()).toBe(2);
}, 180_000);
