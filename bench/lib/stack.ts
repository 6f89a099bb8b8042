// The pieces the benches that run a real stack share (bench/drain, bench/quota): settings from the environment, child
// processes that are always killed, a private redis-server, a fresh database per run, worker processes and the API in
// this process.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type Redis from 'ioredis';
import type { Pool } from 'pg';
import { createApi } from '../../src/api/app';
import { createMetricsRegistry } from '../../src/bootstrap/resilience';
import { loadConfig, type Config } from '../../src/config';
import { runMigrations } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { createLogger } from '../../src/logger';
import { createRedisClient, createResilience, type Resilience } from '../../src/resilience';
import { freePort } from '../../test/helpers/ports';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A number from the environment, `dflt` when unset; anything not a number >= min is refused. */
export function numEnv(name: string, dflt: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min} (got "${raw}")`);
  return n;
}

export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

// --- child processes: always killed ----------------------------------------------------------------------------------

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Remembers a child so it is killed when this process exits (or by killAllChildren). */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function killAllChildren(): void {
  for (const c of children) c.kill('SIGKILL');
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the child has exited. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Keeps the first lines of a child's output and counts the rest. */
export function boundedOutput(keep: number) {
  const lines: string[] = [];
  let count = 0;
  let partial = '';
  return {
    feed(chunk: Buffer) {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const l of parts) {
        if (!l.trim()) continue;
        count++;
        if (lines.length < keep) lines.push(l.trim().slice(0, 400));
      }
    },
    get count() {
      return count;
    },
    lines,
  };
}
export type BoundedOutput = ReturnType<typeof boundedOutput>;

/** A private redis-server on a free loopback port, nothing persisted; ready when it accepts connections (10 s at most). */
export async function startRedis(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = track(
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  const spawnError = new Promise<never>((_, reject) => child.once('error', (err) => reject(new Error(`could not start redis-server: ${err.message}`))));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await Promise.race([
      spawnError,
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      }),
    ]);
    if (ok) return { port, child };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within 10 s`);
    await sleep(100);
  }
}

/** Drops and creates `dbName` on the admin connection's server and migrates it. */
export async function freshDatabase(admin: Pool, dbName: string): Promise<{ dbUrl: string; pool: Pool }> {
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  const u = new URL(ADMIN_DATABASE_URL);
  u.pathname = `/${dbName}`;
  const dbUrl = u.toString();
  const pool = createPool(dbUrl, 6);
  await runMigrations(pool);
  return { dbUrl, pool };
}

/**
 * One worker process (`node --import tsx src/worker/main.ts`) with `env` on top of this one's; its output goes to `out`.
 * With BENCH_CPU_PROFILE_DIR set, the worker writes a V8 CPU profile there when it stops (`node --cpu-prof`).
 */
export function spawnWorker(root: string, env: Record<string, string>, out: BoundedOutput): ChildProcess {
  const profile = process.env.BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`] : [];
  const child = track(spawn(process.execPath, [...profile, '--import', 'tsx', 'src/worker/main.ts'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  child.stdout!.on('data', (c: Buffer) => out.feed(c));
  child.stderr!.on('data', (c: Buffer) => out.feed(c));
  return child;
}

/** The API in this process on the run's database, task queue and Redis, listening on a loopback port. */
export interface BenchApi {
  config: Config;
  connection: Connection;
  client: Client;
  redis: Redis;
  resilience: Resilience;
  app: FastifyInstance;
  baseUrl: string;
  close(): Promise<void>;
}

export async function startBenchApi(opts: { env: Record<string, string>; pool: Pool; temporalAddress: string; redisUrl: string; encryptionKey: Buffer; name: string }): Promise<BenchApi> {
  const config = loadConfig(opts.env);
  const logger = createLogger({ level: 'warn', format: 'json', name: opts.name }, { write: () => undefined });
  let connection: Connection | null = null;
  let redis: Redis | null = null;
  let resilience: Resilience | null = null;
  let app: FastifyInstance | null = null;
  const close = async () => {
    await app?.close().catch(() => undefined);
    await resilience?.close().catch(() => undefined);
    redis?.disconnect();
    await connection?.close().catch(() => undefined);
  };
  try {
    connection = await Connection.connect({ address: opts.temporalAddress });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const metrics = createMetricsRegistry();
    redis = createRedisClient(opts.redisUrl);
    resilience = createResilience({ redis, config: config.resilience, logger, metrics });
    app = await createApi(config, opts.pool, client, opts.encryptionKey, logger, { resilience, metrics });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    const baseUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return { config, connection, client, redis, resilience, app, baseUrl, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A JSON request to the API with a bearer key; the body parsed as JSON when it is JSON, else the text. */
export async function apiRequest(baseUrl: string, apiKey: string, method: string, p: string, body: unknown, timeoutMs: number): Promise<{ status: number; json: any }> {
  const res = await fetch(`${baseUrl}${p}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: any = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, json };
}

/**
 * On SIGINT, SIGTERM or SIGHUP: kill every child, drop the bench's database and exit 130 (5 s at most). And whatever
 * hangs, the whole bench ends after `overallMs` (children killed by the exit hook).
 */
export function stopOnSignals(opts: { admin: Pool; dbName: string; say: (msg: string) => void; overallMs: number; benchName: string }): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    opts.say(`${signal}: stopping`);
    killAllChildren();
    void opts.admin
      .query(`DROP DATABASE IF EXISTS ${opts.dbName} WITH (FORCE)`)
      .catch(() => undefined)
      .finally(() => process.exit(130));
    setTimeout(() => process.exit(130), 5000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  setTimeout(() => {
    console.error(`${opts.benchName} bench: overall time limit reached; killing everything`);
    process.exit(1);
  }, opts.overallMs).unref();
}

/** The environment every process of a bench run shares (worker and API): its database, task queue, Redis, tenant and key. */
export function stackEnv(o: { dbUrl: string; temporalAddress: string; taskQueue: string; redisUrl: string; encryptionKey: Buffer; tenant: string; apiKey: string; dataDir: string }): Record<string, string> {
  return {
    DATABASE_URL: o.dbUrl,
    TEMPORAL_ADDRESS: o.temporalAddress,
    TEMPORAL_TASK_QUEUE: o.taskQueue,
    REDIS_URL: o.redisUrl,
    IMAGE_SOURCES: 'card',
    TOKEN_ENCRYPTION_KEY: o.encryptionKey.toString('base64'),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    API_KEYS: `${o.tenant}:${o.apiKey}`,
    TENANT_MAX_ACTIVE_PIPELINES: '100000',
    PUBLIC_BASE_URL: 'http://127.0.0.1:3999',
    DATA_DIR: o.dataDir,
  };
}

/** The end of a bench: its redis-server stopped, its database dropped, the admin connection closed. */
export async function tearDownBench(admin: Pool, dbName: string, redisChild: ChildProcess | null): Promise<void> {
  if (redisChild) await stopChild(redisChild, 3000);
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((err: Error) => console.error(`could not drop ${dbName}: ${err.message}`));
  await admin.end().catch(() => undefined);
}
