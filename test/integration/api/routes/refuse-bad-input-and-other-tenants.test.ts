import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ error: { code, message: expect.any(String), details: expect.any(Array) } });
}

describe('bad input gets a clear 4xx in the contract shape, never a 500', () => {
  it.each([
    ['invalid JSON', { raw: '{"topic": "x", ' }, 400, 'validation_failed', /JSON/],
    ['a wrong type', { body: dryRunRequest({ topic: 42 }) }, 400, 'validation_failed', /topic/],
    ['an unknown platform', { body: dryRunRequest({ targets: [{ platform: 'myspace' }] }) }, 400, 'validation_failed', /platform/],
    ['empty targets', { body: dryRunRequest({ targets: [] }) }, 400, 'validation_failed', /targets/],
    ['publishAt in the past', { body: dryRunRequest({ publishAt: '2020-01-01T00:00:00Z' }) }, 400, 'validation_failed', /past/],
    ['publishAt without a zone', { body: dryRunRequest({ publishAt: '2030-01-01T00:00:00' }) }, 400, 'validation_failed', /publishAt/],
    ['a missing accountId outside a dry run', { body: dryRunRequest({ dryRun: false }) }, 400, 'validation_failed', /accountId/],
    ['an unknown field', { body: dryRunRequest({ tagets: [] }) }, 400, 'validation_failed', /tagets|unrecognized/i],
    ['a bad approval timeout', { body: dryRunRequest({ approval: { required: true, timeout: 'soon' } }) }, 400, 'validation_failed', /timeout/],
    ['an unknown account', { body: dryRunRequest({ dryRun: false, targets: [{ platform: 'slack', accountId: 'acc_nope' }] }) }, 400, 'validation_failed', /acc_nope/],
  ])('%s', async (_name, input: any, status, code, message) => {
    const res = await h.api('POST', '/v1/pipelines', input.body, input.raw ? { raw: input.raw } : {});
    expectError(res, status, code);
    expect(res.body.error.message).toMatch(message);
  });

  it('a 2 MB body is 413 payload_too_large', async () => {
    const res = await h.api('POST', '/v1/pipelines', undefined, { raw: JSON.stringify({ ...dryRunRequest(), brief: 'x'.repeat(2 * 1024 * 1024) }) });
    expectError(res, 413, 'payload_too_large');
  });

  it.each([
    ['limit=0', /limit/],
    ['limit=101', /limit/],
    ['limit=abc', /limit/],
    ['cursor=not-a-cursor', /cursor/],
    ['status=done', /status/],
  ])('listing with %s is 400', async (qs, message) => {
    const res = await h.api('GET', `/v1/pipelines?${qs}`);
    expectError(res, 400, 'validation_failed');
    expect(res.body.error.message).toMatch(message);
  });

  it('a missing or wrong key is 401', async () => {
    expectError(await h.api('GET', '/v1/pipelines', undefined, { key: null }), 401, 'unauthorized');
    expectError(await h.api('GET', '/v1/pipelines', undefined, { key: 'nope' }), 401, 'unauthorized');
  });

  it('an unknown pipeline is 404, an unknown route is 404', async () => {
    expectError(await h.api('GET', '/v1/pipelines/pl_doesnotexist'), 404, 'not_found');
    expectError(await h.api('GET', '/v1/nothing-here'), 404, 'not_found');
  });

  it('approving a pipeline that is not awaiting approval is 409', async () => {
    const res = await h.api('POST', '/v1/pipelines', dryRunRequest());
    await h.waitFor(res.body.id, (s) => s.status === 'published');
    expectError(await h.api('POST', `/v1/pipelines/${res.body.id}/approve`, {}), 409, 'conflict');
  });
});

describe('idempotency keys', () => {
  it('the same key and body returns the same pipeline with 200; another body is 422', async () => {
    const body = dryRunRequest({ topic: 'Idempotent topic' });
    const first = await h.api('POST', '/v1/pipelines', body, { headers: { 'idempotency-key': 'same-key-1' } });
    expect(first.status).toBe(202);
    const again = await h.api('POST', '/v1/pipelines', body, { headers: { 'idempotency-key': 'same-key-1' } });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const other = await h.api('POST', '/v1/pipelines', { ...body, topic: 'Something else' }, { headers: { 'idempotency-key': 'same-key-1' } });
    expectError(other, 422, 'unprocessable');
    // Another tenant may use the same key for its own pipeline.
    const theirs = await h.api('POST', '/v1/pipelines', body, { key: h.keys.b, headers: { 'idempotency-key': 'same-key-1' } });
    expect(theirs.status).toBe(202);
    expect(theirs.body.id).not.toBe(first.body.id);
  });

  it('a replay that finds the pipeline looking unstarted starts it at most once: an ended run is not run again', async () => {
    const body = dryRunRequest({ topic: 'Ended before its replay' });
    const headers = { 'idempotency-key': 'ended-key-1' };
    const first = await h.api('POST', '/v1/pipelines', body, { headers });
    expect(first.status).toBe(202);
    const handle = h.client.workflow.getHandle(`pipeline-${h.tenants.a}-${first.body.id}`);
    await handle.result();
    const ended = await handle.describe();
    expect(ended.status.name).toBe('COMPLETED');
    // As if the first attempt had stored the row and died before its start was seen: the replay starts it again.
    await h.pool.query(`UPDATE pipelines SET state = jsonb_set(state, '{version}', '0') WHERE id = $1`, [first.body.id]);
    const again = await h.api('POST', '/v1/pipelines', body, { headers });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const latest = await handle.describe();
    expect(latest.runId).toBe(ended.runId);
    expect(latest.status.name).toBe('COMPLETED');
  });
});

describe('two tenants never see, list, approve or cancel each other', () => {
  it('isolates every route', async () => {
    const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true } }), { key: h.keys.a });
    const id = res.body.id;
    await h.waitFor(id, (s) => s.status === 'awaiting_approval');
    const asB = { key: h.keys.b };
    expectError(await h.api('GET', `/v1/pipelines/${id}`, undefined, asB), 404, 'not_found');
    expectError(await h.api('POST', `/v1/pipelines/${id}/approve`, {}, asB), 404, 'not_found');
    expectError(await h.api('POST', `/v1/pipelines/${id}/reject`, { reason: 'x' }, asB), 404, 'not_found');
    expectError(await h.api('POST', `/v1/pipelines/${id}/cancel`, undefined, asB), 404, 'not_found');
    expectError(await h.api('PUT', `/v1/pipelines/${id}/publish-at`, { publishAt: new Date(Date.now() + 60_000).toISOString() }, asB), 404, 'not_found');
    const listB = await h.api('GET', '/v1/pipelines?limit=100', undefined, asB);
    expect(listB.body.items.map((p: any) => p.id)).not.toContain(id);
    const listA = await h.api('GET', '/v1/pipelines?limit=100');
    expect(listA.body.items.map((p: any) => p.id)).toContain(id);
    // Still waiting for tenant A's own decision.
    expect((await h.api('GET', `/v1/pipelines/${id}`)).body.status).toBe('awaiting_approval');
    expect((await h.api('POST', `/v1/pipelines/${id}/reject`, { reason: 'cleanup' })).status).toBe(200);
  });
});

describe('listing', () => {
  it('pages newest first with a cursor and filters by status and platform', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic: `Paging ${i}`, targets: [{ platform: 'mastodon' }] }), { key: h.keys.b });
      ids.push(res.body.id);
    }
    const page1 = await h.api('GET', '/v1/pipelines?limit=2&platform=mastodon', undefined, { key: h.keys.b });
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((p: any) => p.id)).toEqual([ids[2], ids[1]]);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await h.api('GET', `/v1/pipelines?limit=2&platform=mastodon&cursor=${page1.body.nextCursor}`, undefined, { key: h.keys.b });
    expect(page2.body.items.map((p: any) => p.id)).toEqual([ids[0]]);
    expect(page2.body.nextCursor).toBeNull();
    for (const id of ids) await h.waitFor(id, (s) => s.status === 'published', { key: h.keys.b });
    const published = await h.api('GET', '/v1/pipelines?status=published&platform=mastodon&limit=100', undefined, { key: h.keys.b });
    expect(published.body.items.every((p: any) => p.status === 'published')).toBe(true);
  });
});

describe('operational routes', () => {
  it('health, ready, metrics, openapi and docs answer', async () => {
    expect((await h.api('GET', '/health', undefined, { key: null })).status).toBe(200);
    const ready = await h.api('GET', '/ready', undefined, { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body.checks.map((c: any) => c.name)).toEqual(['postgresql', 'temporal', 'worker']);
    const metrics = await fetch(`${h.baseUrl}/metrics`);
    expect(await metrics.text()).toContain('herald_http_requests_total');
    const spec = await h.api('GET', '/openapi.json', undefined, { key: null });
    expect(spec.body.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.body.paths)).toContain('/v1/pipelines');
    expect((await fetch(`${h.baseUrl}/docs`, { redirect: 'follow' })).status).toBe(200);
  });

  it('ready is 503 naming the worker when no worker polls', async () => {
    const lonely = await startHarness({ withWorker: false });
    try {
      const ready = await lonely.api('GET', '/ready', undefined, { key: null });
      expect(ready.status).toBe(503);
      expect(ready.body.checks.find((c: any) => c.name === 'worker').ok).toBe(false);
    } finally {
      await lonely.stop();
    }
  });
});

describe('no malformed request body produces a 500', () => {
  const WRONG = [null, 0, -1, 'text', '', true, [], {}, [null], [{}], { platform: 'x' }];
  const FIELDS = ['topic', 'brief', 'voice', 'audience', 'format', 'targets', 'image', 'publishAt', 'approval', 'priority', 'dryRun'];
  it('answers 4xx in the contract shape for every field given every wrong type', async () => {
    const failures: string[] = [];
    for (const field of FIELDS) {
      for (const value of WRONG) {
        for (const base of [dryRunRequest(), dryRunRequest({ approval: { required: true, timeout: 'x' } })]) {
          const res = await h.api('POST', '/v1/pipelines', { ...base, [field]: value });
          if (res.status === 202) continue; // some values are valid (e.g. brief "text")
          if (res.status >= 500 || !res.body?.error?.code) failures.push(`${field}=${JSON.stringify(value)} -> ${res.status}`);
        }
      }
    }
    for (const body of ['null', '[]', '"str"', '42', '{"targets": [1, 2]}', '{"targets": "x", "dryRun": "yes"}']) {
      const res = await h.api('POST', '/v1/pipelines', undefined, { raw: body });
      if (res.status >= 500 || !res.body?.error?.code) failures.push(`${body} -> ${res.status}`);
    }
    expect(failures).toEqual([]);
  });
});
