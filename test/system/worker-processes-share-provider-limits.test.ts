// Two worker PROCESSES share one provider's rate limit through Redis and together stay within it; with Redis killed
// mid-run, pipelines still finish (each process falls back to its own limiter). The imitation provider runs in a
// process of its own, so its arrival stamps are not held back by the test runner's garbage collections.
import { spawn, type ChildProcess } from 'node:child_process';
import { startFakeProcess, type FakeProcess } from '../helpers/fake-process';
import { ROOT, temporalAddress, testDatabaseUrl } from '../helpers/env';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../helpers/harness';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis';

jest.setTimeout(240_000);

const LIMIT = 8;
const WINDOW_MS = 4_000;

let redis: PrivateRedis;
let openai: FakeProcess;
let h: Harness;
const workers: ChildProcess[] = [];
let workerOutput = '';

function env(): Record<string, string> {
  return {
    OPENAI_API_KEY: 'sk-shared',
    OPENAI_BASE_URL: openai.url,
    TEXT_PROVIDERS: 'openai',
    IMAGE_SOURCES: 'card',
    REDIS_URL: redis.url,
    RATE_LIMIT_OPENAI: `${LIMIT}/${WINDOW_MS / 1000}s`,
  };
}

function startWorkerProcess(taskQueue: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...env(),
      DATABASE_URL: testDatabaseUrl(),
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_TASK_QUEUE: taskQueue,
      TOKEN_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY.toString('base64'),
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (workerOutput += d));
  child.stderr!.on('data', (d) => (workerOutput += d));
  workers.push(child);
  return child;
}

async function waitForPollers(n: number) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const res = await h.client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: h.taskQueue, kind: 1 },
      taskQueueType: 2, // activity tasks
    });
    if ((res.pollers?.length ?? 0) >= n) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`workers did not start polling; output:\n${workerOutput.slice(-3000)}`);
}

/** The most requests the fake accepted in any interval of windowMs. */
function peakInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi] - sorted[lo] >= windowMs) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

beforeAll(async () => {
  redis = await startPrivateRedis();
  openai = await startFakeProcess('openai');
  // The provider itself enforces the limit strictly: anything over it is a real 429.
  await openai.enforceRateLimit({ requests: LIMIT, windowMs: WINDOW_MS });
  h = await startHarness({ withWorker: false, env: env() });
  startWorkerProcess(h.taskQueue);
  startWorkerProcess(h.taskQueue);
  await waitForPollers(2);
});
afterAll(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await h?.stop();
  await openai?.close();
  await redis?.stop();
});

async function submit(count: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await h.api('POST', '/v1/pipelines', {
      topic: `Shared limits ${tag} ${i}`,
      targets: [{ platform: 'x' }],
      dryRun: true,
      image: { mode: 'none' },
      cache: false,
    });
    expect(res.status).toBe(202);
    ids.push(res.body.id);
  }
  return ids;
}

async function allFinished(ids: string[], timeoutMs: number): Promise<any[]> {
  return Promise.all(ids.map((id) => h.waitFor(id, (s) => ['published', 'failed', 'partially_published'].includes(s.status), { timeoutMs })));
}

it('two worker processes together stay within the provider limit: no request is refused', async () => {
  const start = await openai.stats();
  const ids = await submit(3 * LIMIT, 'a');
  const states = await allFinished(ids, 120_000);
  expect(states.filter((s) => s.status !== 'published').map((s) => `${s.status}: ${JSON.stringify(s.error)}`)).toEqual([]);
  expect(states.every((s) => s.content.provider === 'openai')).toBe(true);
  const end = await openai.stats();
  // Every pipeline's text came from the provider (nothing cached or skipped), and none of it was refused.
  expect(end.accepted - start.accepted).toBe(ids.length);
  expect(end.refused - start.refused).toBe(0);
  const times = end.requests.slice(start.requests.length).map((r) => r.at);
  expect(peakInWindow(times, WINDOW_MS)).toBeLessThanOrEqual(LIMIT);
  // Both processes did the work.
  expect(workerOutput).not.toMatch(/"level":50/);
});

it('with Redis killed mid-run, pipelines still finish', async () => {
  const ids = await submit(2 * LIMIT, 'b');
  await new Promise((r) => setTimeout(r, 1500));
  await redis.kill();
  const states = await allFinished(ids, 150_000);
  expect(states.filter((s) => s.status !== 'published').map((s) => `${s.status}: ${JSON.stringify(s.error)}`)).toEqual([]);
  expect(states.every((s) => s.content.provider === 'openai')).toBe(true);
  await redis.restart();
});
