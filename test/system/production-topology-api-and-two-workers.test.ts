// The production topology without Docker: the API and two workers as three separate OS processes (the entry points
// `npm run api` and `npm run worker` run), sharing the run's Temporal and PostgreSQL and a Redis of their own.
// Pipelines flow through both workers; then one worker is killed with SIGKILL while it is working on unfinished
// pipelines, and the other carries on: those in flight and those started after the kill all publish.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startApiProcess, until, type ApiProc } from '../helpers/api-process';
import { TEST_DATA_DIR, temporalAddress, testDatabaseUrl } from '../helpers/env';
import { dryRunRequest, TEST_ENCRYPTION_KEY } from '../helpers/harness';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis';
import { alive, spawnWorkerProcess, stopWorkerProcesses, waitReady, type WorkerProc } from '../helpers/worker-process';

jest.setTimeout(600_000);

const LOG_DIR = path.join(TEST_DATA_DIR, 'production-topology');
const suffix = randomBytes(4).toString('hex');
const tenant = `topo_${suffix}`;
const apiKey = `key-topo-${suffix}`;
const taskQueue = `herald-topology-${suffix}`;

let redis: PrivateRedis;
let api: ApiProc;
let temporal: Client;
const workers: WorkerProc[] = [];

function commonEnv(): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    DATABASE_URL: testDatabaseUrl(),
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: taskQueue,
    REDIS_URL: redis.url,
    TOKEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    TEXT_PROVIDERS: 'offline',
    IMAGE_SOURCES: 'card',
  };
}

async function startPipelines(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await api.call('POST', '/v1/pipelines', dryRunRequest({ topic: `Topology ${i} ${suffix}` }));
    expect(res.status).toBe(202);
    ids.push(res.body.id);
  }
  return ids;
}

async function statuses(ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of ids) out.set(id, (await api.call('GET', `/v1/pipelines/${id}`)).body.status);
  return out;
}

async function allPublished(ids: string[], timeoutMs: number): Promise<void> {
  let last = new Map<string, string>();
  await until(`${ids.length} pipelines to publish`, timeoutMs, async () => {
    last = await statuses(ids);
    const failed = [...last].filter(([, s]) => ['failed', 'partially_published', 'cancelled', 'expired', 'rejected'].includes(s));
    if (failed.length) throw new Error(`pipelines ended badly: ${JSON.stringify(failed)}`);
    return [...last.values()].every((s) => s === 'published') ? true : undefined;
  }, 1_000).catch((err: Error) => {
    throw new Error(`${err.message}; last statuses ${JSON.stringify([...last])}`);
  });
}

/** Identities (`<pid>@<host>`) of the workers that ran the pipeline's workflow tasks and activities. */
async function workedOnBy(id: string): Promise<Set<string>> {
  const history = await temporal.workflow.getHandle(`pipeline-${tenant}-${id}`).fetchHistory();
  const ids = new Set<string>();
  for (const e of history.events ?? []) {
    const who = e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
    if (who) ids.add(who);
  }
  return ids;
}

const identityOf = (w: WorkerProc) => `${w.child.pid}@`;
const ranOn = (who: Set<string>, w: WorkerProc) => [...who].some((i) => i.startsWith(identityOf(w)));

beforeAll(async () => {
  mkdirSync(LOG_DIR, { recursive: true });
  redis = await startPrivateRedis();
  temporal = new Client({ connection: await Connection.connect({ address: temporalAddress() }) });
  api = await startApiProcess({ ...commonEnv(), API_KEYS: `${tenant}:${apiKey}` }, apiKey);
  workers.push(spawnWorkerProcess(1, commonEnv()), spawnWorkerProcess(2, commonEnv()));
  await waitReady(workers, 240_000);
});

afterAll(async () => {
  await stopWorkerProcesses(workers, LOG_DIR);
  await api?.stop();
  if (api) writeFileSync(path.join(LOG_DIR, 'api.log'), api.output);
  await temporal?.connection.close();
  await redis?.stop();
});

test('three processes: pipelines flow through both workers; after one is SIGKILLed the other finishes those in flight and new ones', async () => {
  // The API process sees PostgreSQL, Temporal and a worker polling its task queue.
  const ready = await until('the API to be ready', 60_000, async () => {
    const res = await fetch(`${api.url}/ready`);
    return res.status === 200 ? ((await res.json()) as { status: string }) : undefined;
  });
  expect(ready.status).toBe('ready');
  expect(new Set([api.child.pid, ...workers.map((w) => w.child.pid)]).size).toBe(3);

  // Pipelines flow, and both worker processes take part.
  const first = await startPipelines(6);
  await allPublished(first, 180_000);
  const firstWorkers = new Set<string>();
  for (const id of first) for (const who of await workedOnBy(id)) firstWorkers.add(who);
  expect(workers.every((w) => ranOn(firstWorkers, w))).toBe(true);

  // A batch in flight; the kill comes once worker 1 has worked on a pipeline of it that has not finished.
  const inFlight = await startPipelines(8);
  const [victim, survivor] = workers;
  const caught = await until('worker 1 to work on an unfinished pipeline', 120_000, async () => {
    for (const [id, status] of await statuses(inFlight)) {
      if (status !== 'published' && ranOn(await workedOnBy(id), victim)) return id;
    }
    return undefined;
  }, 100);
  const victimPid = victim.child.pid!;
  victim.child.kill('SIGKILL');
  await victim.exited;
  const unfinishedAtKill = [...(await statuses(inFlight))].filter(([, s]) => s !== 'published').map(([id]) => id);

  // The kill landed: the process died of SIGKILL and its pid is gone.
  expect(victim.child.signalCode).toBe('SIGKILL');
  expect(alive(victim)).toBe(false);
  expect(() => process.kill(victimPid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  expect(unfinishedAtKill).toContain(caught);
  expect(alive(survivor)).toBe(true);

  // Started after the kill.
  const after = await startPipelines(4);
  await allPublished([...inFlight, ...after], 300_000);

  // The one caught mid-way was worked on by both; nothing started after the kill ran on the dead process.
  const caughtBy = await workedOnBy(caught);
  expect(ranOn(caughtBy, victim) && ranOn(caughtBy, survivor)).toBe(true);
  for (const id of after) {
    const who = await workedOnBy(id);
    expect(ranOn(who, victim)).toBe(false);
    expect(ranOn(who, survivor)).toBe(true);
  }
  expect(alive(survivor)).toBe(true);
  expect(api.child.exitCode).toBeNull();
});
