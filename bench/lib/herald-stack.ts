// The stack the issue 11 benches (pipeline --baseline, api, fairness, scale) stand up in one call: a fresh database,
// a private redis-server, K Herald worker processes (`src/worker/main.ts`, npm start's worker with its defaults), a
// bare-baseline worker process on a task queue of its own (bench/lib/bare-worker.ts) and the API in this process;
// ready once every worker polls. Plus what they all measure with: timed HTTP, following pipelines to a final state,
// bare workflow runs and a process's RSS.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { Pool } from 'pg';
import { isTerminal, type PipelineStatus } from '../../src/domain/types';
import {
  ADMIN_DATABASE_URL,
  apiRequest,
  boundedOutput,
  freshDatabase,
  sleep,
  spawnWorker,
  stackEnv,
  startBenchApi,
  startRedis,
  stopChild,
  stopOnSignals,
  tearDownBench,
  track,
  type BenchApi,
  type BoundedOutput,
} from './stack';

export const ROOT = path.resolve(__dirname, '..', '..');
export const ENCRYPTION_KEY = Buffer.alloc(32, 11);

export interface Tenant {
  id: string;
  key: string;
}

export interface HeraldStack {
  api: BenchApi;
  baseUrl: string;
  pool: Pool;
  admin: Pool;
  dbUrl: string;
  redisUrl: string;
  taskQueue: string;
  bareTaskQueue: string;
  env: Record<string, string>;
  workers: ChildProcess[];
  workerOutput: BoundedOutput[];
  bareWorker: ChildProcess;
  stop(): Promise<void>;
}

async function pollers(client: Client, namespace: string, taskQueue: string): Promise<number[]> {
  const count = async (taskQueueType: number) =>
    (await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue, kind: 1 }, taskQueueType })).pollers?.length ?? 0;
  return Promise.all([count(1), count(2)]).catch(() => [0, 0]);
}

/** Everything up and polling; `stop()` takes it all down and drops the database (also on a signal or after overallMs). */
export async function startHeraldStack(o: {
  name: string;
  tenants: Tenant[];
  workers: number;
  extraEnv?: Record<string, string>;
  /** Settings of worker i alone (0-based) on top of the shared ones, e.g. a WORKER_METRICS_PORT each. */
  workerEnv?: (i: number) => Record<string, string>;
  overallMs: number;
  say: (msg: string) => void;
}): Promise<HeraldStack> {
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress) throw new Error('TEMPORAL_ADDRESS is not set: run it with `npm run bench -- <name>`');
  const dbName = `herald_bench_${o.name}`;
  const admin = new Pool({ connectionString: ADMIN_DATABASE_URL, max: 2 });
  stopOnSignals({ admin, dbName, say: o.say, overallMs: o.overallMs, benchName: o.name });
  const { dbUrl, pool } = await freshDatabase(admin, dbName);
  const redis = await startRedis();
  const redisUrl = `redis://127.0.0.1:${redis.port}/0`;
  const suffix = randomBytes(4).toString('hex');
  const taskQueue = `herald-${o.name}-${suffix}`;
  const bareTaskQueue = `bare-${o.name}-${suffix}`;
  const env: Record<string, string> = {
    ...stackEnv({ dbUrl, temporalAddress, taskQueue, redisUrl, encryptionKey: ENCRYPTION_KEY, tenant: o.tenants[0].id, apiKey: o.tenants[0].key, dataDir: path.join(ROOT, '.data', `${o.name}-bench`) }),
    API_KEYS: o.tenants.map((t) => `${t.id}:${t.key}`).join(','),
    ...o.extraEnv,
  };
  const workerOutput: BoundedOutput[] = [];
  const workers: ChildProcess[] = [];
  for (let i = 0; i < o.workers; i++) {
    const out = boundedOutput(6);
    workerOutput.push(out);
    workers.push(spawnWorker(ROOT, { ...env, ...o.workerEnv?.(i) }, out));
  }
  const bareOut = boundedOutput(6);
  const bareWorker = track(
    spawn(process.execPath, ['--import', 'tsx', path.join('bench', 'lib', 'bare-worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress, BARE_TASK_QUEUE: bareTaskQueue, ...(o.extraEnv?.WORKER_MAX_ACTIVITIES ? { BARE_MAX_ACTIVITIES: o.extraEnv.WORKER_MAX_ACTIVITIES } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  bareWorker.stdout!.on('data', (c: Buffer) => bareOut.feed(c));
  bareWorker.stderr!.on('data', (c: Buffer) => bareOut.feed(c));
  const api = await startBenchApi({ env, pool, temporalAddress, redisUrl, encryptionKey: ENCRYPTION_KEY, name: `${o.name}-bench-api` });
  const stop = async () => {
    await api.close();
    for (const w of [...workers, bareWorker]) await stopChild(w, 15_000);
    await pool.end().catch(() => undefined);
    await tearDownBench(admin, dbName, redis.child);
  };
  try {
    const readyBy = Date.now() + 180_000;
    for (;;) {
      const dead = [...workers, bareWorker].find((w) => w.exitCode !== null);
      if (dead) throw new Error(`a worker exited (code ${dead.exitCode}): ${[...workerOutput.flatMap((x) => x.lines), ...bareOut.lines].join(' | ')}`);
      const [h, b] = await Promise.all([pollers(api.client, api.config.temporal.namespace, taskQueue), pollers(api.client, api.config.temporal.namespace, bareTaskQueue)]);
      // Each worker process polls with more than one poller; every process has to be there before measuring.
      // (A process may serve one lane alone: WORKER_LANES; count the pollers of both queues.)
      const identitiesOf = (name: string) =>
        api.client.workflowService
          .describeTaskQueue({ namespace: api.config.temporal.namespace, taskQueue: { name, kind: 1 }, taskQueueType: 2 })
          .then((r) => (r.pollers ?? []).map((p) => p.identity))
          .catch(() => []);
      const identities = new Set([...(await identitiesOf(taskQueue)), ...(await identitiesOf(`${taskQueue}-bulk`))]).size;
      if (h[0] > 0 && h[1] > 0 && b[0] > 0 && b[1] > 0 && identities >= o.workers) break;
      if (Date.now() > readyBy) throw new Error('the workers did not poll within 180 s');
      await sleep(500);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  o.say(`stack up: ${o.workers} Herald worker(s) on ${taskQueue}, bare worker on ${bareTaskQueue}, API on ${api.baseUrl}, database ${dbName}`);
  return { api, baseUrl: api.baseUrl, pool, admin, dbUrl, redisUrl, taskQueue, bareTaskQueue, env, workers, workerOutput, bareWorker, stop };
}

// --- measuring -------------------------------------------------------------------------------------------------------

export interface Timed {
  status: number;
  json: any;
  ms: number;
}

/** One JSON request with a bearer key, timed from send to the last byte; status 0 on a network error or timeout. */
export async function timed(baseUrl: string, key: string, method: string, p: string, body?: unknown, timeoutMs = 30_000): Promise<Timed> {
  const t0 = performance.now();
  try {
    const r = await apiRequest(baseUrl, key, method, p, body, timeoutMs);
    return { ...r, ms: performance.now() - t0 };
  } catch (err) {
    return { status: 0, json: (err as Error).message, ms: performance.now() - t0 };
  }
}

/** Runs a bench's main and exits with its code (1 and the stack on a throw). */
export function runBench(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(`${name} bench failed: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}

/** The dry-run thread request of bench/pipeline: 4 platforms, title cards (image mode auto). */
export function threadRequest(i: number, extra: Record<string, unknown> = {}) {
  return {
    topic: `Durable workflows vs cron jobs, lesson ${i + 1}`,
    brief:
      'Cron jobs fail silently. A durable workflow records every step, so when a worker crashes another one continues ' +
      'from the last completed step. Retries are declared once per activity. Timers survive restarts. ' +
      'Read more at https://example.com/blog/cron-to-workflows 🙌.',
    format: 'thread',
    targets: ['x', 'linkedin', 'mastodon', 'bluesky'].map((platform) => ({ platform })),
    dryRun: true,
    ...extra,
  };
}

export interface Seen {
  status: PipelineStatus;
  createdAt: string;
  updatedAt: string;
  /** When this bench first saw it final (ms since the epoch). */
  seenDoneAt?: number;
}

/**
 * Lists the tenant's pipelines (100 a page) every `everyMs` until every id is final (or `reached`, when given) or the
 * deadline passes; returns what it saw last of each. `onRound` runs after each listing (progress lines).
 */
export async function followPipelines(
  baseUrl: string,
  key: string,
  ids: Iterable<string>,
  deadline: number,
  everyMs = 500,
  onRound?: (done: number, total: number) => void,
  reached: (status: PipelineStatus) => boolean = isTerminal,
): Promise<Map<string, Seen>> {
  const want = new Set(ids);
  const seen = new Map<string, Seen>();
  let done = 0;
  while (done < want.size && Date.now() < deadline) {
    let cursor: string | null = null;
    for (let page = 0; page < 10_000; page++) {
      const r = await timed(baseUrl, key, 'GET', `/v1/pipelines?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (r.status !== 200) break;
      for (const p of r.json.items) {
        if (!want.has(p.id)) continue;
        const prev = seen.get(p.id);
        seen.set(p.id, { status: p.status, createdAt: p.createdAt, updatedAt: p.updatedAt, seenDoneAt: prev?.seenDoneAt ?? (reached(p.status) ? Date.now() : undefined) });
      }
      cursor = r.json.nextCursor;
      if (!cursor) break;
    }
    done = [...want].filter((id) => seen.get(id) && reached(seen.get(id)!.status)).length;
    onRound?.(done, want.size);
    if (done < want.size) await sleep(everyMs);
  }
  return seen;
}

/**
 * followPipelines read from the database (the bench's own connection) rather than through the list API: following
 * hundreds of pipelines by listing them every 250 ms costs the machine more than the pipelines it measures. One query
 * for the ids still open, returning only their status and times.
 */
export async function followPipelinesInDb(
  pool: Pool,
  ids: Iterable<string>,
  deadline: number,
  everyMs = 250,
  onRound?: (done: number, total: number) => void,
  reached: (status: PipelineStatus) => boolean = isTerminal,
): Promise<Map<string, Seen>> {
  const all = [...ids];
  const seen = new Map<string, Seen>();
  let open = all;
  while (open.length && Date.now() < deadline) {
    const { rows } = await pool.query<{ id: string; status: PipelineStatus; created_at: Date; updated_at: Date }>(
      'SELECT id, status, created_at, updated_at FROM pipelines WHERE id = ANY($1)',
      [open],
    );
    for (const r of rows) {
      const prev = seen.get(r.id);
      seen.set(r.id, { status: r.status, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(), seenDoneAt: prev?.seenDoneAt ?? (reached(r.status) ? Date.now() : undefined) });
    }
    open = open.filter((id) => !(seen.get(id) && reached(seen.get(id)!.status)));
    onRound?.(all.length - open.length, all.length);
    if (open.length) await sleep(everyMs);
  }
  return seen;
}

/** End to end of a published pipeline: createdAt -> updatedAt of its final state, ms. */
export const endToEndMs = (s: Seen) => Date.parse(s.updatedAt) - Date.parse(s.createdAt);

/**
 * n bare pipelines started by `concurrency` closed-loop starters (each starts its next as soon as the start answers),
 * then awaited. Returns each start's latency and the span from the first start to the last completion.
 */
export async function runBare(client: Client, taskQueue: string, n: number, concurrency: number): Promise<{ startMs: number[]; spanMs: number; completed: number; failed: number }> {
  const startMs: number[] = [];
  const results: Promise<unknown>[] = [];
  let next = 0;
  let lastDone = 0;
  let failed = 0;
  const t0 = performance.now();
  const runId = randomBytes(3).toString('hex');
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        const handle = await client.workflow.start('barePipeline', { taskQueue, workflowId: `bare-${runId}-${i}` });
        startMs.push(performance.now() - t);
        results.push(
          handle.result().then(
            () => (lastDone = Math.max(lastDone, performance.now())),
            () => failed++,
          ),
        );
      }
    }),
  );
  await Promise.all(results);
  return { startMs, spanMs: lastDone - t0, completed: n - failed, failed };
}

/** A process's resident set (VmRSS) in MB from /proc, null where there is none. */
function ownRssKb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The processes `pid` started, and theirs (from each process's parent id in /proc/<pid>/stat). */
function descendantsOf(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name (2nd field) is in parentheses and may hold spaces: the parent id is the 2nd field after ')'.
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      parentOf.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended meanwhile.
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [child, parent] of parentOf) {
      if (parent !== p) continue;
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/**
 * A worker's RSS in MB: its process and every process it started (with WORKER_LANES=split the bulk lane runs in a
 * child process, which is part of the worker). Summed RSS counts pages the processes share (Node's code) once per
 * process, so it overstates a split worker a little, never understates it.
 */
export function rssMbOf(pid: number | undefined): number | null {
  if (!pid) return null;
  const own = ownRssKb(pid);
  if (own === null) return null;
  let kb = own;
  for (const child of descendantsOf(pid)) kb += ownRssKb(child) ?? 0;
  return Math.round(kb / 102.4) / 10;
}

export const load1m = () => Math.round(os.loadavg()[0] * 100) / 100;
