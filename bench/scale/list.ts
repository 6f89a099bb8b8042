// Part "list" of `npm run bench -- scale`: one real published pipeline, then the tenant's pipelines topped up to `rows`
// rows by inserting copies of it directly with SQL (INSERT ... SELECT generate_series; no workflows behind them), then
// GET /v1/pipelines?limit=100 (first page and a page 50 deep through the cursor), 5 concurrent readers; p50/p95/p99.
import { performance } from 'node:perf_hooks';
import { followPipelines, startHeraldStack, threadRequest, timed } from '../lib/herald-stack';
import { round, roundSummary, summarize } from '../lib/stats';
import { say, submit, TENANT } from './common';

export interface ListOptions { rows: number }

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
    const first: number[] = [];
    const deep: number[] = [];
    let cursor50: string | null = null;
    let c: string | null = null;
    for (let page = 0; page < 50; page++) {
      const r = await timed(stack.baseUrl, TENANT.key, 'GET', `/v1/pipelines?limit=100${c ? `&cursor=${encodeURIComponent(c)}` : ''}`);
      if (r.status !== 200) throw new Error(`list answered ${r.status}`);
      c = r.json.nextCursor;
      if (!c) break;
      cursor50 = c;
    }
    let errors = 0;
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        for (let i = 0; i < 40; i++) {
          const a = await timed(stack.baseUrl, TENANT.key, 'GET', '/v1/pipelines?limit=100');
          if (a.status === 200) first.push(a.ms);
          else errors++;
          if (!cursor50) continue;
          const b = await timed(stack.baseUrl, TENANT.key, 'GET', `/v1/pipelines?limit=100&cursor=${encodeURIComponent(cursor50)}`);
          if (b.status === 200) deep.push(b.ms);
          else errors++;
        }
      }),
    );
    return { rows: Number(count) + missing, insertedWithSql: missing, insertS: round(insertS, 1), readers: 5, firstPageMs: roundSummary(summarize(first), 1), page50Ms: roundSummary(summarize(deep), 1), errors, failures: errors };
  } finally {
    await stack.stop();
  }
}
