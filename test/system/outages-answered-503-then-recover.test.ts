// Outages answered honestly. A real API and worker on the run's Temporal, PostgreSQL and a Redis of this file's own;
// the API reaches PostgreSQL and Temporal through TCP proxies this file controls (the shared servers stay up), so each
// fault lands on the API only and is proven to have landed. While PostgreSQL or Temporal is away every request is
// answered 503 `unavailable` with Retry-After within 5 s (never a hang, never a 500) and /ready is 503 naming it; with
// Redis away Herald keeps publishing on its fallback and /ready says `degraded`; everything recovers by itself.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { Pool } from 'pg';
import { createApi } from '../../src/api/app';
import { createMetricsRegistry, createProcessResilience } from '../../src/bootstrap/resilience';
import { loadConfig } from '../../src/config';
import { createPool } from '../../src/db/pool';
import { createLogger } from '../../src/logger';
import type { Resilience } from '../../src/resilience';
import { buildActivityDeps } from '../../src/worker/build-deps';
import { createHeraldWorker, type HeraldWorker } from '../../src/worker/create-worker';
import { temporalAddress, testDatabaseUrl, WORKFLOW_BUNDLE_PATH } from '../helpers/env';
import { freePort } from '../helpers/ports';
import { dryRunRequest, TEST_ENCRYPTION_KEY } from '../helpers/harness';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

jest.setTimeout(180_000);

/** The contract: an unavailable dependency is answered within this long. */
const ANSWER_WITHIN_MS = 5_000;

interface Answer {
  status: number;
  body: any;
  retryAfter: string | null;
  ms: number;
}

const suffix = randomBytes(4).toString('hex');
const tenant = `to_${suffix}`;
const key = `key-outage-${suffix}`;
const taskQueue = `herald-outage-${suffix}`;
const appName = `herald_outage_api_${suffix}`;

let pgProxy: TcpProxy;
let temporalProxy: TcpProxy;
let redis: PrivateRedis;
let apiPool: Pool;
let workerPool: Pool;
let admin: Pool;
let apiConnection: Connection;
let nativeConnection: NativeConnection;
let resilience: Resilience;
let app: FastifyInstance;
let worker: HeraldWorker;
let workerRun: Promise<void>;
let baseUrl = '';
const logs: string[] = [];

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(address.slice(i + 1)) };
}

async function call(method: string, path: string, body?: unknown): Promise<Answer> {
  const t0 = Date.now();
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    // Far beyond the contract's 5 s: a hang shows up as a failed expectation below, not as a test timeout.
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after'), ms: Date.now() - t0 };
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  let last: T | undefined;
  while (Date.now() - t0 < timeoutMs) {
    last = await probe();
    if (ok(last)) return { value: last, ms: Date.now() - t0 };
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms; last: ${JSON.stringify(last)?.slice(0, 1500)}`);
}

/** 503 `unavailable` in the contract's shape, with a Retry-After in seconds, answered within 5 s. */
function expectUnavailable(a: Answer, label: string): void {
  expect({ label, status: a.status, code: a.body?.error?.code }).toEqual({ label, status: 503, code: 'unavailable' });
  expect(typeof a.body.error.message).toBe('string');
  expect(Array.isArray(a.body.error.details)).toBe(true);
  expect(a.retryAfter).toMatch(/^[1-9]\d*$/);
  expect({ label, withinContract: a.ms < ANSWER_WITHIN_MS, ms: a.ms }).toEqual({ label, withinContract: true, ms: a.ms });
}

const ready = () => call('GET', '/ready');
const failingChecks = (a: Answer): string[] => (a.body?.checks ?? []).filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name).sort();
const checkError = (a: Answer, name: string): string => a.body?.checks?.find((c: { name: string }) => c.name === name)?.error ?? '';

beforeAll(async () => {
  try {
    Runtime.install({ logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} } as never, shutdownSignals: [] });
  } catch {
    // Already installed in this process.
  }
  const dbUrl = new URL(testDatabaseUrl());
  pgProxy = await startTcpProxy({ host: dbUrl.hostname, port: Number(dbUrl.port || 5432) });
  temporalProxy = await startTcpProxy(hostPort(temporalAddress()));
  redis = await startPrivateRedis();

  const apiDbUrl = new URL(testDatabaseUrl());
  apiDbUrl.host = pgProxy.address;
  apiDbUrl.searchParams.set('application_name', appName);
  const apiPort = await freePort();
  const config = loadConfig({
    API_KEYS: `${tenant}:${key}`,
    TEMPORAL_ADDRESS: temporalProxy.address,
    TEMPORAL_TASK_QUEUE: taskQueue,
    DATABASE_URL: apiDbUrl.toString(),
    REDIS_URL: redis.url,
    TOKEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    PUBLIC_BASE_URL: `http://127.0.0.1:${apiPort}`,
  });
  const logger = createLogger({ level: 'warn', format: 'json' }, { write: (line: string) => void logs.push(line) });
  // The API through the proxies; the worker straight to the servers (the faults are the API's to answer).
  apiPool = createPool(apiDbUrl.toString(), 5);
  workerPool = createPool(testDatabaseUrl(), 5);
  admin = createPool(testDatabaseUrl(), 2);
  apiConnection = await Connection.connect({ address: temporalProxy.address });
  const metrics = createMetricsRegistry();
  resilience = createProcessResilience(config, logger, metrics);
  app = await createApi(config, apiPool, new Client({ connection: apiConnection, namespace: config.temporal.namespace }), TEST_ENCRYPTION_KEY, logger, {
    resilience,
    metrics,
  });
  await app.listen({ port: apiPort, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${apiPort}`;

  nativeConnection = await NativeConnection.connect({ address: temporalAddress() });
  worker = await createHeraldWorker({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue,
    deps: buildActivityDeps(config, workerPool, TEST_ENCRYPTION_KEY, logger, resilience),
    workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH },
  });
  workerRun = worker.run();
  await until('the API to be ready', ready, (a) => a.status === 200 && a.body.status === 'ready');
});

afterAll(async () => {
  await pgProxy?.restore();
  await temporalProxy?.restore();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerRun?.catch(() => undefined);
  await app?.close();
  await apiConnection?.close();
  await nativeConnection?.close();
  await resilience?.close();
  await Promise.all([apiPool?.end(), workerPool?.end(), admin?.end()]);
  await redis?.stop();
  await pgProxy?.close();
  await temporalProxy?.close();
});

describe('PostgreSQL away', () => {
  let existing: string;
  beforeAll(async () => {
    const created = await call('POST', '/v1/pipelines', dryRunRequest());
    expect(created.status).toBe(202);
    existing = created.body.id;
  });

  test('refusing connections: POST, GET and list answer 503 with Retry-After within 5 s, /ready names postgresql; all recover by themselves', async () => {
    const acceptedBefore = pgProxy.stats.accepted;
    await pgProxy.refuse();
    pgProxy.terminate(); // a stopped server takes its open connections with it
    try {
      const answers = await Promise.all([
        call('POST', '/v1/pipelines', dryRunRequest()),
        call('GET', `/v1/pipelines/${existing}`),
        call('GET', '/v1/pipelines?limit=5'),
      ]);
      answers.forEach((a, i) => expectUnavailable(a, ['POST', 'GET', 'list'][i]));
      const r = await ready();
      expect(r.status).toBe(503);
      expect(r.body.status).toBe('not_ready');
      expect(failingChecks(r)).toEqual(['postgresql']);
      expect(r.retryAfter).toMatch(/^\d+$/);
      // The fault landed: the API's connections were refused by the kernel, none reached PostgreSQL.
      expect(checkError(r, 'postgresql')).toMatch(/ECONNREFUSED/);
      expect(pgProxy.stats.accepted).toBe(acceptedBefore);
      expect(logs.some((l) => l.includes('dependency unavailable') && l.includes('ECONNREFUSED'))).toBe(true);
    } finally {
      await pgProxy.restore();
    }
    // Nobody restarts anything: the pool opens new connections as soon as PostgreSQL takes them.
    const back = await until('POST to succeed again', () => call('POST', '/v1/pipelines', dryRunRequest()), (a) => a.status === 202, 30_000);
    expect((await call('GET', `/v1/pipelines/${back.value.body.id}`)).status).toBe(200);
    expect((await call('GET', '/v1/pipelines?limit=5')).status).toBe(200);
    await until('/ready to say ready', ready, (a) => a.status === 200 && a.body.status === 'ready', 30_000);
    expect(pgProxy.stats.accepted).toBeGreaterThan(acceptedBefore);
  });

  test('connections cut mid-query: the requests in flight answer 503 with Retry-After within 5 s, then all recover', async () => {
    pgProxy.hold();
    let cut: number;
    let answers: Answer[];
    try {
      const inFlight = Promise.all([
        call('POST', '/v1/pipelines', dryRunRequest()),
        call('GET', `/v1/pipelines/${existing}`),
        call('GET', '/v1/pipelines?limit=5'),
      ]);
      // Each request has sent its query (or its connection's start-up) into a connection that no longer answers.
      await until('three requests to be waiting on PostgreSQL', async () => pgProxy.stats.heldConnections, (n) => n >= 3, 20_000);
      cut = pgProxy.terminate();
      answers = await inFlight;
    } finally {
      await pgProxy.restore();
    }
    expect(cut).toBeGreaterThanOrEqual(3);
    answers.forEach((a, i) => expectUnavailable(a, ['POST', 'GET', 'list'][i]));
    const back = await until('POST to succeed again', () => call('POST', '/v1/pipelines', dryRunRequest()), (a) => a.status === 202, 30_000);
    expect((await call('GET', `/v1/pipelines/${back.value.body.id}`)).status).toBe(200);
  });

  test('an administrator ends the backends (57P01) mid-query: 503 with Retry-After, then all recover', async () => {
    // Three open connections for the requests to use, so their queries go to live backends.
    await Promise.all([1, 2, 3, 4].map(() => apiPool.query('SELECT pg_sleep(0.05)')));
    expect(apiPool.idleCount).toBeGreaterThanOrEqual(3);
    pgProxy.hold();
    let ended: number;
    let answers: Answer[];
    try {
      const inFlight = Promise.all([
        call('POST', '/v1/pipelines', dryRunRequest()),
        call('GET', `/v1/pipelines/${existing}`),
        call('GET', '/v1/pipelines?limit=5'),
      ]);
      await until('three queries to be in flight', async () => pgProxy.stats.heldConnections, (n) => n >= 3, 20_000);
      // PostgreSQL ends each of the API's backends with FATAL 57P01 (terminating connection due to administrator command).
      const res = await admin.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t',
        [appName],
      );
      ended = res.rows[0].n;
      await pgProxy.restore(); // the FATAL messages reach the API's connections, then their end
      answers = await inFlight;
    } finally {
      await pgProxy.restore();
    }
    expect(ended).toBeGreaterThanOrEqual(3);
    answers.forEach((a, i) => expectUnavailable(a, ['POST', 'GET', 'list'][i]));
    // The fault landed as an administrator shutdown, and that is what the API classified as unavailable.
    expect(logs.some((l) => l.includes('dependency unavailable') && l.includes('57P01'))).toBe(true);
    const back = await until('POST to succeed again', () => call('POST', '/v1/pipelines', dryRunRequest()), (a) => a.status === 202, 30_000);
    expect((await call('GET', `/v1/pipelines/${back.value.body.id}`)).status).toBe(200);
  });
});

describe('Temporal away', () => {
  test('refusing connections: every route that calls Temporal answers 503 within 5 s, reads keep working, /ready names temporal; all recover', async () => {
    const waiting = await call('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true } }));
    expect(waiting.status).toBe(202);
    const id = waiting.body.id as string;
    await until('the pipeline to await approval', () => call('GET', `/v1/pipelines/${id}`), (a) => a.body?.status === 'awaiting_approval', 60_000);
    const listed = (await call('GET', '/v1/pipelines?limit=100')).body.items.length as number;
    const account = await call('POST', '/v1/accounts', { platform: 'webhook', handle: 'outage', credentials: { url: 'http://127.0.0.1:9/hook' } });
    expect(account.status).toBe(201);
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();

    await temporalProxy.refuse();
    const cut = temporalProxy.terminate();
    const acceptedBefore = temporalProxy.stats.accepted;
    try {
      // The fault landed: the API's open gRPC connection was cut, and no new one gets through.
      expect(cut).toBeGreaterThanOrEqual(1);
      const post = await call('POST', '/v1/pipelines', dryRunRequest());
      expectUnavailable(post, 'POST /v1/pipelines');
      const others = await Promise.all([
        call('POST', `/v1/pipelines/${id}/approve`, {}),
        call('POST', `/v1/pipelines/${id}/reject`, { reason: 'not now' }),
        call('PUT', `/v1/pipelines/${id}/publish-at`, { publishAt: inAnHour }),
        call('POST', `/v1/pipelines/${id}/cancel`),
        call('POST', '/v1/schedules', { every: '1h', pipeline: dryRunRequest() }),
        call('POST', `/v1/accounts/${account.body.id}/refresh`),
      ]);
      others.forEach((a, i) => expectUnavailable(a, ['approve', 'reject', 'publish-at', 'cancel', 'POST /v1/schedules', 'account refresh'][i]));
      expect((await call('GET', '/v1/schedules')).body.items).toEqual([]);
      // What lives in PostgreSQL is still served, and the refused POST left nothing behind.
      const read = await call('GET', `/v1/pipelines/${id}`);
      expect(read.status).toBe(200);
      expect(read.body.status).toBe('awaiting_approval');
      expect((await call('GET', '/v1/pipelines?limit=100')).body.items.length).toBe(listed);
      const r = await ready();
      expect(r.status).toBe(503);
      expect(r.body.status).toBe('not_ready');
      expect(failingChecks(r)).toEqual(['temporal', 'worker']);
      expect(r.ms).toBeLessThan(ANSWER_WITHIN_MS);
      expect(temporalProxy.stats.accepted).toBe(acceptedBefore);
    } finally {
      await temporalProxy.restore();
    }
    const back = await until('POST to succeed again', () => call('POST', '/v1/pipelines', dryRunRequest()), (a) => a.status === 202, 60_000);
    expect(back.value.status).toBe(202);
    await until('/ready to say ready', ready, (a) => a.status === 200 && a.body.status === 'ready', 60_000);
    const approved = await call('POST', `/v1/pipelines/${id}/approve`, {});
    expect(approved.status).toBe(200);
    expect(temporalProxy.stats.accepted).toBeGreaterThan(acceptedBefore);
  });
});

describe('Redis away', () => {
  test('killed: /ready stays 200 but says degraded naming redis, a dry-run pipeline still publishes; after a restart /ready says ready again', async () => {
    const before = await ready();
    expect(before.status).toBe(200);
    expect(before.body.status).toBe('ready');
    expect(before.body.checks.find((c: { name: string }) => c.name === 'redis')).toEqual({ name: 'redis', ok: true });

    await redis.kill();
    try {
      const degraded = await until('/ready to notice Redis is gone', ready, (a) => a.body?.status === 'degraded', 30_000);
      expect(degraded.value.status).toBe(200);
      expect(failingChecks(degraded.value)).toEqual(['redis']);
      // The fault landed: the resilience layer is on its in-process fallback and said so.
      expect(resilience.fallbackActive).toBe(true);
      expect(logs.some((l) => l.includes('redis unavailable'))).toBe(true);

      const created = await call('POST', '/v1/pipelines', dryRunRequest());
      expect(created.status).toBe(202);
      const done = await until('the pipeline to finish', () => call('GET', `/v1/pipelines/${created.body.id}`), (a) => ['published', 'failed', 'partially_published'].includes(a.body?.status), 90_000);
      expect(done.value.body.status).toBe('published');
    } finally {
      await redis.restart();
    }
    await until('/ready to say ready again', ready, (a) => a.status === 200 && a.body.status === 'ready', 30_000);
    expect(resilience.fallbackActive).toBe(false);
  });
});
