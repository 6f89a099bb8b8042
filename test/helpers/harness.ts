// A real Herald for a test file: real Temporal (the run's dev server), real PostgreSQL, a worker on its own task queue,
// and the API listening on a loopback port, driven over HTTP.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { createApi } from '../../src/api/app';
import { createMetricsRegistry, createProcessResilience } from '../../src/bootstrap/resilience';
import type { Resilience } from '../../src/resilience';
import { loadConfig, type Config } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { createLogger } from '../../src/logger';
import { buildActivityDeps } from '../../src/worker/build-deps';
import { createHeraldWorker, type HeraldWorker } from '../../src/worker/create-worker';
import type { ActivityDeps } from '../../src/activities';
import { temporalAddress, testDatabaseUrl, WORKFLOW_BUNDLE_PATH } from './env';
import { freePort } from './ports';

export const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7);

let runtimeInstalled = false;
function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never, shutdownSignals: [] });
  } catch {
    // Already installed in this process by an earlier file: reuse it.
  }
}

export interface Harness {
  config: Config;
  pool: Pool;
  client: Client;
  app: FastifyInstance;
  baseUrl: string;
  taskQueue: string;
  /** Shared by this harness's API and worker, as in `npm start`. */
  resilience: Resilience;
  keys: { a: string; b: string };
  /** Every log line the API and the worker wrote, as JSON text. */
  logs: string[];
  tenants: { a: string; b: string };
  startWorker(overrides?: Partial<ActivityDeps>): Promise<void>;
  stopWorker(): Promise<void>;
  api<T = any>(method: string, path: string, body?: unknown, opts?: { key?: string | null; headers?: Record<string, string>; raw?: string }): Promise<{ status: number; body: T; headers: Headers }>;
  waitFor<T = any>(id: string, pred: (state: any) => boolean, opts?: { timeoutMs?: number; key?: string }): Promise<T>;
  stop(): Promise<void>;
}

export async function startHarness(opts: { env?: Record<string, string>; withWorker?: boolean; depsOverrides?: Partial<ActivityDeps> } = {}): Promise<Harness> {
  quietRuntime();
  const suffix = randomBytes(4).toString('hex');
  const tenants = { a: `ta_${suffix}`, b: `tb_${suffix}` };
  const keys = { a: `key-a-${suffix}`, b: `key-b-${suffix}` };
  const taskQueue = `herald-test-${suffix}`;
  const apiPort = await freePort();
  const config = loadConfig({
    API_KEYS: `${tenants.a}:${keys.a},${tenants.b}:${keys.b}`,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: taskQueue,
    DATABASE_URL: testDatabaseUrl(),
    TOKEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    LOG_FORMAT: 'json',
    // Platforms fetch images from Herald's public media URLs: make them point at this harness's API.
    PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
    ...opts.env,
  });
  const logs: string[] = [];
  const logger = createLogger({ level: config.logLevel, format: 'json' }, { write: (line: string) => void logs.push(line) });
  const pool = createPool(testDatabaseUrl(), 10);
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const metrics = createMetricsRegistry();
  const resilience = createProcessResilience(config, logger, metrics);
  const app = await createApi(config, pool, client, TEST_ENCRYPTION_KEY, logger, { resilience, metrics });
  await app.listen({ port: apiPort, host: '127.0.0.1' });
  const addr = app.server.address();
  const baseUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  let nativeConnection: NativeConnection | null = null;
  let worker: HeraldWorker | null = null;
  let workerRun: Promise<void> | null = null;

  const h: Harness = {
    config,
    pool,
    client,
    app,
    baseUrl,
    taskQueue,
    resilience,
    keys,
    logs,
    tenants,
    async startWorker(overrides = {}) {
      nativeConnection ??= await NativeConnection.connect({ address: config.temporal.address });
      worker = await createHeraldWorker({
        connection: nativeConnection,
        namespace: config.temporal.namespace,
        taskQueue,
        deps: { ...buildActivityDeps(config, pool, TEST_ENCRYPTION_KEY, logger, resilience), ...overrides },
        workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
      });
      workerRun = worker.run();
    },
    async stopWorker() {
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await workerRun?.catch(() => undefined);
      worker = null;
      workerRun = null;
    },
    async api(method, path, body, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const key = o.key === undefined ? keys.a : o.key;
      if (key) headers.authorization = `Bearer ${key}`;
      let payload: string | undefined = o.raw;
      if (body !== undefined && payload === undefined) payload = JSON.stringify(body);
      if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      const res = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed as never, headers: res.headers };
    },
    async waitFor(id, pred, o = {}) {
      const deadline = Date.now() + (o.timeoutMs ?? 30_000);
      let last: unknown;
      while (Date.now() < deadline) {
        const res = await h.api('GET', `/v1/pipelines/${id}`, undefined, { key: o.key });
        last = res.body;
        if (res.status === 200 && pred(res.body)) return res.body as never;
        await new Promise((r) => setTimeout(r, 150));
      }
      throw new Error(`pipeline ${id} did not reach the expected state; last: ${JSON.stringify(last)?.slice(0, 2000)}`);
    },
    async stop() {
      await h.stopWorker();
      await app.close();
      await connection.close();
      await nativeConnection?.close();
      await resilience.close();
      await pool.end();
    },
  };
  if (opts.withWorker !== false) await h.startWorker(opts.depsOverrides);
  return h;
}

/** A minimal valid dry-run request. */
export function dryRunRequest(overrides: Record<string, unknown> = {}) {
  return {
    topic: 'Why durable workflows beat cron jobs',
    brief:
      'Cron jobs fail silently. A durable workflow records every step. When a worker dies, another picks up where it stopped. ' +
      'Retries are declared, not hand-written. Timers survive restarts. Operators can see every execution in a web UI.',
    format: 'post',
    targets: [{ platform: 'x' }, { platform: 'linkedin' }],
    dryRun: true,
    ...overrides,
  };
}
