// Benchmark: does a burst behind a per-minute limit drain at the limit's rate while the worker is busy? (issue 7, item 3)
//
//   webhook  200 posts to ONE webhook account, RATE_LIMIT_WEBHOOK=60/1m, delivered for real to the imitation receiver
//            (test/fakes/webhook-server.ts, in this process, timestamping every delivery)
//   ai       200 dry-run pipelines whose text comes from the imitation OpenAI (test/fakes/openai-server.ts), which itself
//            refuses with a real 429 anything above 60 accepted requests in any 60 s; RATE_LIMIT_OPENAI=60/1m,
//            TEXT_PROVIDERS=openai (no fallback), the token window switched off (RATE_LIMIT_OPENAI_TOKENS=none)
//
// The real stack: the Temporal dev server that `npm run bench` starts, PostgreSQL (a fresh database per run), a private
// redis-server, ONE worker process (`node --import tsx src/worker/main.ts`) and the API in this process, driven over
// HTTP. The worker is under CPU load for the whole run: a busy-loop child process per core beyond the first, so the
// worker shares its core with it (DRAIN_LOAD=0 switches it off).
//
// Measured: time from the start of submission to the last delivery (webhook) or the last pipeline published (ai);
// deliveries per minute; the most deliveries in any 60 s; the most publications / pipelines waiting at once; 429s;
// activity attempts. Target: everything through within 200 s + 10% = 220 s.
//
// Before (as the issue measured it, old limiter; that code is gone, so it is not re-run here): 30 posts to one webhook
// account at 60/1m got 6 deliveries in the first 188 s and 9 were still waiting after 5 minutes.
//
//   npm run bench -- drain                  (both runs, about 9 minutes)
//   DRAIN_RUNS=webhook npm run bench -- drain
//   DRAIN_N=200 DRAIN_LIMIT=60/1m DRAIN_LOAD=1
//
// Bounded: each run stops by itself after DRAIN_RUN_LIMIT_S (default 420 s); children (worker, load, redis-server) are
// killed at the end, on errors and on signals; all traffic stays on 127.0.0.1.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { pipelineWorkflowId } from '../../src/domain/ids';
import { parseLimitSpec } from '../../src/resilience';
import type { FakeAiServer, RecordedRequest as AiRequest } from '../../test/fakes/fake-control';
import { startOpenAIFake } from '../../test/fakes/openai-server';
import { startFakeWebhookServer, type FakeWebhookServer, type RecordedRequest as HookRequest } from '../../test/fakes/webhook-server';
import { busiest } from '../../test/helpers/busiest';
import { BENCH_ROOT, machineInfo, markdownTable, printTable, RESULTS_DIR, writeResults, type Cell } from '../lib/report';
import {
  ADMIN_DATABASE_URL,
  apiRequest,
  boundedOutput,
  freshDatabase,
  numEnv,
  sleep,
  spawnWorker,
  startBenchApi,
  startRedis,
  stopChild,
  stackEnv,
  stopOnSignals,
  tearDownBench,
  track,
  type BenchApi,
} from '../lib/stack';
import { round } from '../lib/stats';

const N = Math.round(numEnv('DRAIN_N', 200, 1));
const LIMIT = process.env.DRAIN_LIMIT || '60/1m';
const [WINDOW] = parseLimitSpec(LIMIT);
if (!WINDOW) throw new Error(`DRAIN_LIMIT: "${LIMIT}" names no limit`);
const LOAD = process.env.DRAIN_LOAD !== '0';
const RUN_NAMES = ['webhook', 'ai'] as const;
type RunName = (typeof RUN_NAMES)[number];
const RUNS = (process.env.DRAIN_RUNS || RUN_NAMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean) as RunName[];
for (const r of RUNS) if (!(RUN_NAMES as readonly string[]).includes(r)) throw new Error(`DRAIN_RUNS: unknown run "${r}" (webhook, ai)`);
const RUN_LIMIT_MS = numEnv('DRAIN_RUN_LIMIT_S', 420, 60) * 1000;
/** What the limit alone allows: N calls at count per window (paced), and the promise: that + 10%. */
const IDEAL_MS = (N / WINDOW.count) * WINDOW.windowMs;
const TARGET_MS = Math.round(IDEAL_MS * 1.1);
const SUBMITTERS = 8;

const ROOT = path.resolve(BENCH_ROOT, '..');
const DB_NAME = 'herald_drain_bench';
const TENANT = 'drain';
const API_KEY = 'herald-drain-bench-key';
const ENCRYPTION_KEY = Buffer.alloc(32, 13);
const TERMINAL = ['published', 'partially_published', 'failed', 'rejected', 'cancelled', 'expired'];

const say = (msg: string) => console.log(`drain bench: ${msg}`);

/** Busy loops, one per core beyond the first: the worker shares a core with one for the whole run. */
function startLoad(): ChildProcess[] {
  if (!LOAD) return [];
  const n = Math.max(1, os.cpus().length - 1);
  return [...Array(n)].map(() => track(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' })));
}

const api = (baseUrl: string, method: string, p: string, body?: unknown) => apiRequest(baseUrl, API_KEY, method, p, body, 20_000);

// --- one run -----------------------------------------------------------------------------------------------------------

interface RunResult {
  name: RunName;
  label: string;
  /** When the run ended, the 1-minute load average then, and the commit measured. */
  at: string;
  loadAvg1m: number;
  commit: string;
  env: Record<string, string>;
  submitted: number;
  submitFailures: number;
  submitS: number;
  /** Start of submission -> the last delivery (webhook) or the last accepted provider request (ai). */
  lastCallS: number | null;
  /** Start of submission -> every pipeline in a final state. */
  allDoneS: number | null;
  withinTarget: boolean;
  calls: { delivered: number; perMinute: number[]; busiestMinute: number; first: number | null; spanS: number | null; ratePerMin: number | null };
  refused429: number;
  duplicates: number;
  maxWaiting: number;
  pipelines: { byStatus: Record<string, number>; unfinished: number };
  activityAttempts: { sampled: number; mean: number | null; max: number | null };
  workerLogLines: number;
  workerLogFirst: string[];
}

async function runOnce(name: RunName, admin: Pool, temporalAddress: string, redisPort: number, redisDb: number): Promise<RunResult> {
  const runStart = Date.now();
  const deadline = runStart + RUN_LIMIT_MS;
  const label = name === 'webhook' ? `${N} posts to one webhook account` : `${N} pipelines, text from one AI provider`;
  say(`--- run "${name}": ${label}, limit ${LIMIT}, worker ${LOAD ? 'under CPU load' : 'not loaded'}; stops by itself within ${RUN_LIMIT_MS / 1000} s`);

  const { dbUrl, pool } = await freshDatabase(admin, DB_NAME);

  // The imitation on the other end, timestamping what it accepts.
  let hook: FakeWebhookServer | null = null;
  let ai: FakeAiServer | null = null;
  const callTimes: number[] = [];
  const refusedTimes: number[] = [];
  const bodies: string[] = [];
  if (name === 'webhook') {
    hook = await startFakeWebhookServer();
    const push = hook.received.push.bind(hook.received);
    hook.received.push = (...items: HookRequest[]) => {
      for (const it of items) {
        callTimes.push(Date.now());
        bodies.push(JSON.stringify(it.body));
      }
      return push(...items);
    };
  } else {
    ai = await startOpenAIFake({ apiKey: 'drain' });
    ai.control.enforceRateLimit({ requests: WINDOW.count, windowMs: WINDOW.windowMs });
    // The fake decides in the callback that records the request: `accepted` read at the next request says what became of this one.
    const marks: { at: number; acceptedBefore: number }[] = [];
    const push = ai.requests.push.bind(ai.requests);
    ai.requests.push = (...items: AiRequest[]) => {
      for (const it of items) marks.push({ at: it.at, acceptedBefore: ai!.accepted });
      return push(...items);
    };
    const settleOutcomes = () => {
      callTimes.length = 0;
      refusedTimes.length = 0;
      marks.forEach((m, i) => {
        const after = i + 1 < marks.length ? marks[i + 1].acceptedBefore : ai!.accepted;
        (after > m.acceptedBefore ? callTimes : refusedTimes).push(m.at);
      });
    };
    (ai as unknown as { settle: () => void }).settle = settleOutcomes;
  }
  const settle = () => (ai as unknown as { settle?: () => void } | null)?.settle?.();

  const taskQueue = `herald-drain-${name}-${randomBytes(4).toString('hex')}`;
  const redisUrl = `redis://127.0.0.1:${redisPort}/${redisDb}`;
  const env: Record<string, string> = {
    ...stackEnv({ dbUrl, temporalAddress, taskQueue, redisUrl, encryptionKey: ENCRYPTION_KEY, tenant: TENANT, apiKey: API_KEY, dataDir: path.join(ROOT, '.data', 'drain-bench') }),
    ...(name === 'webhook'
      ? { RATE_LIMIT_WEBHOOK: LIMIT, TEXT_PROVIDERS: 'offline' }
      : { OPENAI_API_KEY: 'drain', OPENAI_BASE_URL: ai!.url, TEXT_PROVIDERS: 'openai', RATE_LIMIT_OPENAI: LIMIT, RATE_LIMIT_OPENAI_TOKENS: 'none' }),
  };

  const out = boundedOutput(6);
  let worker: ChildProcess | null = null;
  let load: ChildProcess[] = [];
  let benchApi: BenchApi | null = null;
  try {
    worker = spawnWorker(ROOT, env, out);

    benchApi = await startBenchApi({ env, pool, temporalAddress, redisUrl, encryptionKey: ENCRYPTION_KEY, name: 'drain-bench-api' });
    const { config, client, baseUrl } = benchApi;

    // The worker polling both task queues.
    const readyBy = Date.now() + 120_000;
    for (;;) {
      if (worker.exitCode !== null) throw new Error(`the worker exited (code ${worker.exitCode}): ${out.lines.join(' | ')}`);
      const count = async (taskQueueType: number) =>
        (await client.workflowService.describeTaskQueue({ namespace: config.temporal.namespace, taskQueue: { name: taskQueue, kind: 1 }, taskQueueType })).pollers?.length ?? 0;
      const ready = await Promise.all([count(1), count(2)]).catch(() => [0, 0]);
      if (ready[0] > 0 && ready[1] > 0) break;
      if (Date.now() > readyBy) throw new Error('the worker did not poll within 120 s');
      await sleep(500);
    }

    let accountId: string | null = null;
    if (name === 'webhook') {
      const r = await api(baseUrl, 'POST', '/v1/accounts', { platform: 'webhook', handle: 'drain', credentials: { url: `${hook!.url}/hook/drain-secret` } });
      if (r.status !== 201) throw new Error(`connecting the webhook account answered ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`);
      accountId = r.json.id;
    }

    load = startLoad();
    if (load.length) say(`CPU load: ${load.length} busy-loop process(es) on ${os.cpus().length} cores`);
    await sleep(1000);

    // Submission: N pipelines, SUBMITTERS at a time.
    const ids: string[] = [];
    let submitFailures = 0;
    let next = 0;
    const body = (i: number) =>
      name === 'webhook'
        ? { topic: `Drain ${i + 1}: one account, one line`, targets: [{ platform: 'webhook', accountId }], image: { mode: 'none' } }
        : { topic: `Drain ${i + 1}: one AI provider, one line`, targets: [{ platform: 'x' }], image: { mode: 'none' }, dryRun: true, cache: false };
    const t0 = Date.now();
    await Promise.all(
      [...Array(SUBMITTERS)].map(async () => {
        while (next < N) {
          const i = next++;
          const r = await api(baseUrl, 'POST', '/v1/pipelines', body(i)).catch((err: Error) => ({ status: 0, json: err.message }));
          if (r.status === 202) ids.push(r.json.id);
          else if (++submitFailures <= 3) say(`submit answered ${r.status}: ${JSON.stringify(r.json).slice(0, 200)}`);
        }
      }),
    );
    const submitS = (Date.now() - t0) / 1000;
    say(`submitted ${ids.length} in ${submitS.toFixed(1)} s (${submitFailures} failed)`);

    // Follow until everything is final (or the run's time is up), sampling how many wait.
    let maxWaiting = 0;
    let allDone: number | null = null;
    let lastReport = 0;
    for (;;) {
      const rows = (
        await pool.query<{ status: string; n: string; waiting: string }>(
          `SELECT status, count(*) AS n,
                  count(*) FILTER (WHERE state->'publications'->0->>'status' = 'waiting') AS waiting
             FROM pipelines GROUP BY status`,
        )
      ).rows;
      const open = rows.filter((r) => !TERMINAL.includes(r.status)).reduce((s, r) => s + Number(r.n), 0);
      // Waiting for the limit: publications in status waiting (webhook) or pipelines still waiting for their text (ai).
      const waiting =
        name === 'webhook'
          ? rows.reduce((s, r) => s + Number(r.waiting), 0)
          : rows.filter((r) => r.status === 'queued' || r.status === 'generating').reduce((s, r) => s + Number(r.n), 0);
      maxWaiting = Math.max(maxWaiting, waiting);
      settle();
      const now = Date.now();
      if (now - lastReport >= 15_000) {
        lastReport = now;
        say(`${((now - t0) / 1000).toFixed(0)} s: ${callTimes.length} calls accepted, ${refusedTimes.length} refused; ${waiting} waiting; ${open} open`);
      }
      if (open === 0 && ids.length > 0) {
        allDone = now;
        break;
      }
      if (now > deadline - 30_000) {
        say('the run reached its time limit');
        break;
      }
      await sleep(1000);
    }
    settle();

    const rows = (await pool.query<{ id: string; status: string }>('SELECT id, status FROM pipelines')).rows;
    const byStatus: Record<string, number> = {};
    for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const unfinished = rows.filter((r) => !TERMINAL.includes(r.status)).length;

    // Activity attempts (publishPost or generateText), from a spread sample of histories.
    const activity = name === 'webhook' ? 'publishPost' : 'generateText';
    const attempts: number[] = [];
    const sampleBy = Date.now() + 20_000;
    const stride = Math.max(1, Math.floor(ids.length / 40));
    for (let i = 0; i < ids.length && Date.now() < sampleBy; i += stride) {
      try {
        const wf = client.workflow.getHandle(pipelineWorkflowId(TENANT, ids[i]));
        const events = ((await wf.fetchHistory()).events ?? []) as any[];
        let count = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity).length;
        let last = events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => Number(e.activityTaskStartedEventAttributes.attempt));
        if (name === 'webhook') {
          // publishPost runs in the publishing child workflow.
          const child = events.find((e) => e.childWorkflowExecutionStartedEventAttributes)?.childWorkflowExecutionStartedEventAttributes;
          if (child) {
            const ce = ((await client.workflow.getHandle(child.workflowExecution.workflowId).fetchHistory()).events ?? []) as any[];
            count = ce.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity).length;
            last = ce.filter((e) => e.activityTaskStartedEventAttributes).map((e) => Number(e.activityTaskStartedEventAttributes.attempt));
          }
          attempts.push(count); // each wait is a new activity
        } else attempts.push(Math.max(0, ...last)); // generateText waits by retrying the same activity
      } catch {
        // skip
      }
    }

    // Leave nothing running on the dev server.
    for (const r of rows.filter((x) => !TERMINAL.includes(x.status))) {
      await client.workflow.getHandle(pipelineWorkflowId(TENANT, r.id)).terminate('drain bench run over').catch(() => undefined);
    }

    const times = [...callTimes].sort((a, b) => a - b);
    const first = times.length ? times[0] : null;
    const lastCall = times.length ? times[times.length - 1] : null;
    const perMinute: number[] = [];
    for (let m = 0; first !== null && first + m * 60_000 <= lastCall!; m++) perMinute.push(times.filter((t) => t >= first + m * 60_000 && t < first + (m + 1) * 60_000).length);
    const spanS = first !== null ? (lastCall! - first) / 1000 : null;
    const lastCallS = lastCall !== null ? (lastCall - t0) / 1000 : null;
    const expected = name === 'webhook' ? ids.length : ids.length;
    const complete = times.length >= expected && unfinished === 0 && (byStatus.published ?? 0) === ids.length;
    return {
      name,
      label,
      at: new Date().toISOString(),
      loadAvg1m: round(os.loadavg()[0], 2),
      commit: gitCommit(),
      env: Object.fromEntries(Object.entries(env).filter(([k]) => /^(RATE_LIMIT|TEXT_PROVIDERS|IMAGE_SOURCES)/.test(k))),
      submitted: ids.length,
      submitFailures,
      submitS: round(submitS, 1),
      lastCallS: lastCallS === null ? null : round(lastCallS, 1),
      allDoneS: allDone === null ? null : round((allDone - t0) / 1000, 1),
      withinTarget: complete && lastCallS !== null && lastCallS * 1000 <= TARGET_MS,
      calls: {
        delivered: times.length,
        perMinute,
        busiestMinute: busiest(times, 60_000),
        first: first === null ? null : round((first - t0) / 1000, 1),
        spanS: spanS === null ? null : round(spanS, 1),
        ratePerMin: spanS ? round(((times.length - 1) / spanS) * 60, 1) : null,
      },
      refused429: name === 'webhook' ? hook!.rejected.filter((r) => r.status === 429).length : refusedTimes.length,
      duplicates: name === 'webhook' ? bodies.length - new Set(bodies).size : 0,
      maxWaiting,
      pipelines: { byStatus, unfinished },
      activityAttempts: {
        sampled: attempts.length,
        mean: attempts.length ? round(attempts.reduce((a, b) => a + b, 0) / attempts.length, 2) : null,
        max: attempts.length ? Math.max(...attempts) : null,
      },
      workerLogLines: out.count,
      workerLogFirst: out.lines.slice(0, 3),
    };
  } finally {
    await Promise.all(load.map((c) => stopChild(c, 2000)));
    if (worker) await stopChild(worker, 12_000);
    await benchApi?.close();
    await hook?.close().catch(() => undefined);
    await ai?.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** With DRAIN_KEEP=1, runs of an earlier bench/results/drain.json that this invocation does not repeat. */
function keptRuns(): RunResult[] {
  if (process.env.DRAIN_KEEP !== '1') return [];
  try {
    const old = JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, 'drain.json'), 'utf8')) as { runs?: RunResult[] };
    return (old.runs ?? []).filter((r) => !RUNS.includes(r.name));
  } catch {
    return [];
  }
}

// --- report --------------------------------------------------------------------------------------------------------------

function rows(runs: RunResult[]): Cell[][] {
  const row = (label: string, f: (r: RunResult) => Cell): Cell[] => [label, ...runs.map(f)];
  return [
    row('measured at (load average 1 min)', (r) => `${r.at.slice(11, 16)} UTC (${r.loadAvg1m})`),
    row('limit', (r) => Object.entries(r.env).filter(([k]) => k.startsWith('RATE_LIMIT')).map(([k, v]) => `${k}=${v}`).join(' ')),
    row('submitted (failed), submission took', (r) => `${r.submitted} (${r.submitFailures}), ${r.submitS} s`),
    row(`submit -> last call, s (target <= ${TARGET_MS / 1000})`, (r) => `${r.lastCallS ?? '-'} ${r.withinTarget ? 'MET' : 'NOT met'}`),
    row('submit -> every pipeline final, s', (r) => r.allDoneS ?? `not all (${r.pipelines.unfinished} open)`),
    row('calls accepted by the receiver', (r) => r.calls.delivered),
    row('first call after submit, s', (r) => r.calls.first),
    row('first call -> last call, s (the drain itself)', (r) => r.calls.spanS),
    row('calls per minute (each minute from the first)', (r) => r.calls.perMinute.join(', ')),
    row('rate over the span, per minute', (r) => r.calls.ratePerMin),
    row(`most calls in any 60 s (limit ${WINDOW.count})`, (r) => r.calls.busiestMinute),
    row('429s received', (r) => r.refused429),
    row('duplicate deliveries', (r) => r.duplicates),
    row('most waiting at once', (r) => r.maxWaiting),
    row('pipelines by status', (r) => Object.entries(r.pipelines.byStatus).map(([k, v]) => `${k} ${v}`).join(', ')),
    row('activity attempts per pipeline (sample): mean / max', (r) => `${r.activityAttempts.mean} / ${r.activityAttempts.max} (${r.activityAttempts.sampled})`),
  ];
}

async function main(): Promise<number> {
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress) throw new Error('TEMPORAL_ADDRESS is not set: run this with `npm run bench -- drain`');
  say(`${N} calls behind ${LIMIT}: the limit alone needs ${IDEAL_MS / 1000} s; target ${TARGET_MS / 1000} s; runs: ${RUNS.join(', ')}`);
  const admin = new Pool({ connectionString: ADMIN_DATABASE_URL, max: 2 });
  let redisChild: ChildProcess | null = null;
  stopOnSignals({ admin, dbName: DB_NAME, say, overallMs: RUNS.length * RUN_LIMIT_MS + 60_000, benchName: 'drain' });

  try {
    const r = await startRedis();
    redisChild = r.child;
    say(`private redis-server on 127.0.0.1:${r.port}`);
    const kept = keptRuns();
    const runs: RunResult[] = [];
    const save = () =>
      writeResults('drain', {
        config: { n: N, limit: LIMIT, idealS: IDEAL_MS / 1000, targetS: TARGET_MS / 1000, cpuLoad: LOAD ? Math.max(1, os.cpus().length - 1) : 0, workers: 1, machine: machineInfo() },
        before: { source: 'issue 7 (old limiter, not re-run: that code is gone)', posts: 30, limit: '60/1m', deliveredIn188s: 6, stillWaitingAfter5min: 9 },
        runs: [...runs, ...kept].sort((a, b) => RUN_NAMES.indexOf(a.name) - RUN_NAMES.indexOf(b.name)),
      });
    for (const [i, name] of RUNS.entries()) {
      runs.push(await runOnce(name, admin, temporalAddress, r.port, i + 1));
      save(); // after each run, so a later failure keeps what was measured
    }
    runs.push(...kept);
    runs.sort((a, b) => RUN_NAMES.indexOf(a.name) - RUN_NAMES.indexOf(b.name));

    const headers = ['metric', ...runs.map((x) => x.name)];
    const table = rows(runs);
    printTable(`drain bench: ${N} calls behind ${LIMIT}, worker ${LOAD ? 'under CPU load' : 'not loaded'} (before, as the issue measured: 30 posts, 6 delivered in 188 s, 9 still waiting after 5 min)`, headers, table);
    for (const x of runs) if (x.workerLogLines) console.log(`worker log lines (warn+), ${x.name}: ${x.workerLogLines}; first: ${x.workerLogFirst.join(' | ').slice(0, 400)}`);
    console.log(`\n${markdownTable(headers, table)}\n`);
    const file = save();
    say(`results: ${path.relative(ROOT, file)}`);
    for (const x of runs) say(`${x.name}: last call ${x.lastCallS} s after submit -> target ${x.withinTarget ? 'MET' : 'NOT met'}`);
    return runs.every((x) => x.withinTarget) ? 0 : 1;
  } finally {
    await tearDownBench(admin, DB_NAME, redisChild);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`drain bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
