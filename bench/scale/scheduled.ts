// Part "scheduled" of `npm run bench -- scale`: one worker, `n` dry-run pipelines with publishAt tomorrow, submitted by
// 20 clients at once; the worker's RSS (/proc/<pid>/status) after a warm-up pipeline, at its peak while they are
// submitted and prepared (sampled every second), 5 s after every one waits in `scheduled`, and after SETTLE_MS more
// with nothing to do (`settled`). `samples` holds RSS and the load average against the number waiting through the run;
// the slope per waiting pipeline is taken from `before` to `settled` (what the waiting pipelines hold, once what
// preparing them needed is given back). The worker's V8 heap and external memory (its /metrics, WORKER_METRICS_PORT)
// are read at the same points: the rest of RSS is native (Temporal Core, the workflow thread, malloc arenas, code).
//
// `image`: `none` (the default) asks for no image, so a pipeline's preparation is text (the offline writer: no AI
// call, since the bench configures no AI key) and adaptation; `auto` gives each a title card (IMAGE_SOURCES=card),
// two PNGs laid out by satori and drawn by Skia, which is several times slower on a small machine: run it with a smaller
// --scheduled. The worker runs with npm run worker's defaults (its sticky cache: WORKER_MAX_CACHED_WORKFLOWS, unset =
// src/bootstrap/worker.ts's default; MALLOC_ARENA_MAX=2 and MALLOC_MMAP_THRESHOLD_=1048576 unless set).
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { freePort } from '../../test/helpers/ports';
import { followPipelines, followPipelinesInDb, load1m, rssMbOf, startHeraldStack, threadRequest } from '../lib/herald-stack';
import { sleep } from '../lib/stack';
import { round } from '../lib/stats';
import { say, submit, TENANT } from './common';

export const SCHEDULED_IMAGE_MODES = ['none', 'auto'] as const;
export type ScheduledImageMode = (typeof SCHEDULED_IMAGE_MODES)[number];

export interface ScheduledOptions {
  n: number;
  limitMs: number;
  image: ScheduledImageMode;
}

const SETTLE_MS = 60_000;

/** The worker's memory as its own /metrics reports it (MB), beside RSS from /proc. */
interface Breakdown {
  rssMb: number | null;
  heapUsedMb: number | null;
  heapTotalMb: number | null;
  externalMb: number | null;
  /** RSS less the V8 heap's committed size and external memory: Temporal Core, the workflow thread, malloc, code. */
  nativeMb: number | null;
}

async function breakdown(port: number, pid: number | undefined): Promise<Breakdown> {
  const rssMb = rssMbOf(pid);
  let text = '';
  try {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
    if (r.ok) text = await r.text();
  } catch {
    // no reading: nulls below
  }
  const metric = (name: string): number | null => {
    const m = new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text);
    return m ? round(Number(m[1]) / 1048576, 1) : null;
  };
  const heapUsedMb = metric('nodejs_heap_size_used_bytes');
  const heapTotalMb = metric('nodejs_heap_size_total_bytes');
  const externalMb = metric('nodejs_external_memory_bytes');
  const nativeMb = rssMb !== null && heapTotalMb !== null && externalMb !== null ? round(rssMb - heapTotalMb - externalMb, 1) : null;
  return { rssMb, heapUsedMb, heapTotalMb, externalMb, nativeMb };
}

export async function scheduledPart(o: ScheduledOptions) {
  const metricsPort = await freePort();
  // The worker's environment as `npm run worker` (scripts/run.mjs) gives it: two malloc arenas and a fixed 1 MB mmap
  // threshold unless set.
  const stack = await startHeraldStack({
    name: 'scale_scheduled',
    tenants: [TENANT],
    workers: 1,
    extraEnv: { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2', MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '1048576' },
    workerEnv: () => ({ WORKER_METRICS_PORT: String(metricsPort) }),
    overallMs: 2 * o.limitMs + 600_000,
    say,
  });
  try {
    const image = { mode: o.image };
    const warm = await submit(stack, [threadRequest(-1, { image })]);
    await followPipelines(stack.baseUrl, TENANT.key, warm, Date.now() + 120_000, 250);
    const pid = stack.workers[0].pid;
    const before = await breakdown(metricsPort, pid);
    const rssBefore = before.rssMb;
    const publishAt = new Date(Date.now() + 86_400_000).toISOString();
    const s0 = performance.now();
    const sinceS = () => round((performance.now() - s0) / 1000, 1);
    let waitingNow = 0;
    let peak = { rssMb: rssBefore ?? 0, s: 0, waiting: 0 };
    const loads: number[] = [];
    // RSS every second; how many wait, counted in the database, every other (also while they are still submitted).
    let sampling = true;
    const sampler = (async () => {
      for (let tick = 0; sampling; tick++) {
        if (tick % 2 === 0) {
          const { rows } = await stack.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pipelines WHERE status = 'scheduled'").catch(() => ({ rows: [] as { n: number }[] }));
          if (rows[0]) waitingNow = rows[0].n;
        }
        const rss = rssMbOf(pid) ?? 0;
        if (rss > peak.rssMb) peak = { rssMb: rss, s: sinceS(), waiting: waitingNow };
        await sleep(1000);
      }
    })();
    let peakBreakdown: Breakdown | null = null;
    const samples: { s: number; waiting: number; rssMb: number | null; load1m: number }[] = [{ s: 0, waiting: 0, rssMb: rssBefore, load1m: load1m() }];
    let seen: Awaited<ReturnType<typeof followPipelinesInDb>>;
    let submitS: number;
    try {
      // Followed in the database rather than through the API: listing 10,000 pipelines every round would load the
      // machine the worker runs on as much as the work it measures.
      const ids = await submit(stack, Array.from({ length: o.n }, (_, i) => threadRequest(100_000 + i, { publishAt, image })));
      submitS = sinceS();
      say(`scheduled: ${ids.length} submitted in ${submitS} s (image.mode ${o.image}), worker rss ${rssMbOf(pid)} MB, load ${load1m()}`);
      let lastSample = 0;
      seen = await followPipelinesInDb(stack.pool, ids, Date.now() + o.limitMs, 1000, (done, total) => {
        if (Date.now() - lastSample < 10_000) return;
        lastSample = Date.now();
        const rss = rssMbOf(pid);
        const load = load1m();
        loads.push(load);
        samples.push({ s: sinceS(), waiting: done, rssMb: rss, load1m: load });
        say(`scheduled: ${done}/${total} waiting, worker rss ${rss} MB (peak ${peak.rssMb} at ${peak.waiting} waiting), ${Math.round(sinceS())} s, load ${load}`);
        // The heap and external memory near the peak: read when RSS is within 2% of the highest seen so far.
        if (rss !== null && rss >= peak.rssMb * 0.98) void breakdown(metricsPort, pid).then((b) => (peakBreakdown = b));
      }, (st) => st === 'scheduled');
    } finally {
      sampling = false;
      await sampler;
    }
    const waiting = [...seen.values()].filter((st) => st.status === 'scheduled').length;
    const allWaitingAfterS = sinceS();
    const loadAtEnd = os.loadavg().map((l) => round(l, 2));
    await sleep(5000); // lets the last workflow tasks settle before the final reading
    const after = await breakdown(metricsPort, pid);
    const rssAfter = after.rssMb;
    if ((rssAfter ?? 0) > peak.rssMb) peak = { rssMb: rssAfter ?? 0, s: sinceS(), waiting };
    samples.push({ s: sinceS(), waiting, rssMb: rssAfter, load1m: load1m() });
    // Nothing left to run: what the worker holds for the waiting pipelines once its garbage is collected and returned.
    await sleep(SETTLE_MS);
    const settled = await breakdown(metricsPort, pid);
    const rssSettled = settled.rssMb;
    const slope = (to: number | null) => (to !== null && rssBefore !== null && waiting > 0 ? round(((to - rssBefore) * 1024) / waiting, 1) : null);
    say(
      `scheduled: ${waiting}/${o.n} waiting after ${allWaitingAfterS} s (load ${loadAtEnd.join(' ')}); worker rss ${rssBefore} -> ${rssAfter} MB ` +
        `(peak ${peak.rssMb} at ${peak.waiting} waiting), ${rssSettled} MB ${SETTLE_MS / 1000} s later; ${slope(rssSettled)} KB per waiting pipeline`,
    );
    return {
      n: o.n,
      imageMode: o.image,
      waiting,
      submitS: round(submitS, 1),
      allWaitingAfterS,
      pipelinesPerS: allWaitingAfterS > 0 ? round(waiting / allWaitingAfterS, 2) : null,
      workerRssMb: { before: rssBefore, peak: round(peak.rssMb, 1), after: rssAfter, settled: rssSettled },
      peakAt: { s: peak.s, waiting: peak.waiting },
      memory: { before, nearPeak: peakBreakdown, after, settled },
      settleS: SETTLE_MS / 1000,
      /** (settled - before) / waiting: what a waiting pipeline costs the worker. */
      kbPerWaitingPipeline: slope(rssSettled),
      /** (after - before) / waiting, 5 s after the last one waits (earlier runs' figure). */
      kbPerWaitingPipelineAfter: slope(rssAfter),
      load1m: { min: loads.length ? Math.min(...loads) : null, max: loads.length ? Math.max(...loads) : null, atAllWaiting: loadAtEnd },
      maxCachedWorkflows: stack.env.WORKER_MAX_CACHED_WORKFLOWS ?? process.env.WORKER_MAX_CACHED_WORKFLOWS ?? 'default',
      mallocArenaMax: stack.env.MALLOC_ARENA_MAX,
      mallocMmapThreshold: stack.env.MALLOC_MMAP_THRESHOLD_,
      samples,
      publishAt,
      failures: o.n - waiting,
    };
  } finally {
    await stack.stop();
  }
}
