// `npm run bench -- pipeline --baseline [--n 200] [--rounds 3] [--concurrency 20]`: Herald beside a bare Temporal
// workflow of the same shape (bench/lib/bare-workflows.ts: 18 activities that do nothing, 4 of them in child
// workflows) on the same dev server in the same run. Rounds alternate: n Herald pipelines (dry-run threads to 4
// platforms with title cards, real PostgreSQL and Redis, the worker as `npm run worker` starts it) submitted over HTTP
// by `concurrency` closed-loop submitters, then n bare workflows started by as many closed-loop starters. A round's
// throughput is n over first submit -> last completion. Prints a table and writes bench/results/pipeline-baseline.json.
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { endToEndMs, followPipelinesInDb, load1m, rssMbOf, runBare, startHeraldStack, threadRequest, timed } from '../lib/herald-stack';
import { printTable, writeResults, type Cell } from '../lib/report';
import { median as mid, round, roundSummary, summarize } from '../lib/stats';

const TENANT = { id: 'bench', key: 'herald-bench-baseline-key' };
const say = (m: string) => console.log(`[pipeline --baseline] ${m}`);

interface Round {
  kind: 'herald' | 'bare';
  round: number;
  n: number;
  completed: number;
  spanS: number;
  perMinute: number;
  submitMs: ReturnType<typeof roundSummary>;
  endToEndMs?: ReturnType<typeof roundSummary>;
  load1m: number;
  workerRssMb?: number | null;
}

export async function runBaseline(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { baseline: { type: 'boolean' }, n: { type: 'string', default: '200' }, rounds: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '20' }, 'round-limit-s': { type: 'string', default: '600' } },
  });
  const N = Math.max(1, Number(values.n));
  const ROUNDS = Math.max(1, Number(values.rounds));
  const C = Math.max(1, Number(values.concurrency));
  const ROUND_LIMIT_MS = Number(values['round-limit-s']) * 1000;
  const t0 = Date.now();
  const stack = await startHeraldStack({ name: 'baseline', tenants: [TENANT], workers: 1, overallMs: ROUNDS * 2 * ROUND_LIMIT_MS + 300_000, say });
  const rounds: Round[] = [];
  let failures = 0;
  try {
    // Warm-up of both (JIT, connection pools, workflow bundles' first tasks), not counted.
    const warm = await timed(stack.baseUrl, TENANT.key, 'POST', '/v1/pipelines', threadRequest(-1));
    if (warm.status !== 202) throw new Error(`warm-up POST answered ${warm.status}: ${JSON.stringify(warm.json).slice(0, 300)}`);
    const warmSeen = await followPipelinesInDb(stack.pool, [warm.json.id], Date.now() + 120_000);
    if (warmSeen.get(warm.json.id)?.status !== 'published') throw new Error(`warm-up pipeline ended ${warmSeen.get(warm.json.id)?.status ?? 'unfinished'}`);
    await runBare(stack.api.client, stack.bareTaskQueue, 5, 5);
    say('warm-up done');

    for (let r = 1; r <= ROUNDS; r++) {
      // Herald: closed-loop submitters over HTTP, then followed through the list until all are final.
      const posts: { id?: string; ms: number }[] = [];
      let next = 0;
      const start = Date.now();
      await Promise.all(
        Array.from({ length: C }, async () => {
          while (next < N) {
            const i = next++;
            const res = await timed(stack.baseUrl, TENANT.key, 'POST', '/v1/pipelines', threadRequest(r * 100_000 + i));
            posts.push({ id: res.status === 202 ? res.json.id : undefined, ms: res.ms });
          }
        }),
      );
      const ids = posts.flatMap((p) => (p.id ? [p.id] : []));
      const seen = await followPipelinesInDb(stack.pool, ids, start + ROUND_LIMIT_MS, 250);
      const published = [...seen.values()].filter((s) => s.status === 'published');
      failures += N - published.length;
      const last = Math.max(...published.map((s) => Date.parse(s.updatedAt)));
      const spanMs = last - start;
      rounds.push({
        kind: 'herald',
        round: r,
        n: N,
        completed: published.length,
        spanS: round(spanMs / 1000, 2),
        perMinute: round((published.length / spanMs) * 60_000, 1),
        submitMs: roundSummary(summarize(posts.map((p) => p.ms)), 1),
        endToEndMs: roundSummary(summarize(published.map(endToEndMs)), 0),
        load1m: load1m(),
        workerRssMb: rssMbOf(stack.workers[0].pid),
      });
      say(`round ${r} herald: ${published.length}/${N} published in ${(spanMs / 1000).toFixed(1)} s (${rounds.at(-1)!.perMinute}/min), load ${load1m()}`);

      // Bare: the same n and concurrency, started with client.workflow.start.
      const b0 = performance.now();
      const bare = await runBare(stack.api.client, stack.bareTaskQueue, N, C);
      failures += bare.failed;
      rounds.push({
        kind: 'bare',
        round: r,
        n: N,
        completed: bare.completed,
        spanS: round(bare.spanMs / 1000, 2),
        perMinute: round((bare.completed / bare.spanMs) * 60_000, 1),
        submitMs: roundSummary(summarize(bare.startMs), 1),
        load1m: load1m(),
      });
      say(`round ${r} bare: ${bare.completed}/${N} in ${((performance.now() - b0) / 1000).toFixed(1)} s (${rounds.at(-1)!.perMinute}/min), load ${load1m()}`);
    }
  } finally {
    await stack.stop();
  }

  const median = (kind: Round['kind'], f: (r: Round) => number) => round(mid(rounds.filter((r) => r.kind === kind).map(f)), 1);
  const heraldPerMin = median('herald', (r) => r.perMinute);
  const barePerMin = median('bare', (r) => r.perMinute);
  const share = heraldPerMin / barePerMin;
  printTable(`pipeline vs bare Temporal: ${N} per round, ${C} concurrent submitters, ${ROUNDS} alternating rounds`, ['round', 'completed', 'span s', 'per min', 'submit p50 ms', 'submit p99 ms', 'e2e p50 ms', 'load 1m'], rounds.map((r) => [`${r.round} ${r.kind}`, r.completed, r.spanS, r.perMinute, r.submitMs.p50, r.submitMs.p99, r.endToEndMs?.p50, r.load1m]) as Cell[][]);
  printTable('medians over rounds', ['metric', 'herald', 'bare', 'herald / bare'], [
    ['throughput, pipelines/min', heraldPerMin, barePerMin, `${round(share * 100, 1)}% (target >= 90%)`],
    ['submit p50, ms', median('herald', (r) => r.submitMs.p50), median('bare', (r) => r.submitMs.p50), null],
    ['submit p99, ms', median('herald', (r) => r.submitMs.p99), median('bare', (r) => r.submitMs.p99), null],
  ]);
  const file = writeResults('pipeline-baseline', {
    config: { n: N, rounds: ROUNDS, concurrency: C, herald: 'dry-run thread, 4 platforms, title cards, 1 worker (src/worker/main.ts), PostgreSQL, Redis', bare: '10 activities + 4 child workflows of 1 activity, each followed by 1 activity; activities do nothing' },
    rounds,
    medians: { heraldPerMinute: heraldPerMin, barePerMinute: barePerMin, heraldShareOfBare: round(share, 3), target: '>= 0.9' },
    failures,
    totalS: round((Date.now() - t0) / 1000, 1),
  });
  say(`results: ${file}`);
  return failures ? 1 : 0;
}
