// `npm start`'s process (embedded PGlite, worker and API in one) stopped while a pipeline is scheduled, then started
// again: the pipeline publishes once per target, and not before publishAt.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ROOT, temporalAddress } from '../helpers/env';
import { freePort } from '../helpers/ports';

jest.setTimeout(180_000);

let dataDir: string;
let port: number;
let child: ChildProcess | null = null;
let output = '';
const KEY = 'restart-test-key';
const TASK_QUEUE = `herald-restart-${process.pid}`;

function start(): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', 'src/dev/start.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      DATA_DIR: dataDir,
      PORT: String(port),
      API_KEYS: `restart:${KEY}`,
      DATABASE_URL: '',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  c.stdout!.on('data', (d) => (output += d));
  c.stderr!.on('data', (d) => (output += d));
  return c;
}

async function waitReady(timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/ready`);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`herald did not become ready; output:\n${output.slice(-3000)}`);
}

async function stop(c: ChildProcess): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
  c.kill('SIGINT');
  const code = await exited;
  return { code, ms: Date.now() - t0 };
}

const api = async (method: string, route: string, body?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${port}${route}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as any };
};

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'herald-restart-'));
  port = await freePort();
});
afterAll(async () => {
  if (child && child.exitCode === null) await stop(child);
  await rm(dataDir, { recursive: true, force: true });
});

it('a scheduled dry run survives a stop and start of npm start and publishes once per target, not before publishAt', async () => {
  child = start();
  await waitReady();
  const publishAt = new Date(Date.now() + 15_000).toISOString();
  const created = await api('POST', '/v1/pipelines', {
    topic: 'Surviving restarts',
    targets: [{ platform: 'x' }, { platform: 'mastodon' }],
    dryRun: true,
    publishAt,
  });
  expect(created.status).toBe(202);
  const id = created.body.id;
  for (let i = 0; i < 100; i++) {
    if ((await api('GET', `/v1/pipelines/${id}`)).body.status === 'scheduled') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect((await api('GET', `/v1/pipelines/${id}`)).body.status).toBe('scheduled');

  const stopped = await stop(child);
  expect(stopped.code).toBe(0);
  expect(stopped.ms).toBeLessThan(10_000);

  child = start();
  await waitReady();
  let state: any;
  for (let i = 0; i < 200; i++) {
    state = (await api('GET', `/v1/pipelines/${id}`)).body;
    if (state.status === 'published') break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(state.status).toBe('published');
  expect(state.publications.map((p: any) => p.status)).toEqual(['previewed', 'previewed']);
  expect(Date.parse(state.updatedAt)).toBeGreaterThanOrEqual(Date.parse(publishAt));
  // Exactly one publication per target in the workflow's history (a lean pipeline publishes in its own history).
  const connection = await Connection.connect({ address: temporalAddress() });
  try {
    const history = await new Client({ connection }).workflow.getHandle(`pipeline-restart-${id}`).fetchHistory();
    const posts = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'publishPost');
    expect(posts).toHaveLength(2);
    expect((history.events ?? []).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toHaveLength(0);
  } finally {
    await connection.close();
  }
  // The embedded database kept everything across the restart.
  const list = await api('GET', '/v1/pipelines');
  expect(list.body.items.map((p: any) => p.id)).toContain(id);
});
