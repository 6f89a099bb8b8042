// GET /v1/pipelines/{id}/timeline through the whole stack (API, worker, Temporal, PostgreSQL, the X imitation server):
// a dry run's stages in order; a pipeline that fails because X revoked its token shows, in its state, its publication,
// its timeline and the pipeline.failed outbox row, the same code and a hint naming the account to reconnect; a
// retried saveState records nothing twice. The outbox and the timeline table are read with plain SQL, not Herald code.
import { MockActivityEnvironment } from '@temporalio/testing';
import { createSaveState } from '../../../../src/activities/save-state';
import { createPipelineRepository } from '../../../../src/db/pipelines-repo';
import { startXFake, type XFake } from '../../../fakes/x-server';
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

jest.setTimeout(180_000);

let h: Harness;
let x: XFake;

beforeAll(async () => {
  x = await startXFake({ clientId: 'herald-timeline-client' });
  h = await startHarness({ env: { X_API_BASE_URL: x.url, X_CLIENT_ID: 'herald-timeline-client', TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card' } });
});
afterAll(async () => {
  await h?.stop();
  await x?.close();
});

const terminal = ['published', 'partially_published', 'failed', 'rejected', 'cancelled', 'expired'];

async function outbox(pipelineId: string) {
  const { rows } = await h.pool.query<{ id: string; type: string; tenant_id: string; data: any }>(
    `SELECT id, type, tenant_id, data FROM lifecycle_events WHERE data->>'pipelineId' = $1 ORDER BY created_at, id`,
    [pipelineId],
  );
  return rows;
}
async function timelineRows(pipelineId: string) {
  const { rows } = await h.pool.query<{ key: string; type: string }>('SELECT key, type FROM pipeline_timeline WHERE pipeline_id = $1 ORDER BY seq', [pipelineId]);
  return rows;
}

it("a dry run's timeline has its stages in order, the text provider, each preview; another tenant gets 404", async () => {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ image: { mode: 'none' } }));
  expect(res.status).toBe(202);
  const id = res.body.id;
  const done = await h.waitFor(id, (s) => terminal.includes(s.status), { timeoutMs: 90_000 });
  expect(done.status).toBe('published');

  const t = await h.api('GET', `/v1/pipelines/${id}/timeline`);
  expect(t.status).toBe(200);
  expect(t.body.pipelineId).toBe(id);
  const events = t.body.events as any[];
  expect(events.filter((e) => e.type === 'stage').map((e) => [e.from, e.to])).toEqual([
    [null, 'queued'],
    ['queued', 'generating'],
    ['generating', 'illustrating'],
    ['illustrating', 'adapting'],
    ['adapting', 'publishing'],
    ['publishing', 'published'],
  ]);
  expect(events.find((e) => e.type === 'provider_used')).toMatchObject({ stage: 'text', provider: 'offline' });
  expect(events.filter((e) => e.type === 'publication_attempt').map((e) => [e.platform, e.status]).sort()).toEqual([
    ['linkedin', 'previewed'],
    ['x', 'previewed'],
  ]);
  // Oldest first, every event named by a stable id.
  const times = events.map((e) => Date.parse(e.at));
  expect(times).toEqual([...times].sort((a, b) => a - b));
  expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  expect(events.every((e) => e.pipelineId === id)).toBe(true);

  const asB = await h.api('GET', `/v1/pipelines/${id}/timeline`, undefined, { key: h.keys.b });
  expect(asB.status).toBe(404);
  expect(asB.body).toEqual({ error: { code: 'not_found', message: expect.any(String), details: expect.anything() } });
  expect(JSON.stringify(asB.body)).not.toContain('previewed');
  expect((await h.api('GET', '/v1/pipelines/pl_does_not_exist/timeline')).status).toBe(404);

  const sent = await outbox(id);
  expect(sent.map((e) => e.type)).toEqual(['pipeline.published']);
  expect(sent[0]).toMatchObject({ id: `evt_pipeline:${id}:published`, tenant_id: h.tenants.a });
});

async function connectX() {
  const tokens = x.issueTokens();
  const handle = `timeline_${Math.random().toString(36).slice(2, 8)}`;
  const acc = await h.api('POST', '/v1/accounts', {
    platform: 'x',
    handle,
    credentials: { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken },
    settings: { userId: x.user.id, username: x.user.username },
    expiresAt: new Date(Date.now() + 60 * 60_000).toISOString(),
  });
  expect(acc.status).toBe(201);
  return { accountId: acc.body.id as string, handle, tokens };
}

it('an account already reauth_required: the pipeline fails with a hint naming it, in the state and the pipeline.failed row', async () => {
  const { accountId, handle } = await connectX();
  x.revoke();
  expect((await h.api('POST', `/v1/accounts/${accountId}/refresh`)).status).toBe(409);
  expect((await h.api('GET', `/v1/accounts/${accountId}`)).body.status).toBe('reauth_required');
  const res = await h.api('POST', '/v1/pipelines', { topic: `Needs reauth ${Date.now()}`, targets: [{ platform: 'x', accountId }], image: { mode: 'none' } });
  const done = await h.waitFor(res.body.id, (s) => terminal.includes(s.status), { timeoutMs: 90_000 });
  expect(done.status).toBe('failed');
  const hint = `Reconnect the X account @${handle} (id ${accountId}): its token was revoked or has expired, so Herald cannot post with it. Then start the pipeline again.`;
  expect(done.publications[0].error).toEqual({ code: 'ReauthRequired', message: expect.stringContaining('reauth_required'), hint });
  expect(done.error).toEqual({ code: 'ReauthRequired', message: expect.any(String), hint });
  const failed = (await outbox(res.body.id)).find((e) => e.type === 'pipeline.failed');
  expect(failed?.data.error).toEqual({ code: 'ReauthRequired', message: done.error.message, hint });
});

it('a publish refused with a revoked token: state, publication, timeline and pipeline.failed carry the same code and a hint naming the account', async () => {
  const { accountId, handle, tokens } = await connectX();
  const posted = x.posts.length;
  x.revoke(); // X now answers 401 to the stored token and invalid_grant to its refresh token

  const res = await h.api('POST', '/v1/pipelines', { topic: `Revoked ${Date.now()}`, targets: [{ platform: 'x', accountId }], image: { mode: 'none' } });
  expect(res.status).toBe(202);
  const id = res.body.id;
  const done = await h.waitFor(id, (s) => terminal.includes(s.status), { timeoutMs: 90_000 });

  // The fault landed: the refresh after X's 401 was refused (invalid_grant) and nothing was posted.
  expect(x.posts.length).toBe(posted);
  expect(x.requests.some((r) => r.path === '/2/oauth2/token' && (r.body as Record<string, string>).refresh_token === tokens.refreshToken)).toBe(true);

  expect(done.status).toBe('failed');
  const pub = done.publications[0].error;
  expect(pub).toEqual({ code: 'ReauthRequired', message: expect.any(String), hint: expect.any(String) });
  expect(pub.hint).toContain(`@${handle}`);
  expect(pub.hint).toContain(accountId);
  expect(pub.hint).toMatch(/^Reconnect the X account /);
  expect(done.error).toEqual({ code: 'ReauthRequired', message: expect.any(String), hint: pub.hint });

  const events = (await h.api('GET', `/v1/pipelines/${id}/timeline`)).body.events as any[];
  const failedAttempt = events.find((e) => e.type === 'publication_attempt');
  expect(failedAttempt).toMatchObject({ platform: 'x', accountId, status: 'failed', error: { code: 'ReauthRequired', hint: pub.hint } });
  expect(events.find((e) => e.type === 'error')).toMatchObject({ code: 'ReauthRequired', hint: pub.hint });
  expect(events.at(-1)).toMatchObject({ type: 'stage', from: 'publishing', to: 'failed' });

  const sent = await outbox(id);
  expect(sent.map((e) => e.type)).toEqual(['publication.failed', 'pipeline.failed']);
  const failed = sent.find((e) => e.type === 'pipeline.failed')!;
  expect(failed.id).toBe(`evt_pipeline:${id}:failed`);
  expect(failed.data).toMatchObject({ pipelineId: id, status: 'failed', error: { code: 'ReauthRequired', hint: pub.hint } });
  expect(sent[0].data).toMatchObject({ pipelineId: id, platform: 'x', accountId, status: 'failed', error: { code: 'ReauthRequired', hint: pub.hint } });
});

it('a saveState retried with the same state adds no timeline or outbox row', async () => {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ image: { mode: 'none' }, targets: [{ platform: 'x' }] }));
  const id = res.body.id;
  await h.waitFor(id, (s) => terminal.includes(s.status), { timeoutMs: 90_000 });
  const { rows } = await h.pool.query('SELECT state FROM pipelines WHERE id = $1', [id]);
  const stored = rows[0].state;
  // A change that means a stage, an error and a terminal lifecycle event.
  const next = {
    ...stored,
    status: 'cancelled',
    version: stored.version + 1,
    updatedAt: new Date().toISOString(),
    error: { code: 'cancelled', message: 'cancelled by the test', hint: null },
  };
  const saveState = createSaveState({ pipelines: createPipelineRepository(h.pool) });
  const env = new MockActivityEnvironment();
  const before = { timeline: (await timelineRows(id)).length, outbox: (await outbox(id)).length };

  await env.run(saveState, { state: next });
  const once = { timeline: await timelineRows(id), outbox: await outbox(id) };
  expect(once.timeline.length - before.timeline).toBe(2);
  expect(once.timeline.slice(-2).map((r) => r.type)).toEqual(['error', 'stage']);
  expect(once.outbox.length - before.outbox).toBe(1);
  expect(once.outbox.at(-1)).toMatchObject({ id: `evt_pipeline:${id}:cancelled`, type: 'pipeline.cancelled' });

  await env.run(saveState, { state: next });
  expect(await timelineRows(id)).toEqual(once.timeline);
  expect(await outbox(id)).toEqual(once.outbox);

  // Even with the version guard out of the way (a write redone after its commit was not heard), the ids hold.
  await h.pool.query('UPDATE pipelines SET version = $2, state = $3 WHERE id = $1', [id, stored.version, stored]);
  await env.run(saveState, { state: next });
  expect(await timelineRows(id)).toEqual(once.timeline);
  expect(await outbox(id)).toEqual(once.outbox);
  expect((await h.api('GET', `/v1/pipelines/${id}`)).body.status).toBe('cancelled');
});
