// `npm run bench -- scale [--n 200] [--slots 4] [--ai-ms 300] [--scheduled 10000] [--rows 100000]`:
//   1. Throughput with two worker processes against one, each capped at `slots` activity slots (WORKER_MAX_ACTIVITIES),
//      the text coming from an imitation OpenAI-compatible provider that answers in `ai-ms` ms, its limit
//      (RATE_LIMIT_OPENAI, generous) still held in Redis and shared by the workers. n dry-run thread pipelines to 4
//      platforms with title cards, 20 closed-loop submitters; ratio two / one (target >= 1.8).
//   2. On the one-worker stack: `scheduled` dry-run pipelines with publishAt tomorrow; the worker's RSS before and once
//      every one waits in `scheduled`.
//   3. List latency: the tenant's pipelines topped up to `rows` rows by inserting copies of one real row directly with
//      SQL (INSERT ... SELECT generate_series; no workflows behind them), then GET /v1/pipelines?limit=100 (first page
//      and a page 50 deep through the cursor), 5 concurrent readers; p50/p95/p99.
// Prints tables and writes bench/results/scale.json.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startOpenAIFake } from '../../test/fakes/openai-server';
import { followPipelines, load1m, rssMbOf, runBench, startHeraldStack, threadRequest, timed, type HeraldStack } from '../lib/herald-stack';
import { printTable, writeResults, type Cell } from '../lib/report';
import { sleep } from '../lib/stack';
import { round, roundSummary, summarize } from '../lib/stats';

const TENANT = { id: 'bench', key: 'herald-bench-scale-key' };
const say = (m: string) => console.log(`[scale] ${m}`);
const SUBMITTERS = 20;

async function submit(stack: HeraldStack, bodies: unknown[]): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(SUBMITTERS, bodies.length) }, async () => {
      while (next < bodies.length) {
        const r = await timed(stack.baseUrl, TENANT.key, 'POST', '/v1/pipelines', bodies[next++]);
        if (r.status === 202) ids.push(r.json.id);
        else throw new Error(`POST answered ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`);
      }
    }),
  );
  return ids;
}

/** n pipelines through the stack; pipelines a minute over first submit -> last published. */
async function throughput(stack: HeraldStack, n: number, limitMs: number) {
  const warm = await submit(stack, [threadRequest(-1)]);
  await followPipelines(stack.baseUrl, TENANT.key, warm, Date.now() + 120_000, 250);
  const start = Date.now();
  const ids = await submit(stack, Array.from({ length: n }, (_, i) => threadRequest(i)));
  let lastSay = 0;
  const seen = await followPipelines(stack.baseUrl, TENANT.key, ids, start + limitMs, 500, (done, total) => {
    if (Date.now() - lastSay > 15_000) {
      lastSay = Date.now();
      say(`${stack.workers.length} worker(s): ${done}/${total} final, load ${load1m()}`);
    }
  });
  const published = [...seen.values()].filter((s) => s.status === 'published');
  const spanMs = Math.max(...published.map((s) => Date.parse(s.updatedAt))) - start;
  return { workers: stack.workers.length, n, published: published.length, spanS: round(spanMs / 1000, 1), perMinute: round((published.length / spanMs) * 60_000, 1), load1m: load1m() };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '200' },
      slots: { type: 'string', default: '4' },
      'ai-ms': { type: 'string', default: '300' },
      scheduled: { type: 'string', default: '10000' },
      rows: { type: 'string', default: '100000' },
      'limit-s': { type: 'string', default: '1200' },
    },
  });
  const N = Math.max(1, Number(values.n));
  const SLOTS = Math.max(1, Number(values.slots));
  const SCHEDULED = Math.max(0, Number(values.scheduled));
  const ROWS = Math.max(0, Number(values.rows));
  const LIMIT_MS = Number(values['limit-s']) * 1000;
  const t0 = Date.now();
  const ai = await startOpenAIFake({ apiKey: 'scale' });
  ai.control.delayMs(Number(values['ai-ms']));
  const extraEnv = { WORKER_MAX_ACTIVITIES: String(SLOTS), TEXT_PROVIDERS: 'openai', OPENAI_API_KEY: 'scale', OPENAI_BASE_URL: ai.url, RATE_LIMIT_OPENAI: '100000/1m', RATE_LIMIT_OPENAI_TOKENS: 'none' };
  const runs: Awaited<ReturnType<typeof throughput>>[] = [];
  const out: Record<string, unknown> = {};
  try {
    // Two workers first, then one (which also carries parts 2 and 3).
    const two = await startHeraldStack({ name: 'scale', tenants: [TENANT], workers: 2, extraEnv, overallMs: 3 * LIMIT_MS + 600_000, say });
    try {
      runs.push(await throughput(two, N, LIMIT_MS));
    } finally {
      await two.stop();
    }
    const aiCallsTwo = ai.requests.length;
    const one = await startHeraldStack({ name: 'scale', tenants: [TENANT], workers: 1, extraEnv, overallMs: 3 * LIMIT_MS + 600_000, say });
    try {
      runs.push(await throughput(one, N, LIMIT_MS));
      say(`throughput: ${runs.map((r) => `${r.workers} worker(s) ${r.perMinute}/min`).join(', ')}; AI calls ${aiCallsTwo} with two`);

      // 2. Scheduled a day ahead.
      const pid = one.workers[0].pid;
      const rssBefore = rssMbOf(pid);
      const publishAt = new Date(Date.now() + 86_400_000).toISOString();
      const s0 = performance.now();
      const sIds = await submit(one, Array.from({ length: SCHEDULED }, (_, i) => threadRequest(100_000 + i, { publishAt })));
      const submitS = (performance.now() - s0) / 1000;
      let peakRss = rssBefore ?? 0;
      let lastSay = 0;
      const sSeen = await followPipelines(one.baseUrl, TENANT.key, sIds, Date.now() + LIMIT_MS, 2000, (done, total) => {
        peakRss = Math.max(peakRss, rssMbOf(pid) ?? 0);
        if (Date.now() - lastSay > 15_000) {
          lastSay = Date.now();
          say(`scheduled: ${done}/${total} waiting, worker rss ${rssMbOf(pid)} MB`);
        }
      }, (st) => st === 'scheduled');
      const waiting = [...sSeen.values()].filter((st) => st.status === 'scheduled').length;
      await sleep(5000);
      const rssAfter = rssMbOf(pid);
      out.scheduled = { n: SCHEDULED, waiting, submitS: round(submitS, 1), allWaitingAfterS: round((performance.now() - s0) / 1000, 1), workerRssMb: { before: rssBefore, peak: round(peakRss, 1), after: rssAfter }, publishAt };
      say(`scheduled: ${waiting}/${SCHEDULED} waiting; worker rss ${rssBefore} -> ${rssAfter} MB (peak ${peakRss})`);

      // 3. List latency over `rows` rows.
      const { rows: [{ count }] } = await one.pool.query<{ count: string }>('SELECT count(*) FROM pipelines WHERE tenant_id = $1', [TENANT.id]);
      const missing = Math.max(0, ROWS - Number(count));
      const i0 = performance.now();
      if (missing > 0) {
        // Copies of one real published row, spread over the past days so the list's order and cursor work as usual.
        await one.pool.query(
          `INSERT INTO pipelines (id, tenant_id, workflow_id, status, platforms, request, state, version, request_hash, created_at, updated_at)
           SELECT 'bulk_' || g, p.tenant_id, p.workflow_id || '-bulk-' || g, p.status, p.platforms, p.request, p.state, p.version, p.request_hash,
                  p.created_at - g * interval '7 seconds', p.updated_at - g * interval '7 seconds'
           FROM (SELECT * FROM pipelines WHERE tenant_id = $1 AND status = 'published' LIMIT 1) p, generate_series(1, $2::int) g`,
          [TENANT.id, missing],
        );
        await one.pool.query('ANALYZE pipelines');
      }
      const insertS = (performance.now() - i0) / 1000;
      const first: number[] = [];
      const deep: number[] = [];
      let cursor50: string | null = null;
      let c: string | null = null;
      for (let page = 0; page < 50; page++) {
        const r = await timed(one.baseUrl, TENANT.key, 'GET', `/v1/pipelines?limit=100${c ? `&cursor=${encodeURIComponent(c)}` : ''}`);
        if (r.status !== 200) throw new Error(`list answered ${r.status}`);
        c = r.json.nextCursor;
        if (!c) break;
        cursor50 = c;
      }
      let listErrors = 0;
      await Promise.all(
        Array.from({ length: 5 }, async () => {
          for (let i = 0; i < 40; i++) {
            const a = await timed(one.baseUrl, TENANT.key, 'GET', '/v1/pipelines?limit=100');
            if (a.status === 200) first.push(a.ms);
            else listErrors++;
            if (!cursor50) continue;
            const b = await timed(one.baseUrl, TENANT.key, 'GET', `/v1/pipelines?limit=100&cursor=${encodeURIComponent(cursor50)}`);
            if (b.status === 200) deep.push(b.ms);
            else listErrors++;
          }
        }),
      );
      out.list = { rows: Number(count) + missing, insertedWithSql: missing, insertS: round(insertS, 1), readers: 5, firstPageMs: roundSummary(summarize(first), 1), page50Ms: roundSummary(summarize(deep), 1), errors: listErrors };
    } finally {
      await one.stop();
    }
  } finally {
    await ai.close();
  }
  const [twoRun, oneRun] = runs;
  const ratio = twoRun.perMinute / oneRun.perMinute;
  printTable(`scale: ${N} dry-run thread pipelines, ${SLOTS} activity slots per worker, AI answering in ${values['ai-ms']} ms, limits in Redis`, ['workers', 'published', 'span s', 'per min', 'load 1m'], runs.map((r) => [String(r.workers), r.published, r.spanS, r.perMinute, r.load1m]) as Cell[][]);
  const sch = out.scheduled as any;
  const list = out.list as any;
  printTable('verdicts', ['metric', 'value'], [
    ['throughput two / one', `${round(ratio, 2)} (target >= 1.8)`],
    [`scheduled a day ahead: waiting / submitted`, `${sch.waiting} / ${sch.n}`],
    ['worker RSS MB: before / peak / after', `${sch.workerRssMb.before} / ${sch.workerRssMb.peak} / ${sch.workerRssMb.after}`],
    [`list first page over ${list.rows} rows (${list.insertedWithSql} inserted with SQL): p50 / p99 ms`, `${list.firstPageMs.p50} / ${list.firstPageMs.p99}`],
    ['list page 50 (cursor): p50 / p99 ms', `${list.page50Ms.p50} / ${list.page50Ms.p99}`],
  ]);
  const failures = runs.reduce((f, r) => f + r.n - r.published, 0) + (sch.n - sch.waiting) + list.errors;
  const file = writeResults('scale', {
    config: { n: N, slotsPerWorker: SLOTS, aiAnswerMs: Number(values['ai-ms']), rateLimitOpenai: '100000/1m in Redis', submitters: SUBMITTERS, request: 'dry-run thread, 4 platforms, title cards, text from the imitation OpenAI provider' },
    throughput: { runs, twoOverOne: round(ratio, 3), target: '>= 1.8', aiCalls: ai.requests.length },
    ...out,
    failures,
    totalS: round((Date.now() - t0) / 1000, 1),
  });
  say(`results: ${file}`);
  return failures ? 1 : 0;
}

runBench('scale', main);
