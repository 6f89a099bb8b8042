// WORKER_LANES=split (src/worker/bulk-process.ts), as `npm run worker` runs it: the worker process runs the main lane
// and starts a child process for the bulk lane whose every thread is at nice 19 (the parent's own stay at 0). A tenant
// over its share publishes through the child (its workflows on `<queue>-bulk`), another tenant's pipeline through the
// parent; the parent's /metrics counts both processes' pipelines and /health names the child. Killed, the child takes
// the worker down with a non-zero exit naming it, instead of a worker that polls half its queues looking healthy.
import { readdirSync, readFileSync } from 'node:fs';
import { BURST_SHARE } from '../../src/pipelines/start-options';
import { TEST_DATA_DIR } from '../helpers/env';
import { dryRunRequest, startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../helpers/harness';
import { freePort } from '../helpers/ports';
import { alive, harnessWorkerEnv, spawnWorkerProcess, stopWorkerProcesses, waitReady, type WorkerProc } from '../helpers/worker-process';

jest.setTimeout(300_000);

let h: Harness;
let worker: WorkerProc;
let metricsUrl: string;
const workflowIds: string[] = [];
let childPid = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, get: () => Promise<T> | T, ok: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what} (last: ${JSON.stringify(v).slice(0, 300)})`);
    await sleep(250);
  }
}

/** The nice value of every thread of a process (field 19 of /proc/<pid>/task/<tid>/stat). */
function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

/** The processes `pid` started (every thread's children). */
function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8')
      .split(' ')
      .filter(Boolean)
      .map(Number),
  );
}

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '(gone)';
  }
}

const countOf = (text: string, name: string, label: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(label))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

async function post(key: string, topic: string): Promise<{ id: string; workflowId: string }> {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic }), { key });
  expect(res.status).toBe(202);
  const { rows } = await h.pool.query<{ workflow_id: string }>('SELECT workflow_id FROM pipelines WHERE id = $1', [res.body.id]);
  workflowIds.push(rows[0].workflow_id);
  return { id: res.body.id, workflowId: rows[0].workflow_id };
}

beforeAll(async () => {
  h = await startHarness({ withWorker: false });
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}`;
  worker = spawnWorkerProcess(1, harnessWorkerEnv(h, TEST_ENCRYPTION_KEY, { WORKER_LANES: 'split', WORKER_METRICS_PORT: String(port), HOST: '127.0.0.1' }));
  await waitReady([worker], 180_000);
});

afterAll(async () => {
  for (const wf of workflowIds) await h?.client.workflow.getHandle(wf).terminate('test over').catch(() => undefined);
  if (worker) await stopWorkerProcesses([worker], TEST_DATA_DIR);
  // The child stops when its parent's channel closes; a test run leaves none behind either way.
  if (childPid) {
    await until('the bulk lane process to go after its parent', () => { try { process.kill(childPid, 0); return false; } catch { return true; } }, (gone) => gone, 30_000).catch(() => process.kill(childPid, 'SIGKILL'));
  }
  await h?.stop();
});

it('runs the bulk lane in a child process at nice 19; both lanes publish and are counted in one /metrics', async () => {
  // The worker's children that run the worker's entry (a workflow bundler it may have started is not one).
  const children = childrenOf(worker.child.pid!).map((pid) => ({ pid, cmd: cmdlineOf(pid) }));
  const bulk = children.filter((c) => c.cmd.includes('src/worker/main.ts'));
  expect({ children, bulk: bulk.length }).toMatchObject({ bulk: 1 });
  childPid = bulk[0].pid;
  expect({ pid: childPid, nices: [...new Set(threadNices(childPid))] }).toEqual({ pid: childPid, nices: [19] });
  expect(threadNices(worker.child.pid!)[0]).toBe(0);
  const health = await fetch(`${metricsUrl}/health`);
  expect(health.status).toBe(200);
  expect(await health.json()).toMatchObject({ status: 'ok', worker: 'RUNNING', bulkLaneProcess: 'RUNNING' });

  // Tenant a at its share: BURST_SHARE rows at work (their workflows stopped; a queued row counts as at work).
  for (let i = 0; i < BURST_SHARE; i++) await post(h.keys.a, `at work ${i}`);
  for (const wf of workflowIds.splice(0)) await h.client.workflow.getHandle(wf).terminate('only its row counts here');
  const burst = [await post(h.keys.a, 'burst one'), await post(h.keys.a, 'burst two')];
  const light = await post(h.keys.b, 'light tenant');
  for (const p of [...burst, light]) {
    await until(`pipeline ${p.id} published`, async () => (await h.api('GET', `/v1/pipelines/${p.id}`, undefined, { key: p === light ? h.keys.b : h.keys.a })).body.status, (s) => s === 'published', 120_000);
  }
  const queues = await Promise.all([...burst, light].map(async (p) => (await h.client.workflow.getHandle(p.workflowId).describe()).taskQueue));
  expect(queues).toEqual([`${h.taskQueue}-bulk`, `${h.taskQueue}-bulk`, h.taskQueue]);

  // Three publish stages: two recorded in the child, one here. (The workflow's sink reports when its task completes.)
  const text = await until('three publish stages in /metrics', async () => (await fetch(`${metricsUrl}/metrics`)).text(), (t) => countOf(t, 'herald_stage_duration_seconds_count', 'stage="publish"') >= 3, 60_000);
  expect(countOf(text, 'herald_stage_duration_seconds_count', 'stage="publish"')).toBe(3);
});

it('stops with a non-zero exit naming the bulk lane when its process is killed', async () => {
  expect(childPid).toBeGreaterThan(0);
  expect(alive(worker)).toBe(true);
  process.kill(childPid, 'SIGKILL');
  await until('the worker to exit', () => alive(worker), (a) => !a, 60_000);
  expect(worker.child.exitCode).not.toBe(0);
  expect(worker.output).toMatch(/bulk lane's worker process exited on its own/);
});
