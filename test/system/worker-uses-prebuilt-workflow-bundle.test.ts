// A worker process as `npm run worker` runs it bundles the workflow code once, in a child process, into
// DATA_DIR/workflow-bundle (named by a hash of the sources), and runs pipelines from that file; a second worker on the
// same DATA_DIR reuses the file without bundling. Bundles of earlier code are removed when a new one is made, unless
// they are recent (another worker may be starting with one).
import { mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TEST_DATA_DIR } from '../helpers/env';
import { dryRunRequest, startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../helpers/harness';
import { harnessWorkerEnv, spawnWorkerProcess, stopWorkerProcesses, waitReady, type WorkerProc } from '../helpers/worker-process';
import { WORKFLOWS_PATH, workflowInterceptorModules } from '../../src/worker/create-worker';
import { workflowBundleKey } from '../../src/worker/workflow-bundle';

jest.setTimeout(300_000);

const dataDir = path.join(TEST_DATA_DIR, `prebuilt-bundle-${process.pid}`);
const bundleDir = path.join(dataDir, 'workflow-bundle');
let h: Harness;
const workers: WorkerProc[] = [];

beforeAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  h = await startHarness({ withWorker: false });
});

afterAll(async () => {
  await stopWorkerProcesses(workers, TEST_DATA_DIR);
  await h?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function startWorker(): Promise<WorkerProc> {
  const w = spawnWorkerProcess(workers.length + 1, harnessWorkerEnv(h, TEST_ENCRYPTION_KEY, { DATA_DIR: dataDir }));
  workers.push(w);
  await waitReady([w], 240_000);
  return w;
}

async function runsAPipeline(topic: string): Promise<void> {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic, targets: [{ platform: 'x' }], image: { mode: 'none' } }));
  expect(res.status).toBe(202);
  const done = await h.waitFor(res.body.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status), { timeoutMs: 120_000 });
  expect(done.status).toBe('published');
}

it('bundles once into DATA_DIR, runs pipelines from the file, and a second worker reuses it', async () => {
  // Bundles of earlier code: the hour-old one is removed once the current one is made, the recent one kept.
  mkdirSync(bundleDir, { recursive: true });
  const stale = path.join(bundleDir, 'workflows-00000000000000000000.js');
  writeFileSync(stale, '// earlier code');
  const hourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(stale, hourAgo, hourAgo);
  const recent = path.join(bundleDir, 'workflows-11111111111111111111.js');
  writeFileSync(recent, '// code another worker may be starting with');

  const first = await startWorker();
  const expected = path.join(bundleDir, `workflows-${workflowBundleKey(WORKFLOWS_PATH, workflowInterceptorModules())}.js`);
  expect(readdirSync(bundleDir).sort()).toEqual([path.basename(recent), path.basename(expected)].sort());
  expect(first.output).toContain('workflow code bundled');
  const builtAt = statSync(expected).mtimeMs;
  await runsAPipeline('Runs from the prebuilt bundle');
  await stopWorkerProcesses([first], TEST_DATA_DIR);

  const second = await startWorker();
  expect(second.output).not.toContain('bundling the workflow code');
  expect(statSync(expected).mtimeMs).toBe(builtAt);
  await runsAPipeline('Runs from the cached bundle');
});

it('names the bundle by the interceptor modules too (tracing on makes another bundle)', () => {
  const plain = workflowBundleKey(WORKFLOWS_PATH, workflowInterceptorModules());
  expect(workflowBundleKey(WORKFLOWS_PATH, workflowInterceptorModules())).toBe(plain);
  expect(workflowBundleKey(WORKFLOWS_PATH, [...workflowInterceptorModules(), '/elsewhere/otel-interceptors.js'])).not.toBe(plain);
});
