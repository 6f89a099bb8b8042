// Part "list" of `npm run bench -- scale`: one real published pipeline, then the tenant's pipelines topped up to `rows`
// rows by inserting copies of it directly with SQL (INSERT ... SELECT generate_series; no workflows behind them), then
// GET /v1/pipelines?limit=100 (first page and a page 50 deep through the cursor), 5 concurrent readers; p50/p95/p99:
// first with the readers in this process (sharing the API's event loop, as this bench always measured), then the same
// readers in a process of their own (bench/scale/list-readers.ts), the API's event loop serving them and nothing else.
// Beside it, in the same run: the same readers asking for view=full (each item the whole state) for fewer rounds, the
// page sizes, EXPLAIN (ANALYZE, BUFFERS) of both queries, and where one full page's time goes (query, serializer steps).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { Pool } from 'pg';
import { z } from 'zod';
import { presentPipeline } from '../../src/api/present';
import { presentListItem } from '../../src/api/present-list';
import { pipelinePageView, pipelineSummaryView } from '../../src/api/schemas/pipeline-view';
import { droppedFields } from '../../src/api/serializer';
import { SummaryTexts, summaryPage } from '../../src/api/summary-cache';
import { createPipelineRepository } from '../../src/db/pipelines-repo';
import { followPipelines, load1m, startHeraldStack, threadRequest, timed } from '../lib/herald-stack';
import { printTable } from '../lib/report';
import { round, roundSummary, summarize } from '../lib/stats';
import { say, submit, TENANT } from './common';

export interface ListOptions { rows: number }

const READERS = 5;
const ROUNDS = 40;
const FULL_ROUNDS = 8;
const SINGLE_ROUNDS = 100;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** READERS concurrent readers, each `rounds` times: the first page, then the page behind `deepCursor`. */
async function readers(baseUrl: string, query: string, deepCursor: string | null, rounds: number) {
  const first: number[] = [];
  const deep: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: READERS }, async () => {
      for (let i = 0; i < rounds; i++) {
        const a = await timed(baseUrl, TENANT.key, 'GET', `/v1/pipelines?limit=100${query}`);
        if (a.status === 200) first.push(a.ms);
        else errors++;
        if (!deepCursor) continue;
        const b = await timed(baseUrl, TENANT.key, 'GET', `/v1/pipelines?limit=100${query}&cursor=${encodeURIComponent(deepCursor)}`);
        if (b.status === 200) deep.push(b.ms);
        else errors++;
      }
    }),
  );
  return { first, deep, errors };
}

/** The same readers in a process of their own (bench/scale/list-readers.ts): the API's event loop serves, nothing else. */
async function readersApart(baseUrl: string, query: string, deepCursor: string | null, rounds: number, readerCount = READERS) {
  const args = JSON.stringify({ baseUrl, key: TENANT.key, query, deepCursor, rounds, readers: readerCount });
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(__dirname, 'list-readers.ts'), args], {
    cwd: path.resolve(__dirname, '..', '..'),
    maxBuffer: 16 * 1024 * 1024,
    timeout: 600_000,
  });
  return JSON.parse(stdout) as { first: number[]; deep: number[]; errors: number };
}

const LIST_SQL = (column: string) =>
  `SELECT id, workflow_id, ${column}, created_at FROM pipelines WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT 101`;

/**
 * Where a page's time goes, one step at a time in this process (median of 15): the query (PostgreSQL, TOAST, the
 * driver's JSON parse), presenting, and the serializer's steps (zod encode, the dropped-field walk, JSON.stringify).
 * Beside them, interleaved so all see the same load, this process's CPU time per page (query included) for the way the
 * route writes summaries now (src/api/summary-cache.ts: texts kept per row version, `warm`; `cold` with none kept)
 * and for the schema's serializer, with a check that they write the same bytes.
 */
async function steps(pool: Pool) {
  const repo = createPipelineRepository(pool);
  const opts = { temporalUiUrl: 'http://127.0.0.1:8233', namespace: 'default' };
  const out: Record<string, Record<string, number>> = {};
  const write = (rows: Parameters<typeof presentListItem>[0][]) =>
    z.encode(z.array(pipelineSummaryView), rows.map((r) => presentListItem(r, opts)) as z.output<typeof pipelineSummaryView>[]).map((item) => JSON.stringify(item));
  const warmTexts = new SummaryTexts(5_000);
  const cpu = { warm: [] as number[], cold: [] as number[], zod: [] as number[] };
  const cpuOf = async (list: number[], f: () => Promise<string>) => {
    const t = process.cpuUsage();
    const text = await f();
    const used = process.cpuUsage(t);
    list.push((used.user + used.system) / 1000);
    return text;
  };
  const routeWay = async (texts: SummaryTexts) => {
    const p = await summaryPage(repo, texts, TENANT.id, { limit: 100 }, write);
    return `{"view":"summary","items":[${p.items.join(',')}],"nextCursor":"x"}`;
  };
  for (let i = 0; i < 30; i++) {
    const warm = await cpuOf(cpu.warm, () => routeWay(warmTexts));
    const cold = await cpuOf(cpu.cold, () => routeWay(new SummaryTexts(5_000)));
    const zod = await cpuOf(cpu.zod, async () => {
      const q = await repo.listSummaries(TENANT.id, { limit: 100 });
      const data = { view: 'summary', items: q.items.map((r) => presentListItem(r, opts)), nextCursor: 'x' } as z.output<typeof pipelinePageView>;
      const encoded = z.safeEncode(pipelinePageView, data);
      if (!encoded.success) throw new Error('the summary page does not encode');
      droppedFields(data, encoded.data);
      return JSON.stringify(encoded.data);
    });
    if (warm !== zod || cold !== zod) throw new Error('the route writes a summary page other than the one the schema writes');
  }
  out.summaryCpuMsPerPage = { warm: round(median(cpu.warm), 2), cold: round(median(cpu.cold), 2), schemaSerializer: round(median(cpu.zod), 2) };
  for (const view of ['summary', 'full'] as const) {
    const t: Record<string, number[]> = { query: [], present: [], encode: [], dropped: [], stringify: [] };
    let bytes = 0;
    for (let i = 0; i < 15; i++) {
      let a = performance.now();
      const data =
        view === 'full'
          ? await repo.list(TENANT.id, { limit: 100 }).then((p) => (t.query.push(performance.now() - a), (a = performance.now()), { view, items: p.items.map((r) => presentPipeline(r.state, r.workflowId, opts)), nextCursor: 'x' }))
          : await repo.listSummaries(TENANT.id, { limit: 100 }).then((p) => (t.query.push(performance.now() - a), (a = performance.now()), { view, items: p.items.map((r) => presentListItem(r, opts)), nextCursor: 'x' }));
      t.present.push(performance.now() - a);
      a = performance.now();
      const encoded = z.safeEncode(pipelinePageView, data as z.output<typeof pipelinePageView>);
      if (!encoded.success) throw new Error(`the ${view} page does not encode: ${encoded.error.message.slice(0, 300)}`);
      t.encode.push(performance.now() - a);
      a = performance.now();
      const dropped = droppedFields(data, encoded.data);
      t.dropped.push(performance.now() - a);
      if (dropped.length) throw new Error(`the ${view} page drops fields: ${dropped.slice(0, 5).join(', ')}`);
      a = performance.now();
      bytes = JSON.stringify(encoded.data).length;
      t.stringify.push(performance.now() - a);
    }
    out[view] = { ...Object.fromEntries(Object.entries(t).map(([k, v]) => [`${k}Ms`, round(median(v), 1)])), pageBytes: bytes };
  }
  return out;
}

export async function listPart(o: ListOptions) {
  const stack = await startHeraldStack({ name: 'scale_list', tenants: [TENANT], workers: 1, overallMs: 1_800_000, say });
  try {
    const ids = await submit(stack, [threadRequest(0)]);
    await followPipelines(stack.baseUrl, TENANT.key, ids, Date.now() + 120_000, 250);
    const { rows: [{ count }] } = await stack.pool.query<{ count: string }>('SELECT count(*) FROM pipelines WHERE tenant_id = $1', [TENANT.id]);
    const missing = Math.max(0, o.rows - Number(count));
    const i0 = performance.now();
    if (missing > 0) {
      // Copies of one real published row, spread over the past days so the list's order and cursor work as usual.
      // Its list_item is written by the trigger (migration 010), as for any insert.
      await stack.pool.query(
        `INSERT INTO pipelines (id, tenant_id, workflow_id, status, platforms, request, state, version, request_hash, created_at, updated_at)
         SELECT 'bulk_' || g, p.tenant_id, p.workflow_id || '-bulk-' || g, p.status, p.platforms, p.request, p.state, p.version, p.request_hash,
                p.created_at - g * interval '7 seconds', p.updated_at - g * interval '7 seconds'
         FROM (SELECT * FROM pipelines WHERE tenant_id = $1 AND status = 'published' LIMIT 1) p, generate_series(1, $2::int) g`,
        [TENANT.id, missing],
      );
      await stack.pool.query('ANALYZE pipelines');
    }
    const insertS = (performance.now() - i0) / 1000;
    say(`${missing} rows inserted in ${round(insertS, 1)} s`);

    // EXPLAIN cannot show TOAST reads of the output (PostgreSQL 15 has no SERIALIZE): the sizes say what a page reads.
    const explain: Record<string, string> = {};
    for (const [view, column] of [['summary', 'COALESCE(list_item, pipeline_list_item(state)) AS item'], ['full', 'state']] as const) {
      const plan = await stack.pool.query(`EXPLAIN (ANALYZE, BUFFERS) ${LIST_SQL(column)}`, [TENANT.id]);
      explain[view] = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      say(`EXPLAIN (ANALYZE, BUFFERS), ${view}:\n${explain[view]}`);
    }
    const { rows: [sizes] } = await stack.pool.query<{ state: number; item: number }>(
      `SELECT avg(pg_column_size(state))::int AS state, avg(pg_column_size(list_item))::int AS item FROM (${LIST_SQL('state, list_item')}) p`,
      [TENANT.id],
    );
    const stepTimes = await steps(stack.pool);

    let cursor50: string | null = null;
    let c: string | null = null;
    for (let page = 0; page < 50; page++) {
      const r = await timed(stack.baseUrl, TENANT.key, 'GET', `/v1/pipelines?limit=100${c ? `&cursor=${encodeURIComponent(c)}` : ''}`);
      if (r.status !== 200) throw new Error(`list answered ${r.status}`);
      c = r.json.nextCursor;
      if (!c) break;
      cursor50 = c;
    }
    const loadBefore = load1m();
    const cpu0 = process.cpuUsage();
    const summary = await readers(stack.baseUrl, '', cursor50, ROUNDS);
    const cpu1 = process.cpuUsage(cpu0);
    // This process serves the API and runs the readers: its CPU time per request is both sides' (the client's fetch
    // and JSON.parse too), far less sensitive to the machine's load than the latencies.
    const cpuMsPerRequest = round((cpu1.user + cpu1.system) / 1000 / Math.max(1, summary.first.length + summary.deep.length), 2);
    const loadAfter = load1m();
    // The API's process serves the readers and does nothing else; its CPU per request is the API's alone.
    const cpu2 = process.cpuUsage();
    const apart = await readersApart(stack.baseUrl, '', cursor50, ROUNDS);
    const cpu3 = process.cpuUsage(cpu2);
    const apiCpuMsPerRequest = round((cpu3.user + cpu3.system) / 1000 / Math.max(1, apart.first.length + apart.deep.length), 2);
    const loadApart = load1m();
    // One reader at a time (a person paging through the console): the latency of one list request at 100,000 rows,
    // with no other request queued in the API's event loop ahead of it.
    const single = await readersApart(stack.baseUrl, '', cursor50, SINGLE_ROUNDS, 1);
    const full = await readers(stack.baseUrl, '&view=full', cursor50, FULL_ROUNDS);
    const loadFull = load1m();
    const errors = summary.errors + full.errors + apart.errors + single.errors;
    const r = {
      rows: Number(count) + missing,
      insertedWithSql: missing,
      insertS: round(insertS, 1),
      readers: READERS,
      firstPageMs: roundSummary(summarize(summary.first), 1),
      page50Ms: roundSummary(summarize(summary.deep), 1),
      load1m: { before: loadBefore, after: loadAfter, afterFull: loadFull },
      benchProcessCpuMsPerSummaryRequest: cpuMsPerRequest,
      readersApart: { firstPageMs: roundSummary(summarize(apart.first), 1), page50Ms: roundSummary(summarize(apart.deep), 1), apiCpuMsPerRequest, load1mAfter: loadApart },
      oneReaderApart: { rounds: SINGLE_ROUNDS, firstPageMs: roundSummary(summarize(single.first), 1), page50Ms: roundSummary(summarize(single.deep), 1) },
      fullView: { rounds: FULL_ROUNDS, firstPageMs: roundSummary(summarize(full.first), 1), page50Ms: roundSummary(summarize(full.deep), 1) },
      storedBytesPerRow: { state: sizes.state, listItem: sizes.item },
      steps: stepTimes,
      explain,
      errors,
      failures: errors,
    };
    printTable(
      `scale list: ${r.rows} rows, ${READERS} readers, limit=100 (ms; load 1m ${loadBefore} -> ${loadAfter}, ${loadApart} after the readers apart, ${loadFull} after full); readers in this process unless apart: the API's CPU per request with readers apart ${apiCpuMsPerRequest} ms`,
      ['view', 'page', 'n', 'p50', 'p95', 'p99', 'page bytes'],
      [
        ['summary', 'first', r.firstPageMs.n, r.firstPageMs.p50, r.firstPageMs.p95, r.firstPageMs.p99, stepTimes.summary.pageBytes],
        ['summary', '50 deep', r.page50Ms.n, r.page50Ms.p50, r.page50Ms.p95, r.page50Ms.p99, stepTimes.summary.pageBytes],
        ['summary, readers apart', 'first', r.readersApart.firstPageMs.n, r.readersApart.firstPageMs.p50, r.readersApart.firstPageMs.p95, r.readersApart.firstPageMs.p99, stepTimes.summary.pageBytes],
        ['summary, readers apart', '50 deep', r.readersApart.page50Ms.n, r.readersApart.page50Ms.p50, r.readersApart.page50Ms.p95, r.readersApart.page50Ms.p99, stepTimes.summary.pageBytes],
        ['summary, one reader apart', 'first', r.oneReaderApart.firstPageMs.n, r.oneReaderApart.firstPageMs.p50, r.oneReaderApart.firstPageMs.p95, r.oneReaderApart.firstPageMs.p99, stepTimes.summary.pageBytes],
        ['summary, one reader apart', '50 deep', r.oneReaderApart.page50Ms.n, r.oneReaderApart.page50Ms.p50, r.oneReaderApart.page50Ms.p95, r.oneReaderApart.page50Ms.p99, stepTimes.summary.pageBytes],
        ['full', 'first', r.fullView.firstPageMs.n, r.fullView.firstPageMs.p50, r.fullView.firstPageMs.p95, r.fullView.firstPageMs.p99, stepTimes.full.pageBytes],
        ['full', '50 deep', r.fullView.page50Ms.n, r.fullView.page50Ms.p50, r.fullView.page50Ms.p95, r.fullView.page50Ms.p99, stepTimes.full.pageBytes],
      ],
    );
    printTable(
      `scale list: one page's steps in this process, median of 15 (ms); stored bytes per row: state ${sizes.state}, list_item ${sizes.item}`,
      ['view', 'query', 'present', 'zod encode', 'dropped-field walk', 'stringify'],
      (['summary', 'full'] as const).map((v) => [v, stepTimes[v].queryMs, stepTimes[v].presentMs, stepTimes[v].encodeMs, stepTimes[v].droppedMs, stepTimes[v].stringifyMs]),
    );
    const sc = stepTimes.summaryCpuMsPerPage;
    printTable(
      `scale list: this process's CPU per summary page, query included, median of 30 interleaved (ms). Over the HTTP readers: ${cpuMsPerRequest} ms of this process's CPU per request (API and client)`,
      ['route, texts kept (warm)', 'route, none kept (cold)', "schema's serializer (before)"],
      [[sc.warm, sc.cold, sc.schemaSerializer]],
    );
    return r;
  } finally {
    await stack.stop();
  }
}
