// Part "scheduled" of `npm run bench -- scale`: one worker, `n` dry-run pipelines with publishAt tomorrow; the worker's
// RSS (/proc/<pid>/status) after a warm-up pipeline, at its peak while they are prepared, and 5 s after every one
// waits in `scheduled`.
import { performance } from 'node:perf_hooks';
import { followPipelines, rssMbOf, startHeraldStack, threadRequest } from '../lib/herald-stack';
import { sleep } from '../lib/stack';
import { round } from '../lib/stats';
import { say, submit, TENANT } from './common';

export interface ScheduledOptions { n: number; limitMs: number }

export async function scheduledPart(o: ScheduledOptions) {
  const stack = await startHeraldStack({ name: 'scale_scheduled', tenants: [TENANT], workers: 1, overallMs: 2 * o.limitMs + 600_000, say });
  try {
    const warm = await submit(stack, [threadRequest(-1)]);
    await followPipelines(stack.baseUrl, TENANT.key, warm, Date.now() + 120_000, 250);
    const pid = stack.workers[0].pid;
    const rssBefore = rssMbOf(pid);
    const publishAt = new Date(Date.now() + 86_400_000).toISOString();
    const s0 = performance.now();
    const ids = await submit(stack, Array.from({ length: o.n }, (_, i) => threadRequest(100_000 + i, { publishAt })));
    const submitS = (performance.now() - s0) / 1000;
    let peakRss = rssBefore ?? 0;
    let lastSay = 0;
    const seen = await followPipelines(stack.baseUrl, TENANT.key, ids, Date.now() + o.limitMs, 2000, (done, total) => {
      peakRss = Math.max(peakRss, rssMbOf(pid) ?? 0);
      if (Date.now() - lastSay > 15_000) {
        lastSay = Date.now();
        say(`scheduled: ${done}/${total} waiting, worker rss ${rssMbOf(pid)} MB`);
      }
    }, (st) => st === 'scheduled');
    const waiting = [...seen.values()].filter((st) => st.status === 'scheduled').length;
    const allWaitingAfterS = round((performance.now() - s0) / 1000, 1);
    await sleep(5000); // lets the last workflow tasks settle before the final reading
    const rssAfter = rssMbOf(pid);
    say(`scheduled: ${waiting}/${o.n} waiting; worker rss ${rssBefore} -> ${rssAfter} MB (peak ${peakRss})`);
    return { n: o.n, waiting, submitS: round(submitS, 1), allWaitingAfterS, workerRssMb: { before: rssBefore, peak: round(peakRss, 1), after: rssAfter }, publishAt, failures: o.n - waiting };
  } finally {
    await stack.stop();
  }
}
