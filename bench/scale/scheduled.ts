// Part "scheduled" of `npm run bench -- scale`: one worker, `n` dry-run pipelines with publishAt tomorrow; the worker's
// RSS (/proc/<pid>/status) after a warm-up pipeline, at its peak while they are submitted and prepared (sampled every
// 2 s), 5 s after every one waits in `scheduled`, and after SETTLE_MS more with nothing to do (`settled`). `samples`
// holds RSS against the number waiting through the run (the slope per pipeline); the worker runs with npm run
// worker's defaults (its sticky cache: WORKER_MAX_CACHED_WORKFLOWS, unset = src/bootstrap/worker.ts's default).
import { performance } from 'node:perf_hooks';
import { followPipelines, rssMbOf, startHeraldStack, threadRequest } from '../lib/herald-stack';
import { sleep } from '../lib/stack';
import { round } from '../lib/stats';
import { say, submit, TENANT } from './common';

export interface ScheduledOptions { n: number; limitMs: number }

const SETTLE_MS = 60_000;

export async function scheduledPart(o: ScheduledOptions) {
  // The worker's environment as `npm run worker` (scripts/run.mjs) gives it: two malloc arenas unless set.
  const stack = await startHeraldStack({ name: 'scale_scheduled', tenants: [TENANT], workers: 1, extraEnv: { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' }, overallMs: 2 * o.limitMs + 600_000, say });
  try {
    const warm = await submit(stack, [threadRequest(-1)]);
    await followPipelines(stack.baseUrl, TENANT.key, warm, Date.now() + 120_000, 250);
    const pid = stack.workers[0].pid;
    const rssBefore = rssMbOf(pid);
    const publishAt = new Date(Date.now() + 86_400_000).toISOString();
    const s0 = performance.now();
    let peakRss = rssBefore ?? 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMbOf(pid) ?? 0)), 2000);
    const samples: { s: number; waiting: number; rssMb: number | null }[] = [{ s: 0, waiting: 0, rssMb: rssBefore }];
    let seen: Awaited<ReturnType<typeof followPipelines>>;
    let submitS: number;
    try {
      const ids = await submit(stack, Array.from({ length: o.n }, (_, i) => threadRequest(100_000 + i, { publishAt })));
      submitS = (performance.now() - s0) / 1000;
      say(`scheduled: ${ids.length} submitted in ${round(submitS, 1)} s, worker rss ${rssMbOf(pid)} MB`);
      let lastSample = 0;
      seen = await followPipelines(stack.baseUrl, TENANT.key, ids, Date.now() + o.limitMs, 2000, (done, total) => {
        if (Date.now() - lastSample > 15_000) {
          lastSample = Date.now();
          const rss = rssMbOf(pid);
          samples.push({ s: round((performance.now() - s0) / 1000, 1), waiting: done, rssMb: rss });
          say(`scheduled: ${done}/${total} waiting, worker rss ${rss} MB (peak ${peakRss}), ${round((performance.now() - s0) / 1000)} s`);
        }
      }, (st) => st === 'scheduled');
    } finally {
      clearInterval(sampler);
    }
    const waiting = [...seen.values()].filter((st) => st.status === 'scheduled').length;
    const allWaitingAfterS = round((performance.now() - s0) / 1000, 1);
    await sleep(5000); // lets the last workflow tasks settle before the final reading
    const rssAfter = rssMbOf(pid);
    peakRss = Math.max(peakRss, rssAfter ?? 0);
    samples.push({ s: round((performance.now() - s0) / 1000, 1), waiting, rssMb: rssAfter });
    // Nothing left to run: what the worker holds for the waiting pipelines once its garbage is collected and returned.
    await sleep(SETTLE_MS);
    const rssSettled = rssMbOf(pid);
    const slope = rssAfter !== null && rssBefore !== null && waiting > 0 ? round(((rssAfter - rssBefore) * 1024) / waiting, 1) : null;
    say(`scheduled: ${waiting}/${o.n} waiting; worker rss ${rssBefore} -> ${rssAfter} MB (peak ${peakRss}), ${rssSettled} MB ${SETTLE_MS / 1000} s later; ${slope} KB per waiting pipeline`);
    return {
      n: o.n,
      waiting,
      submitS: round(submitS, 1),
      allWaitingAfterS,
      workerRssMb: { before: rssBefore, peak: round(peakRss, 1), after: rssAfter, settled: rssSettled },
      settleS: SETTLE_MS / 1000,
      kbPerWaitingPipeline: slope,
      maxCachedWorkflows: stack.env.WORKER_MAX_CACHED_WORKFLOWS ?? process.env.WORKER_MAX_CACHED_WORKFLOWS ?? 'default',
      mallocArenaMax: stack.env.MALLOC_ARENA_MAX,
      samples,
      publishAt,
      failures: o.n - waiting,
    };
  } finally {
    await stack.stop();
  }
}
