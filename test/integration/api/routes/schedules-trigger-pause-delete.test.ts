import { ScheduleNotFoundError } from '@temporalio/client';
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

let h: Harness;
const created: { id: string; key: string }[] = [];
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  // Leave no Schedule ticking on the shared dev server.
  for (const s of created) await h?.api('DELETE', `/v1/schedules/${s.id}`, undefined, { key: s.key }).catch(() => undefined);
  await h?.stop();
});

function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ error: { code, message: expect.any(String), details: expect.any(Array) } });
}

async function createSchedule(body: Record<string, unknown>, key = h.keys.a) {
  const res = await h.api('POST', '/v1/schedules', body, { key });
  expect(res.status).toBe(201);
  created.push({ id: res.body.id, key });
  return res.body;
}

const temporalIdOf = (tenantId: string, id: string) => `herald-schedule-${tenantId}-${id}`;

/** Polls the pipeline list until a pipeline with this topic shows up. */
async function pipelineWithTopic(topic: string, timeoutMs = 30_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await h.api('GET', '/v1/pipelines?limit=100');
    const hit = res.body.items.find((p: any) => p.request.topic === topic);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no pipeline with topic "${topic}" appeared`);
}

describe('a schedule run', () => {
  it('triggered now, starts a new pipeline that shows in GET /v1/pipelines and reaches published', async () => {
    const topic = `Scheduled topic ${Date.now()}`;
    const schedule = await createSchedule({ every: '1h', pipeline: dryRunRequest({ topic, targets: [{ platform: 'x' }] }) });
    expect(schedule).toEqual({
      id: expect.stringMatching(/^sc_/),
      every: '1h',
      timezone: 'UTC',
      pipeline: expect.objectContaining({ topic, dryRun: true, format: 'post', priority: 'normal', targets: [{ platform: 'x' }] }),
      paused: false,
      nextRunAt: expect.any(String),
      lastRunAt: null,
      recentRuns: [],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      links: { self: `/v1/schedules/${schedule.id}`, temporal: expect.stringContaining(temporalIdOf(h.tenants.a, schedule.id)) },
    });
    expect(Date.parse(schedule.nextRunAt)).toBeGreaterThan(Date.now());
    expect(Date.parse(schedule.nextRunAt)).toBeLessThanOrEqual(Date.now() + 3_600_000 + 5_000);

    await h.client.schedule.getHandle(temporalIdOf(h.tenants.a, schedule.id)).trigger();
    const pipeline = await pipelineWithTopic(topic);
    const done = await h.waitFor(pipeline.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status));
    expect(done.status).toBe('published');
    expect(done.publications).toEqual([expect.objectContaining({ platform: 'x', status: 'previewed' })]);

    // The list shows the run and the pipeline it made; the run itself returned that pipeline id and ended.
    const list = await h.api('GET', '/v1/schedules');
    const mine = list.body.items.find((s: any) => s.id === schedule.id);
    expect(mine.lastRunAt).toEqual(expect.any(String));
    expect(mine.recentRuns).toEqual([{ runAt: mine.lastRunAt, pipelineId: pipeline.id }]);
    const desc = await h.client.schedule.getHandle(temporalIdOf(h.tenants.a, schedule.id)).describe();
    const runWorkflowId = desc.info.recentActions[0].action.workflow.workflowId;
    expect(await h.client.workflow.getHandle(runWorkflowId).result()).toBe(pipeline.id);
    // Exactly one pipeline per run.
    const all = await h.api('GET', '/v1/pipelines?limit=100');
    expect(all.body.items.filter((p: any) => p.request.topic === topic)).toHaveLength(1);
  });
});

describe('how a run starts its pipeline', () => {
  it('as POST /v1/pipelines does: task queue, search attributes, priority with the tenant as fairness key, memo', async () => {
    const topic = `Start options ${Date.now()}`;
    const request = dryRunRequest({ topic, priority: 'high', targets: [{ platform: 'x' }, { platform: 'mastodon' }] });
    const schedule = await createSchedule({ every: '1h', pipeline: request });
    await h.client.schedule.getHandle(temporalIdOf(h.tenants.a, schedule.id)).trigger();
    const scheduled = await pipelineWithTopic(topic);
    const direct = await h.api('POST', '/v1/pipelines', request);
    expect(direct.status).toBe(202);
    for (const id of [scheduled.id, direct.body.id]) {
      const desc = await h.client.workflow.getHandle(`pipeline-${h.tenants.a}-${id}`).describe();
      expect(desc.type).toBe('contentPipeline');
      expect(desc.taskQueue).toBe(h.taskQueue);
      expect(desc.searchAttributes.HeraldTenant).toEqual([h.tenants.a]);
      expect(desc.searchAttributes.HeraldPlatforms).toEqual(['x', 'mastodon']);
      // 'high' is the second of four task-queue priorities (critical 1 ... low 4).
      expect(desc.priority).toMatchObject({ priorityKey: 2, fairnessKey: h.tenants.a });
      expect(desc.memo).toEqual({ tenantId: h.tenants.a });
      const done = await h.waitFor(id, (st) => ['published', 'failed', 'partially_published'].includes(st.status));
      expect(done.status).toBe('published');
    }
  });
});

describe('pause and unpause', () => {
  it('pause shows paused and no nextRunAt; unpause brings nextRunAt back; both are idempotent', async () => {
    const schedule = await createSchedule({ cron: '0 9 * * MON-FRI', timezone: 'Europe/Berlin', pipeline: dryRunRequest() });
    expect(schedule.cron).toBe('0 9 * * MON-FRI');
    expect(schedule).not.toHaveProperty('every');
    expect(schedule.timezone).toBe('Europe/Berlin');
    // 09:00 in Berlin is 07:00 or 08:00 UTC, on a weekday.
    const next = new Date(schedule.nextRunAt);
    expect([7, 8]).toContain(next.getUTCHours());
    expect(next.getUTCMinutes()).toBe(0);
    expect([1, 2, 3, 4, 5]).toContain(next.getUTCDay());

    for (let i = 0; i < 2; i++) {
      const paused = await h.api('POST', `/v1/schedules/${schedule.id}/pause`);
      expect(paused.status).toBe(200);
      expect(paused.body).toMatchObject({ id: schedule.id, paused: true, nextRunAt: null });
    }
    expect((await h.client.schedule.getHandle(temporalIdOf(h.tenants.a, schedule.id)).describe()).state.paused).toBe(true);
    const listed = (await h.api('GET', '/v1/schedules')).body.items.find((s: any) => s.id === schedule.id);
    expect(listed).toMatchObject({ paused: true, nextRunAt: null });

    for (let i = 0; i < 2; i++) {
      const resumed = await h.api('POST', `/v1/schedules/${schedule.id}/unpause`);
      expect(resumed.status).toBe(200);
      expect(resumed.body).toMatchObject({ id: schedule.id, paused: false, nextRunAt: schedule.nextRunAt });
    }
    expect((await h.client.schedule.getHandle(temporalIdOf(h.tenants.a, schedule.id)).describe()).state.paused).toBe(false);
  });
});

describe('delete', () => {
  it('removes it from the list and from Temporal; a pipeline it already started carries on', async () => {
    const topic = `Deleted schedule topic ${Date.now()}`;
    const schedule = await createSchedule({ every: '2h', pipeline: dryRunRequest({ topic, targets: [{ platform: 'mastodon' }] }) });
    const handle = h.client.schedule.getHandle(temporalIdOf(h.tenants.a, schedule.id));
    await handle.trigger();
    const pipeline = await pipelineWithTopic(topic);

    const del = await h.api('DELETE', `/v1/schedules/${schedule.id}`);
    expect(del.status).toBe(204);
    expect(del.body).toBeNull();
    const list = await h.api('GET', '/v1/schedules');
    expect(list.body.items.map((s: any) => s.id)).not.toContain(schedule.id);
    await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    expectError(await h.api('DELETE', `/v1/schedules/${schedule.id}`), 404, 'not_found');
    expectError(await h.api('POST', `/v1/schedules/${schedule.id}/pause`), 404, 'not_found');

    const done = await h.waitFor(pipeline.id, (s) => ['published', 'failed', 'partially_published', 'cancelled'].includes(s.status));
    expect(done.status).toBe('published');
  });
});

describe('tenancy', () => {
  it("another tenant gets 404 on pause, unpause and delete and does not see it in its list", async () => {
    const schedule = await createSchedule({ every: '1d', pipeline: dryRunRequest() });
    const asB = { key: h.keys.b };
    expectError(await h.api('POST', `/v1/schedules/${schedule.id}/pause`, undefined, asB), 404, 'not_found');
    expectError(await h.api('POST', `/v1/schedules/${schedule.id}/unpause`, undefined, asB), 404, 'not_found');
    expectError(await h.api('DELETE', `/v1/schedules/${schedule.id}`, undefined, asB), 404, 'not_found');
    const listB = await h.api('GET', '/v1/schedules', undefined, asB);
    expect(listB.status).toBe(200);
    expect(listB.body.items.map((s: any) => s.id)).not.toContain(schedule.id);
    // Untouched for its owner.
    // nextRunAt comes from Temporal's description of the schedule; on a busy machine a describe can miss the API's
    // per-call deadline, and the list then shows the row alone (nextRunAt null): read again until Temporal answers.
    let mine: any;
    for (const deadline = Date.now() + 30_000; ; ) {
      const listA = await h.api('GET', '/v1/schedules');
      mine = listA.body.items.find((s: any) => s.id === schedule.id);
      if (!mine || mine.nextRunAt !== null || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(mine).toMatchObject({ paused: false, nextRunAt: expect.any(String) });
    expectError(await h.api('POST', '/v1/schedules/sc_doesnotexist/pause'), 404, 'not_found');
  });

  it('is in the OpenAPI document', async () => {
    const doc = await h.api('GET', '/openapi.json', undefined, { key: null });
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/v1/schedules', '/v1/schedules/{id}/pause', '/v1/schedules/{id}/unpause', '/v1/schedules/{id}']));
  });

  it('needs an API key', async () => {
    expectError(await h.api('GET', '/v1/schedules', undefined, { key: null }), 401, 'unauthorized');
  });
});

describe('cron forms', () => {
  it.each([['*/15 * * * *'], ['0 9 * * 7'], ['0 0 1-7/2 JAN,jul SUN'], ['30 8 * * mon-fri'], ['@daily']])('Temporal accepts %s and gives a next run', async (cron) => {
    const schedule = await createSchedule({ cron, pipeline: dryRunRequest() });
    expect(schedule.cron).toBe(cron);
    expect(Date.parse(schedule.nextRunAt)).toBeGreaterThan(Date.now());
    expect((await h.api('DELETE', `/v1/schedules/${schedule.id}`)).status).toBe(204);
  });
});

describe('bad input is a 400 naming the field, never a 500', () => {
  const pipeline = dryRunRequest();
  it.each([
    ['a cron with 4 fields', { cron: '0 9 * *', pipeline }, /^cron: .*5 fields/],
    ['a cron minute out of range', { cron: '61 * * * *', pipeline }, /^cron: .*minute/],
    ['a cron with words', { cron: 'every monday', pipeline }, /^cron: /],
    ['a cron with a bad month name', { cron: '0 9 1 FOO *', pipeline }, /^cron: .*month/],
    ['a cron range backwards', { cron: '0 17-9 * * *', pipeline }, /^cron: .*hour/],
    ['an unknown time zone', { cron: '0 9 * * *', timezone: 'Mars/Olympus_Mons', pipeline }, /^timezone: .*Mars\/Olympus_Mons/],
    ['an offset as time zone', { cron: '0 9 * * *', timezone: '+01:00', pipeline }, /^timezone: /],
    ['both cron and every', { cron: '0 9 * * *', every: '1h', pipeline }, /^cron: .*not both/],
    ['neither cron nor every', { pipeline }, /^cron: .*cron or every/],
    ['every below a minute', { every: '30s', pipeline }, /^every: .*1m/],
    ['every that is not a duration', { every: 'hourly', pipeline }, /^every: /],
    ['publishAt inside the pipeline', { every: '1h', pipeline: dryRunRequest({ publishAt: new Date(Date.now() + 86_400_000).toISOString() }) }, /^pipeline\.publishAt: .*recurring/],
    ['a bad pipeline', { every: '1h', pipeline: dryRunRequest({ targets: [] }) }, /^pipeline\.targets: /],
    ['a missing pipeline', { every: '1h' }, /^pipeline: /],
    ['an unknown field', { every: '1h', pipeline, paused: true }, /paused|unrecognized/i],
    ['an unknown account outside a dry run', { every: '1h', pipeline: dryRunRequest({ dryRun: false, targets: [{ platform: 'slack', accountId: 'acc_nope' }] }) }, /^pipeline\.targets\[0\]\.accountId: .*acc_nope/],
  ])('%s', async (_name, body, message) => {
    const res = await h.api('POST', '/v1/schedules', body);
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.message).toMatch(message);
  });

  it('creates nothing for a refused request', async () => {
    const before = (await h.api('GET', '/v1/schedules')).body.items.length;
    await h.api('POST', '/v1/schedules', { cron: '99 * * * *', pipeline: dryRunRequest() });
    expect((await h.api('GET', '/v1/schedules')).body.items).toHaveLength(before);
  });
});
