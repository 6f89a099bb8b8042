// The response schemas also serialize the answers: a field they do not name would silently disappear, a value they do
// not accept would be a 500. Read through the typed client (src/client), every answer carries everything PostgreSQL
// holds: the stored pipeline state (but the tenant id and internal version), the account view, the provider snapshot;
// and a state stored by an earlier version (errors as plain text, no hints) is still shown.
import { randomBytes } from 'node:crypto';
import { createAccountRepository } from '../../../../src/db/accounts-repo';
import { createPipelineRepository } from '../../../../src/db/pipelines-repo';
import { createSecretBox } from '../../../../src/db/secret-box';
import { createHeraldClient, type HeraldClient } from '../../../../src/client';
import type { PipelineState } from '../../../../src/domain/types';
import { dryRunRequest, startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../../../helpers/harness';

let h: Harness;
let herald: HeraldClient;
beforeAll(async () => {
  h = await startHarness();
  herald = createHeraldClient({ baseUrl: h.baseUrl, apiKey: h.keys.a });
});
afterAll(async () => {
  await h?.stop();
});

/** The stored state, as JSON, without what the API never shows. */
async function stored(id: string): Promise<Record<string, unknown>> {
  const row = await createPipelineRepository(h.pool).get(h.tenants.a, id);
  const { tenantId: _t, version: _v, ...visible } = JSON.parse(JSON.stringify(row!.state)) as PipelineState;
  return visible;
}

it('a published dry run and an approved, edited pipeline: GET, the list and the event stream carry every stored field', async () => {
  const started = await herald.POST('/v1/pipelines', { body: dryRunRequest({ targets: [{ platform: 'x' }, { platform: 'linkedin' }, { platform: 'instagram' }] }) as never });
  expect(started.response.status).toBe(202);
  const approval = await herald.POST('/v1/pipelines', { body: dryRunRequest({ approval: { required: true } }) as never });
  const [a, b] = [started.data!.id, approval.data!.id];
  await h.waitFor(b, (s) => s.status === 'awaiting_approval');
  const approved = await herald.POST('/v1/pipelines/{id}/approve', { params: { path: { id: b } }, body: { edits: { title: 'A title a person wrote' } } });
  expect(approved.response.status).toBe(200);
  await h.waitFor(a, (s) => s.status === 'published');
  await h.waitFor(b, (s) => s.status === 'published');

  for (const id of [a, b]) {
    const { data, response } = await herald.GET('/v1/pipelines/{id}', { params: { path: { id } } });
    expect(response.status).toBe(200);
    const { links, ...shown } = data!;
    expect(shown).toEqual(await stored(id));
    expect(links).toEqual({ self: `/v1/pipelines/${id}`, events: `/v1/pipelines/${id}/events`, timeline: `/v1/pipelines/${id}/timeline`, temporal: expect.stringContaining(id) });
  }
  // What the test relies on is really there: fields with nested optional parts, and a person's decision.
  const b1 = await herald.GET('/v1/pipelines/{id}', { params: { path: { id: b } } });
  expect(b1.data!.approval).toMatchObject({ decision: 'approved', edited: true, by: 'api' });
  expect(b1.data!.content?.usage).toBeTruthy();
  const a1 = await herald.GET('/v1/pipelines/{id}', { params: { path: { id: a } } });
  expect(a1.data!.publications.every((p) => p.preview !== undefined)).toBe(true);
  expect(a1.data!.images.length).toBeGreaterThan(0);

  // The list's items are summaries (list-items-are-summaries-and-view-full-gives-the-state.test.ts); view=full is the whole state.
  const list = await herald.GET('/v1/pipelines', { params: { query: { limit: 10, view: 'full' } } });
  for (const id of [a, b]) {
    const { links: _links, ...shown } = list.data!.items.find((p) => p.id === id)! as Record<string, unknown>;
    expect(shown).toEqual(await stored(id));
  }

  const events = await fetch(`${h.baseUrl}/v1/pipelines/${a}/events`, { headers: { authorization: `Bearer ${h.keys.a}` } });
  const last = [...(await events.text()).matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1])).pop();
  const { links: _links, ...streamed } = last;
  expect(streamed).toEqual(await stored(a));
});

it('a state stored by an earlier version (errors as text, no hint) is shown in today\'s shape, not as a 500', async () => {
  const pipelines = createPipelineRepository(h.pool);
  const id = `pl_${randomBytes(10).toString('hex')}`;
  const now = new Date().toISOString();
  const request = { ...dryRunRequest(), image: { mode: 'none' }, priority: 'normal' } as PipelineState['request'];
  const old = {
    id,
    tenantId: h.tenants.a,
    status: 'failed',
    createdAt: now,
    updatedAt: now,
    request,
    content: null,
    images: [],
    variants: [],
    publications: [{ platform: 'x', accountId: null, status: 'failed', externalId: null, url: null, attempts: 3, error: 'Permanent: bad_body', retryAt: null, publishedAt: null }],
    publishAt: null,
    approval: null,
    error: { code: 'Permanent', message: 'every publication failed' },
    version: 7,
  } as unknown as PipelineState;
  await pipelines.insert({ id, tenantId: h.tenants.a, workflowId: `pipeline-${id}`, request, state: old, requestHash: 'old' });

  const { data, response } = await herald.GET('/v1/pipelines/{id}', { params: { path: { id } } });
  expect(response.status).toBe(200);
  expect(data!.error).toEqual({ code: 'Permanent', message: 'every publication failed', hint: null });
  expect(data!.publications[0].error).toEqual({ code: expect.any(String), message: 'Permanent: bad_body', hint: null });
});

it('accounts and providers carry every field their stores hold', async () => {
  const created = await herald.POST('/v1/accounts', {
    body: { platform: 'mastodon', handle: '@typed@example.social', credentials: { instanceUrl: 'https://example.social', accessToken: 'secret' }, settings: { visibility: 'public' }, expiresAt: '2030-01-01T00:00:00Z' },
  });
  expect(created.response.status).toBe(201);
  const accounts = createAccountRepository(h.pool, createSecretBox(TEST_ENCRYPTION_KEY));
  const view = JSON.parse(JSON.stringify(await accounts.get(h.tenants.a, created.data!.id)));
  expect(created.data).toEqual(view);
  expect((await herald.GET('/v1/accounts/{id}', { params: { path: { id: view.id } } })).data).toEqual(view);
  expect((await herald.GET('/v1/accounts')).data!.items).toContainEqual(view);
  expect(JSON.stringify(created.data)).not.toContain('secret');

  const providers = await herald.GET('/v1/providers');
  expect(providers.response.status).toBe(200);
  const snapshot = JSON.parse(JSON.stringify(await h.resilience.snapshot()));
  expect(providers.data!.items.map((p) => p.provider)).toEqual(snapshot.map((p: { provider: string }) => p.provider));
  // Every field the snapshot has is in the answer (values such as cache counts move between the two reads).
  const keys = (o: unknown): string[] =>
    o && typeof o === 'object' ? Object.entries(o).flatMap(([k, v]) => [k, ...keys(v).map((s) => `${k}.${s}`)]) : [];
  expect(keys(providers.data!.items).sort()).toEqual(keys(snapshot).sort());
});

it('no answer of this file lost a field to its schema (the serializer logs any it drops)', () => {
  expect(h.logs.filter((line) => line.includes('response fields dropped'))).toEqual([]);
});
