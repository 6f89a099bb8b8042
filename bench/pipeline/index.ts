// Benchmark: end to end on the real stack. Its own PostgreSQL database (herald_bench, dropped at the end), the API in
// this process on 127.0.0.1:<free port>, one worker in a child process (so its memory is its own) on a unique task
// queue against TEMPORAL_ADDRESS. N dry-run thread pipelines to x, linkedin, mastodon and bluesky are submitted over
// HTTP by C concurrent submitters and followed until every one is terminal.
//
//   npm run bench -- pipeline [--n 200] [--concurrency 20] [--wait-s 200] [--sample 10]
//   npm run bench -- pipeline --baseline [--n 200] [--rounds 3]   (beside a bare Temporal workflow: ./baseline.ts)
//
// Everything is bounded: a hard timer stops the run (and still drops the database) after HARD_LIMIT_MS.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { Pool } from 'pg';
import { createApi } from '../../src/api/app';
import { createMetricsRegistry, createProcessResilience } from '../../src/bootstrap/resilience';
import { loadConfig } from '../../src/config';
import { runMigrations } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { pipelineWorkflowId } from '../../src/domain/ids';
import { isTerminal, type PipelineStatus } from '../../src/domain/types';
import { createLogger } from '../../src/logger';
import type { Resilience } from '../../src/resilience';
import { buildActivityDeps } from '../../src/worker/build-deps';
import { createHeraldWorker } from '../../src/worker/create-worker';
import { printTable, writeResults, type Cell } from '../lib/report';
import { memoryMb, round, roundSummary, summarize } from '../lib/stats';

const HARD_LIMIT_MS = 285_000; // the whole run, set-up and clean-up included, stays under 5 minutes
const DB_NAME = 'herald_bench';
const TENANT = 'bench';
const API_KEY = 'herald-bench-static-key';
const ENCRYPTION_KEY = Buffer.alloc(32, 42);
const TARGETS = ['x', 'linkedin', 'mastodon', 'bluesky'] as const;
const HTTP_TIMEOUT_MS = 15_000;
const POLL_EVERY_MS = 1000;

// --- shared ----------------------------------------------------------------------------------------------------------

interface WorkerSettings {
  /** Environment for loadConfig (the worker builds its own Config from it). */
  configEnv: Record<string, string>;
  databaseUrl: string;
  hardLimitMs: number;
}

type Mem = ReturnType<typeof memoryMb>;
type ToWorker = { type: 'mem'; id: number; gc: boolean } | { type: 'stop' };
type FromWorker =
  | { type: 'ready'; startMs: number; mem: Mem }
  | { type: 'mem'; id: number; mem: Mem; peakRssMb: number; peakHeapUsedMb: number }
  | { type: 'log'; level: string; line: string }
  | { type: 'error'; message: string }
  | { type: 'stopped' };

function adminUrl(): string {
  return process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}
function benchDbUrl(): string {
  const u = new URL(adminUrl());
  u.pathname = `/${DB_NAME}`;
  return u.toString();
}

function quietTemporalRuntime(onWarn: (msg: string) => void) {
  const noop = () => {};
  const warn = (message: string) => onWarn(message);
  try {
    Runtime.install({
      logger: { log: (level: string, message: string) => (level === 'WARN' || level === 'ERROR' ? warn(message) : undefined), trace: noop, debug: noop, info: noop, warn, error: warn } as never,
      shutdownSignals: [],
    });
  } catch {
    // already installed
  }
}

/** A pino destination that keeps only a bounded number of lines and counts the rest. */
function boundedLog(keep = 20) {
  const lines: string[] = [];
  let count = 0;
  return {
    stream: {
      write(line: string) {
        count++;
        if (lines.length < keep) lines.push(line.trim().slice(0, 500));
      },
    },
    get count() {
      return count;
    },
    lines,
  };
}

// --- worker role (child process) -------------------------------------------------------------------------------------

async function workerMain() {
  const send = (m: FromWorker) => process.send?.(m);
  const settings = JSON.parse(process.env.HERALD_BENCH_WORKER!) as WorkerSettings;
  // Never outlive the bench: exit if the parent goes away or the hard limit passes.
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => process.exit(3), settings.hardLimitMs).unref();

  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  let peakRss = 0;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
    return m;
  };
  setInterval(sample, 200).unref();

  quietTemporalRuntime((message) => send({ type: 'log', level: 'temporal', line: message.slice(0, 500) }));
  const config = loadConfig(settings.configEnv);
  const logger = createLogger(
    { level: 'warn', format: 'json', name: 'bench-worker' },
    { write: (line: string) => send({ type: 'log', level: 'worker', line: line.trim().slice(0, 500) }) },
  );
  const pool = createPool(settings.databaseUrl, 10);
  const resilience = createProcessResilience(config, logger, createMetricsRegistry());
  const t0 = performance.now();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createHeraldWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    deps: buildActivityDeps(config, pool, ENCRYPTION_KEY, logger, resilience),
    identity: `bench-worker-${process.pid}`,
  });
  const run = worker.run();
  const startMs = performance.now() - t0;

  process.on('message', (m: ToWorker) => {
    if (m.type === 'mem') {
      if (m.gc) gc();
      const mem = sample();
      send({ type: 'mem', id: m.id, mem: memoryMb(mem), peakRssMb: round(peakRss / 2 ** 20, 1), peakHeapUsedMb: round(peakHeap / 2 ** 20, 1) });
    } else if (m.type === 'stop') {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    }
  });

  gc();
  send({ type: 'ready', startMs, mem: memoryMb(sample()) });
  try {
    await run;
  } catch (err) {
    send({ type: 'error', message: (err as Error).message });
  }
  await connection.close().catch(() => undefined);
  await resilience.close().catch(() => undefined);
  await pool.end().catch(() => undefined);
  send({ type: 'stopped' });
  process.exit(0);
}

/** The parent's handle on the worker child. */
class WorkerProcess {
  readonly logs = boundedLog();
  private nextId = 1;
  private waiting = new Map<number, (m: Extract<FromWorker, { type: 'mem' }>) => void>();
  private readyResolve!: (m: Extract<FromWorker, { type: 'ready' }>) => void;
  private readyReject!: (err: Error) => void;
  readonly ready = new Promise<Extract<FromWorker, { type: 'ready' }>>((resolve, reject) => {
    this.readyResolve = resolve;
    this.readyReject = reject;
  });
  readonly exited: Promise<number | null>;
  private child: ChildProcess;

  constructor(settings: WorkerSettings) {
    this.child = fork(__filename, [], {
      env: { ...process.env, HERALD_BENCH_ROLE: 'worker', HERALD_BENCH_WORKER: JSON.stringify(settings) },
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    void this.exited.then((code) => this.readyReject(new Error(`worker process exited (code ${code}) before it was ready`)));
    this.child.on('message', (m: FromWorker) => {
      if (m.type === 'ready') this.readyResolve(m);
      else if (m.type === 'mem') {
        this.waiting.get(m.id)?.(m);
        this.waiting.delete(m.id);
      } else if (m.type === 'log') this.logs.stream.write(`[${m.level}] ${m.line}`);
      else if (m.type === 'error') this.logs.stream.write(`[error] ${m.message}`);
    });
  }

  get pid() {
    return this.child.pid;
  }

  memory(gc = false): Promise<Extract<FromWorker, { type: 'mem' }> | null> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, 5000);
      this.waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.child.send({ type: 'mem', id, gc } satisfies ToWorker);
    });
  }

  /** Graceful shutdown, SIGKILL after graceMs. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.send({ type: 'stop' } satisfies ToWorker);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  kill() {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

// --- HTTP ------------------------------------------------------------------------------------------------------------

async function http(baseUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  let json: any = text;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, json, ms };
}

const BRIEF =
  'Cron jobs fail silently, and a job that dies at night leaves no trace beyond a missing row. ' +
  'A durable workflow records every step, so when a worker crashes another one continues from the last completed step. ' +
  'Retries are declared once per activity instead of being hand-written in every script. ' +
  'Timers survive restarts, so a reminder due in three days is no longer a row polled by yet another cron job. ' +
  'Support staff can search executions by customer and see which step a run is on without asking an engineer. ' +
  'Workflow code is replayed, which means no clocks, random numbers or network calls inside it. ' +
  'A lint rule that forbids those imports in workflow files catches most mistakes before review. ' +
  'Versioning long-running workflows needs patch markers until the last old execution finishes. ' +
  'The time-skipping test server runs a thirty-day workflow in milliseconds. ' +
  'Start by wrapping an existing job as a single activity, then split it into steps one at a time. ' +
  'Read more at https://example.com/blog/cron-to-workflows and tell us what you think 🙌.';

function requestBody(i: number) {
  return {
    topic: `Durable workflows vs cron jobs, lesson ${i + 1}`,
    brief: BRIEF,
    format: 'thread',
    targets: TARGETS.map((platform) => ({ platform })),
    dryRun: true,
  };
}

// --- Temporal history breakdown --------------------------------------------------------------------------------------

function tsMs(t: any): number {
  if (!t) return NaN;
  const s = t.seconds;
  const seconds = typeof s === 'object' && s !== null ? s.toNumber() : Number(s ?? 0);
  return seconds * 1000 + (t.nanos ?? 0) / 1e6;
}

interface StepTiming {
  step: string;
  queueMs: number; // scheduled -> started
  runMs: number; // started -> completed
}

/** Activity and workflow-task timings from one history (completed ones only). */
function stepTimings(events: any[]): StepTiming[] {
  const byId = new Map<string, any>();
  for (const e of events) byId.set(String(e.eventId), e);
  const out: StepTiming[] = [];
  for (const e of events) {
    const a = e.activityTaskCompletedEventAttributes;
    if (a) {
      const scheduled = byId.get(String(a.scheduledEventId));
      const started = byId.get(String(a.startedEventId));
      const name = scheduled?.activityTaskScheduledEventAttributes?.activityType?.name ?? 'activity';
      out.push({ step: `activity ${name}`, queueMs: tsMs(started?.eventTime) - tsMs(scheduled?.eventTime), runMs: tsMs(e.eventTime) - tsMs(started?.eventTime) });
    }
    const w = e.workflowTaskCompletedEventAttributes;
    if (w) {
      const scheduled = byId.get(String(w.scheduledEventId));
      const started = byId.get(String(w.startedEventId));
      out.push({ step: 'workflow task', queueMs: tsMs(started?.eventTime) - tsMs(scheduled?.eventTime), runMs: tsMs(e.eventTime) - tsMs(started?.eventTime) });
    }
  }
  return out;
}

interface Breakdown {
  pipelines: number;
  childRuns: number[];
  steps: { step: string; perPipeline: number; queueMs: ReturnType<typeof roundSummary>; runMs: ReturnType<typeof roundSummary>; totalRunMsPerPipeline: number }[];
}

/** Per-step timings from the Temporal histories of `ids` (parent workflow + each publication child), within budgetMs. */
async function timeBreakdown(client: Client, ids: string[], budgetMs: number): Promise<Breakdown> {
  const steps: StepTiming[] = [];
  const childRuns: number[] = [];
  const deadline = performance.now() + budgetMs;
  let pipelines = 0;
  for (const id of ids) {
    if (performance.now() > deadline) break;
    const wfId = pipelineWorkflowId(TENANT, id);
    const parent = await client.workflow.getHandle(wfId).fetchHistory();
    const events = (parent.events ?? []) as any[];
    steps.push(...stepTimings(events));
    for (const e of events) {
      const c = e.childWorkflowExecutionCompletedEventAttributes;
      if (!c) continue;
      const init = events.find((x) => String(x.eventId) === String(c.initiatedEventId));
      childRuns.push(tsMs(e.eventTime) - tsMs(init?.eventTime));
    }
    // Pipelines from before the lean change publish through one child per target; lean ones have none.
    const childIds = events.map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId).filter(Boolean) as string[];
    for (const childId of childIds) {
      const child = await client.workflow.getHandle(childId).fetchHistory();
      steps.push(...stepTimings((child.events ?? []) as any[]).map((st) => ({ ...st, step: `${st.step} (publish child)` })));
    }
    pipelines++;
  }
  const names = [...new Set(steps.map((st) => st.step))];
  const out = names.map((step) => {
    const of = steps.filter((st) => st.step === step);
    const r = summarize(of.map((st) => st.runMs));
    return {
      step,
      perPipeline: round(of.length / Math.max(1, pipelines), 1),
      queueMs: roundSummary(summarize(of.map((st) => st.queueMs)), 1),
      runMs: roundSummary(r, 1),
      totalRunMsPerPipeline: round((r.mean * of.length) / Math.max(1, pipelines), 1),
    };
  });
  out.sort((a, b) => b.totalRunMsPerPipeline - a.totalRunMsPerPipeline);
  return { pipelines, childRuns, steps: out };
}

function printBreakdown(title: string, b: Breakdown) {
  printTable(
    `${title} (Temporal histories of ${b.pipelines} pipelines; queue = scheduled -> started, run = started -> completed)`,
    ['step', 'per pipeline', 'queue p50', 'queue p95', 'run p50', 'run p95', 'run ms / pipeline'],
    b.steps.map((st) => [st.step, st.perPipeline, st.queueMs.p50, st.queueMs.p95, st.runMs.p50, st.runMs.p95, st.totalRunMsPerPipeline]),
  );
}

/** POSTs one pipeline and polls it until terminal. */
async function runOne(baseUrl: string, index: number, timeoutMs: number): Promise<{ id: string; status: string; e2eMs: number; submitMs: number; error: unknown }> {
  const post = await http(baseUrl, 'POST', '/v1/pipelines', requestBody(index));
  if (post.status !== 202) throw new Error(`POST answered ${post.status}: ${JSON.stringify(post.json).slice(0, 300)}`);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const r = await http(baseUrl, 'GET', `/v1/pipelines/${post.json.id}`);
    if (r.status === 200 && isTerminal(r.json.status)) {
      return { id: post.json.id, status: r.json.status, e2eMs: Date.parse(r.json.updatedAt) - Date.parse(r.json.createdAt), submitMs: post.ms, error: r.json.error };
    }
    if (performance.now() > deadline) throw new Error(`pipeline ${post.json.id} did not finish within ${timeoutMs / 1000} s`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

// --- main (parent) ---------------------------------------------------------------------------------------------------

interface Submission {
  index: number;
  status: number;
  ms: number;
  id?: string;
  error?: string;
}

interface Seen {
  status: PipelineStatus;
  createdAt: string;
  updatedAt: string;
  error: unknown;
}

async function main() {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '20' },
      'wait-s': { type: 'string', default: '200' },
      sample: { type: 'string', default: '10' },
      idle: { type: 'string', default: '5' },
    },
  });
  const N = Math.max(1, Math.min(2000, Number(values.n)));
  const CONCURRENCY = Math.max(1, Math.min(100, Number(values.concurrency)));
  const WAIT_MS = Math.max(5, Math.min(240, Number(values['wait-s']))) * 1000;
  const SAMPLE = Math.max(0, Math.min(30, Number(values.sample)));
  const IDLE = Math.max(0, Math.min(20, Number(values.idle)));
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress) throw new Error('TEMPORAL_ADDRESS is not set: run this through `npm run bench -- pipeline`');

  const runStart = performance.now();
  const elapsed = () => performance.now() - runStart;
  const say = (msg: string) => console.log(`[${(elapsed() / 1000).toFixed(1).padStart(5)} s] ${msg}`);

  // Resources to release, whatever happens.
  const admin = new Pool({ connectionString: adminUrl(), max: 1, connectionTimeoutMillis: 10_000 });
  admin.on('error', () => undefined);
  let pool: Pool | null = null;
  let app: FastifyInstance | null = null;
  let connection: Connection | null = null;
  let resilience: Resilience | null = null;
  let worker: WorkerProcess | null = null;
  let cleanedUp = false;
  const cleanup = async () => {
    if (cleanedUp) return;
    cleanedUp = true;
    say('cleaning up');
    await worker?.stop().catch(() => worker?.kill());
    await app?.close().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    await resilience?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`).catch((err) => console.error(`could not drop ${DB_NAME}: ${err.message}`));
    await admin.end().catch(() => undefined);
  };
  const hardStop = setTimeout(() => {
    console.error(`pipeline bench: hard limit of ${HARD_LIMIT_MS / 1000} s reached; stopping`);
    worker?.kill();
    const forceExit = setTimeout(() => process.exit(1), 10_000);
    forceExit.unref();
    void cleanup().finally(() => process.exit(1));
  }, HARD_LIMIT_MS);
  hardStop.unref();

  try {
    // Database.
    let t = performance.now();
    await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DB_NAME}`);
    pool = createPool(benchDbUrl(), 10);
    await runMigrations(pool);
    const dbSetupMs = performance.now() - t;
    say(`database ${DB_NAME} created and migrated in ${dbSetupMs.toFixed(0)} ms`);

    // Config shared by the API and the worker.
    const taskQueue = `herald-bench-${randomBytes(4).toString('hex')}`;
    const configEnv: Record<string, string> = {
      API_KEYS: `${TENANT}:${API_KEY}`,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATABASE_URL: benchDbUrl(),
      TOKEN_ENCRYPTION_KEY: ENCRYPTION_KEY.toString('base64'),
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      PUBLIC_BASE_URL: 'http://127.0.0.1:3999',
      TENANT_MAX_ACTIVE_PIPELINES: String(Math.max(1000, N * 2)),
    };
    const config = loadConfig(configEnv);

    // Worker (child process; bundles the workflows).
    t = performance.now();
    worker = new WorkerProcess({ configEnv, databaseUrl: benchDbUrl(), hardLimitMs: HARD_LIMIT_MS + 5000 });
    const ready = await Promise.race([
      worker.ready,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('worker not ready within 90 s')), 90_000).unref()),
    ]);
    const workerStartMs = performance.now() - t;
    say(`worker (pid ${worker.pid}) ready on ${taskQueue} in ${workerStartMs.toFixed(0)} ms (bundling included)`);

    // API.
    t = performance.now();
    const apiLogs = boundedLog();
    const logger = createLogger({ level: 'warn', format: 'json', name: 'bench-api' }, apiLogs.stream);
    connection = await Connection.connect({ address: temporalAddress });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const metrics = createMetricsRegistry();
    resilience = createProcessResilience(config, logger, metrics);
    app = await createApi(config, pool, client, ENCRYPTION_KEY, logger, { resilience, metrics });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    const baseUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const apiStartMs = performance.now() - t;
    say(`API listening on ${baseUrl} (${apiStartMs.toFixed(0)} ms)`);

    // Warm-up: one pipeline end to end (JIT, connection pools, workflow cache), not counted.
    const warm = await runOne(baseUrl, -1, 60_000);
    if (warm.status !== 'published') throw new Error(`warm-up pipeline ended ${warm.status}: ${JSON.stringify(warm.error)}`);
    say(`warm-up pipeline published in ${warm.e2eMs} ms`);

    // Idle latency: IDLE pipelines one at a time, nothing else running.
    const idleRuns: Awaited<ReturnType<typeof runOne>>[] = [];
    for (let i = 0; i < IDLE; i++) idleRuns.push(await runOne(baseUrl, 10_000 + i, 30_000));
    const idleIds = idleRuns.filter((r) => r.status === 'published').map((r) => r.id);
    const idleE2e = summarize(idleRuns.map((r) => r.e2eMs));
    const idleSubmit = summarize(idleRuns.map((r) => r.submitMs));
    say(`${IDLE} pipelines one at a time: end to end p50 ${idleE2e.p50} ms, max ${idleE2e.max} ms`);

    const workerBefore = await worker.memory(true);
    const apiBefore = memoryMb();

    // Submit N pipelines with CONCURRENCY submitters (closed loop: each sends its next POST when the last answers).
    say(`submitting ${N} dry-run thread pipelines (targets ${TARGETS.join(', ')}) with ${CONCURRENCY} concurrent submitters`);
    const submissions: Submission[] = [];
    let next = 0;
    const submitStart = performance.now();
    const submitStartWall = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < N && elapsed() < HARD_LIMIT_MS - 60_000) {
          const index = next++;
          try {
            const r = await http(baseUrl, 'POST', '/v1/pipelines', requestBody(index));
            submissions.push({ index, status: r.status, ms: r.ms, id: r.status === 202 ? r.json.id : undefined, error: r.status === 202 ? undefined : JSON.stringify(r.json).slice(0, 300) });
          } catch (err) {
            submissions.push({ index, status: 0, ms: NaN, error: (err as Error).message });
          }
        }
      }),
    );
    const submitWallMs = performance.now() - submitStart;
    const accepted = submissions.filter((s) => s.id);
    const ids = new Set(accepted.map((s) => s.id!));
    say(`submitted ${submissions.length} in ${(submitWallMs / 1000).toFixed(1)} s: ${accepted.length} accepted (202), ${submissions.length - accepted.length} failed`);

    // Follow: list every pipeline of the tenant (100 a page) once a second until all are terminal or time runs out.
    const seen = new Map<string, Seen>();
    const listMs: number[] = [];
    const waitDeadline = performance.now() + Math.min(WAIT_MS, HARD_LIMIT_MS - 45_000 - elapsed());
    let peakRssMb = workerBefore?.peakRssMb ?? 0;
    let peakHeapMb = workerBefore?.peakHeapUsedMb ?? 0;
    let lastReport = 0;
    let pollErrors = 0;
    for (;;) {
      let cursor: string | null = null;
      const maxPages = Math.ceil((N + IDLE + 1) / 100) + 1;
      try {
        for (let page = 0; page < maxPages; page++) {
          const r = await http(baseUrl, 'GET', `/v1/pipelines?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
          if (r.status !== 200) throw new Error(`list answered ${r.status}`);
          listMs.push(r.ms);
          for (const p of r.json.items) if (ids.has(p.id)) seen.set(p.id, { status: p.status, createdAt: p.createdAt, updatedAt: p.updatedAt, error: p.error });
          cursor = r.json.nextCursor;
          if (!cursor) break;
        }
      } catch {
        pollErrors++;
      }
      const done = [...seen.values()].filter((s) => isTerminal(s.status)).length;
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        const m = await worker.memory();
        if (m) {
          peakRssMb = Math.max(peakRssMb, m.peakRssMb);
          peakHeapMb = Math.max(peakHeapMb, m.peakHeapUsedMb);
        }
        const counts: Record<string, number> = {};
        for (const s of seen.values()) counts[s.status] = (counts[s.status] ?? 0) + 1;
        say(`${done}/${ids.size} terminal; ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}${m ? `; worker rss ${m.mem.rssMb} MB` : ''}`);
      }
      if (done >= ids.size || performance.now() > waitDeadline) break;
      await new Promise((r) => setTimeout(r, POLL_EVERY_MS));
    }
    const followWallMs = performance.now() - submitStart;

    const workerAfterNoGc = await worker.memory(false);
    const workerAfter = await worker.memory(true);
    if (workerAfterNoGc) {
      peakRssMb = Math.max(peakRssMb, workerAfterNoGc.peakRssMb);
      peakHeapMb = Math.max(peakHeapMb, workerAfterNoGc.peakHeapUsedMb);
    }
    const apiAfter = memoryMb();

    // Results.
    const published = [...seen.entries()].filter(([, s]) => s.status === 'published');
    const e2e = summarize(published.map(([, s]) => Date.parse(s.updatedAt) - Date.parse(s.createdAt)));
    const submit = summarize(accepted.map((s) => s.ms));
    const list = summarize(listMs);
    const firstCreated = Math.min(...published.map(([, s]) => Date.parse(s.createdAt)));
    const lastUpdated = Math.max(...published.map(([, s]) => Date.parse(s.updatedAt)));
    const spanMs = published.length ? lastUpdated - firstCreated : NaN;
    const perMinute = published.length ? (published.length / spanMs) * 60_000 : 0;
    const notPublished = [...ids].filter((id) => seen.get(id)?.status !== 'published');
    const failures = [
      ...submissions.filter((s) => !s.id).map((s) => ({ kind: 'submit', index: s.index, status: s.status, error: s.error })),
      ...notPublished.map((id) => ({ kind: 'pipeline', id, status: seen.get(id)?.status ?? 'never listed', error: seen.get(id)?.error ?? null })),
    ];

    // Where time goes: Temporal histories of the idle pipelines and of a sample spread over the burst.
    const stride = Math.max(1, Math.floor(published.length / Math.max(1, SAMPLE)));
    const burstSample = published
      .map(([id, st]) => ({ id, created: Date.parse(st.createdAt) }))
      .sort((a, b) => a.created - b.created)
      .filter((_, i) => i % stride === 0)
      .slice(0, SAMPLE)
      .map((x) => x.id);
    const loaded = await timeBreakdown(client, burstSample, 20_000);
    const idle = await timeBreakdown(client, idleIds, 10_000);
    const child = summarize(loaded.childRuns);

    // Print.
    printTable(`pipeline bench: ${N} pipelines, ${CONCURRENCY} submitters, format thread, ${TARGETS.length} targets, dry run`, ['metric', 'n', 'p50', 'p95', 'p99', 'max'], [
      ['idle: submit latency (POST -> 202), ms', idleSubmit.n, idleSubmit.p50, idleSubmit.p95, idleSubmit.p99, idleSubmit.max],
      ['idle: end to end (createdAt -> published), ms', idleE2e.n, idleE2e.p50, idleE2e.p95, idleE2e.p99, idleE2e.max],
      ['burst: submit latency (POST -> 202), ms', submit.n, submit.p50, submit.p95, submit.p99, submit.max],
      ['burst: end to end (createdAt -> published), ms', e2e.n, e2e.p50, e2e.p95, e2e.p99, e2e.max],
      ['burst: publication child workflow, ms', child.n, child.p50, child.p95, child.p99, child.max],
      ['burst: list 100 pipelines (GET), ms', list.n, list.p50, list.p95, list.p99, list.max],
    ] as Cell[][]);
    printTable('throughput', ['metric', 'value'], [
      ['accepted / submitted', `${accepted.length} / ${submissions.length}`],
      ['published', published.length],
      ['not published (failed, other or unfinished)', notPublished.length],
      ['submit phase, s', round(submitWallMs / 1000, 1)],
      ['submit rate, POST/s', round(submissions.length / (submitWallMs / 1000), 1)],
      ['first createdAt -> last published, s', round(spanMs / 1000, 1)],
      ['throughput, pipelines/min', round(perMinute, 1)],
      ['throughput, publications/min', round(perMinute * TARGETS.length, 1)],
    ]);
    const memRow = (label: string, m: Mem | undefined): Cell[] => [label, m?.rssMb, m?.heapUsedMb, m?.heapTotalMb, m?.externalMb];
    printTable('memory, MB', ['process / point', 'rss', 'heapUsed', 'heapTotal', 'external'], [
      memRow('worker: after warm-up (GC)', workerBefore?.mem),
      memRow('worker: after run (no GC)', workerAfterNoGc?.mem),
      memRow('worker: after run (GC)', workerAfter?.mem),
      ['worker: peak during run', peakRssMb, peakHeapMb, null, null],
      memRow('API + submitters: before', apiBefore),
      memRow('API + submitters: after', apiAfter),
    ]);
    printBreakdown('where time goes, idle', idle);
    printBreakdown('where time goes, burst', loaded);
    if (failures.length) {
      console.log(`\nfailures (${failures.length}, first 10):`);
      for (const f of failures.slice(0, 10)) console.log(`  ${JSON.stringify(f).slice(0, 400)}`);
    } else console.log('\nfailures: none');
    const logCount = apiLogs.count + worker.logs.count;
    if (logCount) {
      console.log(`warn/error log lines: ${apiLogs.count} from the API, ${worker.logs.count} from the worker; first ones:`);
      for (const l of [...apiLogs.lines, ...worker.logs.lines].slice(0, 5)) console.log(`  ${l.slice(0, 300)}`);
    }

    const file = writeResults('pipeline', {
      config: { n: N, concurrency: CONCURRENCY, idle: IDLE, format: 'thread', targets: TARGETS, dryRun: true, imageMode: 'auto (title cards)', waitBudgetS: WAIT_MS / 1000, pollEveryMs: POLL_EVERY_MS },
      idle: { runs: idleRuns.length, published: idleIds.length, submitLatencyMs: roundSummary(idleSubmit, 1), endToEndMs: roundSummary(idleE2e, 0) },
      setup: { dbCreateAndMigrateMs: round(dbSetupMs, 0), workerStartMs: round(workerStartMs, 0), workerReportedStartMs: round(ready.startMs, 0), apiStartMs: round(apiStartMs, 0) },
      submit: { submitted: submissions.length, accepted: accepted.length, wallS: round(submitWallMs / 1000, 2), perSecond: round(submissions.length / (submitWallMs / 1000), 1), latencyMs: roundSummary(submit, 1) },
      endToEnd: { published: published.length, notPublished: notPublished.length, latencyMs: roundSummary(e2e, 0), spanS: round(spanMs / 1000, 1), pipelinesPerMinute: round(perMinute, 1), publicationsPerMinute: round(perMinute * TARGETS.length, 1), followWallS: round(followWallMs / 1000, 1), submitStartedAt: new Date(submitStartWall).toISOString() },
      publicationChildWorkflowMs: roundSummary(child, 1),
      listLatencyMs: roundSummary(list, 1),
      pollErrors,
      memoryMb: {
        workerAfterWarmupGc: workerBefore?.mem ?? null,
        workerAfterRunNoGc: workerAfterNoGc?.mem ?? null,
        workerAfterRunGc: workerAfter?.mem ?? null,
        workerPeak: { rssMb: peakRssMb, heapUsedMb: peakHeapMb },
        apiProcessBefore: apiBefore,
        apiProcessAfter: apiAfter,
      },
      breakdownIdle: idle,
      breakdownBurst: { pipelines: loaded.pipelines, steps: loaded.steps },
      failures: failures.slice(0, 20),
      failureCount: failures.length,
      warnLogLines: { api: apiLogs.count, worker: worker.logs.count, first: [...apiLogs.lines, ...worker.logs.lines].slice(0, 5) },
      totalS: round(elapsed() / 1000, 1),
    });
    say(`results: ${file}`);
    return failures.length ? 1 : 0;
  } finally {
    await cleanup();
    clearTimeout(hardStop);
    say('done');
  }
}

if (process.argv.includes('--baseline')) {
  // The side-by-side with a bare Temporal workflow of the same shape (issue 11): its own stack and rounds.
  import('./baseline')
    .then((m) => m.runBaseline(process.argv.slice(2)))
    .then(
      (code) => process.exit(code),
      (err) => {
        console.error(`pipeline --baseline failed: ${(err as Error).stack ?? err}`);
        process.exit(1);
      },
    );
} else if (process.env.HERALD_BENCH_ROLE === 'worker') {
  workerMain().catch((err) => {
    process.send?.({ type: 'error', message: (err as Error).stack ?? String(err) } satisfies FromWorker);
    process.exit(1);
  });
} else {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`pipeline bench failed: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
