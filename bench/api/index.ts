// `npm run bench -- api [--clients 50] [--seconds 60] [--phase-s 10]`: API latency under concurrency while the worker
// runs. Phases alternate until each side has had `seconds`: in a Herald phase every one of `clients` closed-loop
// clients POSTs a dry-run thread pipeline (4 platforms, title cards) and then GETs it by id, again and again; in a bare
// phase as many clients call client.workflow.start for the bare workflow (bench/lib/bare-workflows.ts) on its own
// worker and task queue, same dev server. p50/p95/p99 of each and the ratio of p99s (POST / bare start; target <= 1.5).
// Prints a table and writes bench/results/api.json.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { load1m, rssMbOf, runBench, startHeraldStack, threadRequest, timed } from '../lib/herald-stack';
import { printTable, writeResults, type Cell } from '../lib/report';
import { round, roundSummary, summarize } from '../lib/stats';

const TENANT = { id: 'bench', key: 'herald-bench-api-key' };
const say = (m: string) => console.log(`[api] ${m}`);

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { clients: { type: 'string', default: '50' }, seconds: { type: 'string', default: '60' }, 'phase-s': { type: 'string', default: '10' } } });
  const CLIENTS = Math.max(1, Number(values.clients));
  const SECONDS = Math.max(1, Number(values.seconds));
  const PHASE_S = Math.max(1, Math.min(SECONDS, Number(values['phase-s'])));
  const t0 = Date.now();
  const stack = await startHeraldStack({ name: 'api', tenants: [TENANT], workers: 1, overallMs: SECONDS * 2_000 + 600_000, say });
  const post: number[] = [];
  const get: number[] = [];
  const bare: number[] = [];
  const statuses: Record<string, number> = {};
  const errors: string[] = [];
  const phases: { kind: string; seconds: number; requests: number; load1m: number }[] = [];
  const count = (k: string, status: number, body: unknown) => {
    statuses[`${k} ${status}`] = (statuses[`${k} ${status}`] ?? 0) + 1;
    if ((status === 0 || status >= 500) && errors.length < 5) errors.push(`${k} ${status} ${JSON.stringify(body).slice(0, 200)}`);
  };
  let submitted = 0;
  try {
    // Warm-up, not counted.
    await Promise.all(Array.from({ length: 5 }, (_, i) => timed(stack.baseUrl, TENANT.key, 'POST', '/v1/pipelines', threadRequest(-1 - i))));
    const runId = randomBytes(3).toString('hex');
    let seq = 0;
    for (let spent = 0; spent < SECONDS; spent += PHASE_S) {
      const phaseS = Math.min(PHASE_S, SECONDS - spent);
      for (const kind of ['herald', 'bare'] as const) {
        const until = performance.now() + phaseS * 1000;
        let requests = 0;
        await Promise.all(
          Array.from({ length: CLIENTS }, async () => {
            while (performance.now() < until) {
              const i = seq++;
              requests++;
              if (kind === 'herald') {
                const p = await timed(stack.baseUrl, TENANT.key, 'POST', '/v1/pipelines', threadRequest(i));
                count('POST', p.status, p.json);
                if (p.status !== 202) continue;
                post.push(p.ms);
                submitted++;
                const g = await timed(stack.baseUrl, TENANT.key, 'GET', `/v1/pipelines/${p.json.id}`);
                count('GET', g.status, g.json);
                if (g.status === 200) get.push(g.ms);
              } else {
                const t = performance.now();
                try {
                  await stack.api.client.workflow.start('barePipeline', { taskQueue: stack.bareTaskQueue, workflowId: `bare-api-${runId}-${i}` });
                  bare.push(performance.now() - t);
                  count('start', 200, null);
                } catch (err) {
                  count('start', 0, (err as Error).message);
                }
              }
            }
          }),
        );
        phases.push({ kind, seconds: phaseS, requests, load1m: load1m() });
        say(`${kind} phase of ${phaseS} s: ${requests} requests, load ${load1m()}`);
      }
    }
  } finally {
    const rss = rssMbOf(stack.workers[0].pid);
    say(`stopping (worker rss ${rss} MB, ${submitted} pipelines submitted)`);
    await stack.stop();
  }
  const sPost = summarize(post);
  const sGet = summarize(get);
  const sBare = summarize(bare);
  const ratio = sPost.p99 / sBare.p99;
  const row = (label: string, s: ReturnType<typeof summarize>): Cell[] => [label, s.n, s.p50, s.p95, s.p99, s.max];
  printTable(`api bench: ${CLIENTS} concurrent clients, ${SECONDS} s per side in ${PHASE_S} s phases, worker running`, ['request, ms', 'n', 'p50', 'p95', 'p99', 'max'], [
    row('POST /v1/pipelines', sPost),
    row('GET /v1/pipelines/{id}', sGet),
    row('bare client.workflow.start', sBare),
  ]);
  printTable('ratio', ['metric', 'value'], [['p99 POST / p99 bare start', `${round(ratio, 2)} (target <= 1.5)`], ['p99 GET / p99 bare start', round(sGet.p99 / sBare.p99, 2)]]);
  if (errors.length) console.log(`errors (first ${errors.length}):\n  ${errors.join('\n  ')}`);
  const file = writeResults('api', {
    config: { clients: CLIENTS, secondsPerSide: SECONDS, phaseS: PHASE_S, request: 'dry-run thread, 4 platforms, title cards; GET by id after each POST' },
    latencyMs: { post: roundSummary(sPost, 1), get: roundSummary(sGet, 1), bareStart: roundSummary(sBare, 1) },
    p99Ratio: { postOverBareStart: round(ratio, 3), getOverBareStart: round(sGet.p99 / sBare.p99, 3), target: '<= 1.5' },
    statuses,
    errors,
    phases,
    totalS: round((Date.now() - t0) / 1000, 1),
  });
  say(`results: ${file}`);
  return errors.length ? 1 : 0;
}

runBench('api', main);
