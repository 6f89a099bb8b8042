// GET /v1/pipelines answers summaries (PipelineSummary): each pipeline's state without images, variants, the content's
// body, hashtags, usage and skipped providers, publication previews and the brief, read from the list_item column a
// trigger keeps beside the state (migration 010). What the console's plan list and calendar and `herald list` read is
// there at the same paths as in the full state; `view=full` still gives every stored field; paging is the same.
import { randomBytes } from 'node:crypto';
import { createHeraldClient, type HeraldClient } from '../../../../src/client';
import { createOutput } from '../../../../src/cli/output';
import { pipelineTable } from '../../../../src/cli/render';
import { createPipelineRepository } from '../../../../src/db/pipelines-repo';
import type { PipelineState } from '../../../../src/domain/types';
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

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
async function stored(id: string): Promise<Record<string, any>> {
  const row = await createPipelineRepository(h.pool).get(h.tenants.a, id);
  const { tenantId: _t, version: _v, ...visible } = JSON.parse(JSON.stringify(row!.state)) as PipelineState;
  return visible;
}

/** What the summary should be: the stored state without the heavy parts, nothing else changed. */
function summaryOf(state: Record<string, any>): Record<string, any> {
  const { images: _i, variants: _v, ...rest } = state;
  const { brief: _b, ...request } = state.request;
  const content = state.content && (({ body: _body, hashtags: _h, usage: _u, skipped: _s, ...c }) => c)(state.content);
  const publications = state.publications.map(({ preview: _p, ...p }: Record<string, unknown>) => p);
  return { ...rest, request, content, publications };
}

const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();

it('list items carry what the plan, the calendar and `herald list` read; view=full gives the whole state; the cursor pages both alike', async () => {
  const published = await herald.POST('/v1/pipelines', { body: dryRunRequest({ format: 'thread', targets: [{ platform: 'x' }, { platform: 'linkedin' }, { platform: 'mastodon' }] }) as never });
  const waiting = await herald.POST('/v1/pipelines', { body: dryRunRequest({ topic: 'Planned for later', approval: { required: true }, publishAt: inAnHour() }) as never });
  expect([published.response.status, waiting.response.status]).toEqual([202, 202]);
  const [a, b] = [published.data!.id, waiting.data!.id];
  await h.waitFor(a, (s) => s.status === 'published');
  await h.waitFor(b, (s) => s.status === 'awaiting_approval');

  const list = await herald.GET('/v1/pipelines', { params: { query: { limit: 10 } } });
  expect(list.response.status).toBe(200);
  expect(list.data!.view).toBe('summary');
  for (const id of [a, b]) {
    const item = list.data!.items.find((p) => p.id === id)!;
    const { links, ...shown } = item as typeof item & Record<string, unknown>;
    const state = await stored(id);
    // The trigger wrote the summary on every state save: this is the latest state, not the one inserted at creation.
    expect(shown).toEqual(summaryOf(state));
    expect(links).toEqual({ self: `/v1/pipelines/${id}`, events: `/v1/pipelines/${id}/events`, timeline: `/v1/pipelines/${id}/timeline`, temporal: expect.stringContaining(id) });
    for (const heavy of ['images', 'variants']) expect(item).not.toHaveProperty(heavy);
    expect(item.request).not.toHaveProperty('brief');
    for (const p of item.publications) expect(p).not.toHaveProperty('preview');
  }
  // What the console (plan list, calendar, reschedule and cancel dialogs) and `herald list` read, by name.
  const pa = list.data!.items.find((p) => p.id === a)!;
  expect(pa).toMatchObject({ status: 'published', publishAt: null, error: null, request: { topic: expect.any(String), dryRun: true, targets: [{ platform: 'x' }, { platform: 'linkedin' }, { platform: 'mastodon' }] } });
  expect(pa.content!.title).toEqual(expect.any(String));
  expect(Date.parse(pa.createdAt)).not.toBeNaN();
  expect(pa.publications.map((p) => [p.platform, p.status])).toEqual([['x', 'previewed'], ['linkedin', 'previewed'], ['mastodon', 'previewed']]);
  for (const p of pa.publications) expect(Object.keys(p).sort()).toEqual(['accountId', 'attempts', 'error', 'externalId', 'platform', 'publishedAt', 'retryAt', 'status', 'url']);
  const pb = list.data!.items.find((p) => p.id === b)!;
  expect(pb).toMatchObject({ status: 'awaiting_approval', request: { topic: 'Planned for later' } });
  expect(Date.parse(pb.publishAt!)).toBeGreaterThan(Date.now());
  // `herald list` prints them from the summaries: id, status, created, targets, publish time, title.
  const rows = pipelineTable(createOutput({ json: false, color: false }), [pa, pb]);
  expect(rows[1]).toContain(a);
  expect(rows[1]).toContain('x,linkedin,mastodon');
  expect(rows[1]).toContain(pa.content!.title.slice(0, 20));
  expect(rows[2]).toContain(`at ${pb.publishAt}`);

  const full = await herald.GET('/v1/pipelines', { params: { query: { limit: 10, view: 'full' } } });
  expect(full.response.status).toBe(200);
  expect(full.data!.view).toBe('full');
  for (const id of [a, b]) {
    const { links: _links, ...shown } = full.data!.items.find((p) => p.id === id)! as Record<string, unknown>;
    expect(shown).toEqual(await stored(id));
  }
  const fa = full.data!.items.find((p) => p.id === a)! as unknown as { images: unknown[]; variants: unknown[]; publications: { preview?: unknown }[] };
  expect(fa.variants.length).toBe(3);
  expect(fa.publications.every((p) => p.preview !== undefined)).toBe(true);
  // The point of it: a summary is a fraction of the state.
  expect(JSON.stringify(pa).length * 3).toBeLessThan(JSON.stringify(fa).length);

  // One at a time through the cursor, both views list the same pipelines in the same order; filters apply alike.
  const walk = async (view: 'summary' | 'full', status?: 'published') => {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = await herald.GET('/v1/pipelines', { params: { query: { limit: 1, view, status, cursor } } });
      expect(page.response.status).toBe(200);
      ids.push(...page.data!.items.map((p) => p.id));
      if (!page.data!.nextCursor) return ids;
      cursor = page.data!.nextCursor;
    }
    throw new Error('more pages than pipelines');
  };
  const summaries = await walk('summary');
  expect(summaries).toEqual(expect.arrayContaining([a, b]));
  expect(summaries.indexOf(b)).toBeLessThan(summaries.indexOf(a)); // newest first
  expect(await walk('full')).toEqual(summaries);
  expect(await walk('summary', 'published')).toEqual(expect.arrayContaining([a]));
  expect(await walk('summary', 'published')).not.toContain(b);

  const bad = await h.api('GET', '/v1/pipelines?view=everything');
  expect(bad.status).toBe(400);
  expect(bad.body.error.code).toBe('validation_failed');
  expect(bad.body.error.details.map((d: { path: string }) => d.path)).toContain('querystring.view');
});

it('a state stored by an earlier version, and a row whose summary is missing, are listed in today\'s shape', async () => {
  const pipelines = createPipelineRepository(h.pool);
  const id = `pl_${randomBytes(10).toString('hex')}`;
  const now = new Date(Date.now() + 60_000).toISOString(); // the newest, so it is on the first page
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

  const shown = async () => {
    const list = await herald.GET('/v1/pipelines', { params: { query: { limit: 5 } } });
    expect(list.response.status).toBe(200);
    return list.data!.items.find((p) => p.id === id)!;
  };
  const first = await shown();
  expect(first.error).toEqual({ code: 'Permanent', message: 'every publication failed', hint: null });
  expect(first.publications[0].error).toEqual({ code: expect.any(String), message: 'Permanent: bad_body', hint: null });
  expect(first.request).not.toHaveProperty('brief');

  // A row written before migration 010's backfill reached it (or by anything that skipped the trigger): computed on read.
  const { rowCount } = await h.pool.query('UPDATE pipelines SET list_item = NULL WHERE id = $1', [id]);
  expect(rowCount).toBe(1);
  expect(await shown()).toEqual(first);
  expect((await h.pool.query('SELECT list_item FROM pipelines WHERE id = $1', [id])).rows[0].list_item).toBeNull();
});
