// GET /v1/pipelines keeps each summary's JSON text until its row changes (src/api/summary-cache.ts) and sends the page
// as text, instead of presenting, zod-encoding and stringifying every item of every page on the API's event loop.
// What a client reads must not change: every page here, whatever its filter or cursor, is compared byte for byte with
// what the usual path (presentListItem, then the response schema, then JSON.stringify) writes for the same rows, on
// the first read, on the next (from the kept texts), and after rows changed by the workflow's save and by plain SQL.
// The states cover what stored states hold: optional fields there or not, fields the schema does not name (left out,
// and the log says so as before), errors in every shape readErrorInfo reads, JSON escapes, empty arrays, a workflow id
// encodeURIComponent changes, another tenant's rows.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { presentListItem } from '../../../../src/api/present-list';
import { pipelinePageView } from '../../../../src/api/schemas/pipeline-view';
import { createPipelineRepository, type ListFilter } from '../../../../src/db/pipelines-repo';
import type { PipelineState } from '../../../../src/domain/types';
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ withWorker: false });
});
afterAll(async () => {
  await h?.stop();
});

const base = Date.parse('2031-05-01T10:00:00.000Z');
const publication = (platform: string, extra: Record<string, unknown> = {}) => ({
  platform,
  accountId: null,
  status: 'previewed',
  externalId: null,
  url: null,
  attempts: 1,
  error: null,
  retryAt: null,
  publishedAt: '2031-05-01T10:00:05.000Z',
  preview: { method: 'POST', body: { text: 'x' } },
  ...extra,
});

/** Stored states of every shape the list meets. */
function states(tenantId: string): { state: Record<string, unknown>; workflowId?: string }[] {
  const request = { ...dryRunRequest({ format: 'thread', targets: [{ platform: 'x' }, { platform: 'linkedin', accountId: 'acc_1' }] }), image: { mode: 'auto' }, priority: 'normal' };
  const published = {
    tenantId,
    status: 'published',
    request: { ...request, brief: 'a long brief', voice: 'plain', audience: 'devs' },
    content: { title: 'Durable "workflows" \\ cron — 日本語 \u0001 tab\t', body: 'body', hashtags: ['#a'], provider: 'fake', model: 'm', cached: false, usage: null, skipped: [] },
    images: [{ id: 'img', url: 'u', source: 's', alt: 'a', attribution: null, fallbackReason: null }],
    variants: [{ platform: 'x', parts: ['p'], length: 1, limit: 280, adaptations: [] }],
    publications: [publication('x'), publication('linkedin', { accountId: 'acc_1', status: 'failed', attempts: 3, error: { code: 'ReauthRequired', message: 'token expired', hint: 'reconnect' } })],
    publishAt: null,
    approval: { required: true, timeout: '1h', onTimeout: 'reject', deadline: null, decision: 'approved', decidedAt: '2031-05-01T10:00:01.000Z', reason: null, edited: false, by: 'api' },
    error: null,
    version: 12,
  };
  return [
    { state: published },
    // Optional fields of the request there (approval, publishAt, cache, whenFull, image style and sources), the rest absent.
    {
      state: {
        ...published,
        status: 'scheduled',
        request: { ...request, publishAt: '2031-06-01T00:00:00.000Z', approval: { required: false, onTimeout: 'publish' }, cache: true, whenFull: 'next_slot', image: { mode: 'auto', style: 'flat', sources: ['a', 'b'] } },
        content: null,
        publications: [],
        publishAt: '2031-06-01T00:00:00.000Z',
        approval: null,
      },
    },
    // Fields the schema does not name, at every level: never shown, and the log names them.
    {
      state: {
        ...published,
        surprise: 1,
        request: { ...request, legacyFlag: true, targets: [{ platform: 'x', note: 'n' }], image: { mode: 'none', old: 1 } },
        content: { ...published.content, extra: { deep: true } },
        publications: [publication('x', { legacy: 'y' })],
        approval: { ...published.approval, by: undefined, note: 'z' },
      },
    },
    // Errors as earlier versions stored them: strings, objects without a hint or with a code that is not a string.
    {
      state: {
        ...published,
        status: 'failed',
        publications: [publication('x', { status: 'failed', error: 'Permanent: bad_body' }), publication('linkedin', { status: 'failed', error: { code: 7, message: 'odd', hint: 3 } })],
        error: { code: 'Permanent', message: 'every publication failed' },
      },
    },
    // What only readErrorInfo's fallbacks read.
    { state: { ...published, status: 'failed', error: { code: 'X', message: { nested: [1, 2] } } } },
    { state: { ...published, status: 'failed', publications: [publication('x', { status: 'failed', error: 42 })] } },
    // A workflow id encodeURIComponent changes (the Temporal link escapes it).
    { state: published, workflowId: `pipeline with/odd?chars ${randomBytes(4).toString('hex')}` },
    // The same time as the next: the cursor orders them by id.
    { state: published },
  ];
}

async function insertAll(tenantId: string, prefix: string): Promise<{ id: string }[]> {
  const pipelines = createPipelineRepository(h.pool);
  const out: { id: string }[] = [];
  const list = states(tenantId);
  for (const [i, s] of list.entries()) {
    const id = `pl_${prefix}${randomBytes(6).toString('hex')}_${i}`;
    const at = new Date(base + Math.min(i, list.length - 2) * 1000).toISOString();
    const state = JSON.parse(JSON.stringify({ ...s.state, id, createdAt: at, updatedAt: at })) as PipelineState;
    await pipelines.insert({ id, tenantId, workflowId: s.workflowId ?? `pipeline-${id}`, request: state.request, state, requestHash: 'h' });
    out.push({ id });
  }
  return out;
}

/** The page the JS path writes for `filter`: presentListItem, the response schema, JSON.stringify. */
async function expectedPage(tenantId: string, filter: ListFilter): Promise<string> {
  const page = await createPipelineRepository(h.pool).listSummaries(tenantId, filter);
  const opts = { temporalUiUrl: h.config.temporal.uiUrl, namespace: h.config.temporal.namespace };
  const nextCursor = page.next ? Buffer.from(JSON.stringify([page.next.createdAt, page.next.id])).toString('base64url') : null;
  return JSON.stringify(z.encode(pipelinePageView, { view: 'summary', items: page.items.map((r) => presentListItem(r, opts)), nextCursor } as z.output<typeof pipelinePageView>));
}

/** Every page of tenant a's list, for each filter and page size, compared byte for byte with the usual path's. */
async function everyPage(rows: { id: string }[], others: { id: string }[]): Promise<string> {
  const queries: { q: string; filter: Omit<ListFilter, 'limit' | 'cursor'> }[] = [
    { q: '', filter: {} },
    { q: '&status=failed', filter: { status: 'failed' } },
    { q: '&platform=linkedin', filter: { platform: 'linkedin' } },
  ];
  let firstPage = '';
  for (const limit of [3, 100]) {
    for (const { q, filter } of queries) {
      let cursor: string | null = null;
      const seen: string[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${h.baseUrl}/v1/pipelines?limit=${limit}${q}${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${h.keys.a}` } });
        const text = await res.text();
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
        const decoded = cursor ? (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string]) : undefined;
        expect(text).toBe(await expectedPage(h.tenants.a, { ...filter, limit, cursor: decoded && { createdAt: decoded[0], id: decoded[1] } }));
        if (limit === 100 && !q) firstPage = text;
        const body = JSON.parse(text) as { items: { id: string }[]; nextCursor: string | null };
        seen.push(...body.items.map((p) => p.id));
        if (!body.nextCursor) break;
        cursor = body.nextCursor;
      }
      // Each row once, none of the other tenant's.
      expect(new Set(seen).size).toBe(seen.length);
      if (!q) expect([...seen].sort()).toEqual(rows.map((r) => r.id).sort());
      for (const o of others) expect(seen).not.toContain(o.id);
    }
  }
  return firstPage;
}

it('every page of summaries is byte for byte what the schema writes, through filters, the cursor and every change, per tenant', async () => {
  const rows = await insertAll(h.tenants.a, 'a');
  const others = await insertAll(h.tenants.b, 'b');

  const first = await everyPage(rows, others);
  // The unfiltered page holds every row of the tenant, newest first (ties by id, descending).
  const all = (JSON.parse(first) as { items: { id: string; createdAt: string }[] }).items;
  const order = [...all].sort((x, y) => (x.createdAt === y.createdAt ? (x.id < y.id ? 1 : -1) : x.createdAt < y.createdAt ? 1 : -1)).map((p) => p.id);
  expect(all.map((p) => p.id)).toEqual(order);
  // Read again (from the texts kept): the same bytes.
  expect(await everyPage(rows, others)).toBe(first);

  // A save through the repository (as the workflow's), a change in plain SQL, a summary dropped: each shows at once.
  const pipelines = createPipelineRepository(h.pool);
  const saved = (await pipelines.get(h.tenants.a, rows[0].id))!.state;
  expect(await pipelines.saveState({ ...saved, content: { ...saved.content!, title: 'Retitled by a save' }, version: saved.version + 1 })).toBe(true);
  await h.pool.query(`UPDATE pipelines SET state = jsonb_set(state, '{content,title}', '"Retitled in SQL"') WHERE id = $1`, [rows[2].id]);
  await h.pool.query('UPDATE pipelines SET list_item = NULL WHERE id = $1', [rows[3].id]);
  const after = await everyPage(rows, others);
  expect(after).not.toBe(first);
  expect(after).toContain('"title":"Retitled by a save"');
  expect(after).toContain('"title":"Retitled in SQL"');

  // Fields the schema does not name are still left out with a warning naming them, as the schema's serializer did.
  const warned = h.logs.filter((l) => l.includes('response fields dropped') && l.includes('/v1/pipelines'));
  expect(warned.join('\n')).toContain('request.legacyFlag');
});
