// A worker process as `npm run worker` runs it, with WORKER_METRICS_PORT: /health answers while it polls; after one
// scheduled pipeline whose text comes from an imitation OpenAI server and whose post goes to an imitation webhook,
// /metrics has the provider-call, stage and publish-lateness histograms beside the Temporal SDK's own metrics; every
// line the process writes (Temporal's included) is JSON; and every metric the Grafana dashboard and the Prometheus
// rules under deploy/ use is one that a running Herald (this worker and the API) actually serves. A SIGUSR2 (Node's
// --heapsnapshot-signal, as an operator takes a heap snapshot) leaves it polling: the Temporal SDK's default stop
// signals included SIGUSR2, and the worker stopped polling while the process lived on.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { FakeAiServer } from '../fakes/fake-control';
import { startOpenAIFake } from '../fakes/openai-server';
import { startFakeWebhookServer, type FakeWebhookServer } from '../fakes/webhook-server';
import { ROOT, TEST_DATA_DIR } from '../helpers/env';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../helpers/harness';
import { freePort } from '../helpers/ports';
import { alive, harnessWorkerEnv, spawnWorkerProcess, stopWorkerProcesses, waitReady, type WorkerProc } from '../helpers/worker-process';

jest.setTimeout(240_000);

let h: Harness;
let openai: FakeAiServer;
let hook: FakeWebhookServer;
let worker: WorkerProc;
let metricsUrl: string;
let snapshotDir: string;

beforeAll(async () => {
  openai = await startOpenAIFake();
  hook = await startFakeWebhookServer();
  h = await startHarness({ withWorker: false });
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}`;
  snapshotDir = mkdtempSync(path.join(TEST_DATA_DIR, 'heap-'));
  worker = spawnWorkerProcess(
    1,
    harnessWorkerEnv(h, TEST_ENCRYPTION_KEY, {
      WORKER_METRICS_PORT: String(port),
      HOST: '127.0.0.1',
      // Debug makes the SDK's INFO lines (worker state changes) come out, to show they are JSON too.
      LOG_LEVEL: 'debug',
      TEXT_PROVIDERS: 'openai,offline',
      OPENAI_API_KEY: 'sk-test-openai',
      OPENAI_BASE_URL: openai.url,
      NODE_OPTIONS: [process.env.NODE_OPTIONS, '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`].filter(Boolean).join(' '),
    }),
  );
  await waitReady([worker], 180_000);
});

afterAll(async () => {
  if (worker) await stopWorkerProcesses([worker], TEST_DATA_DIR);
  await h?.stop();
  await openai?.close();
  await hook?.close();
  if (snapshotDir) rmSync(snapshotDir, { recursive: true, force: true });
});

/** Samples of one metric, as `{labels: 'a="x",b="y"', value}`. */
function samples(text: string, name: string): { labels: string; value: number }[] {
  const out: { labels: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (m && m[1] === name) out.push({ labels: m[2] ?? '', value: Number(m[3]) });
  }
  return out;
}

const valueOf = (text: string, name: string, ...labels: string[]) =>
  samples(text, name)
    .filter((s) => labels.every((l) => s.labels.includes(l)))
    .reduce((sum, s) => sum + s.value, 0);

/** Every metric family a scrape names (`# TYPE` lines and sample names). */
function families(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+)/.exec(line);
    if (type) names.add(type[1]);
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]);
  }
  return names;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

it('answers /health while the worker polls', async () => {
  const res = await fetch(`${metricsUrl}/health`);
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ status: 'ok', worker: 'RUNNING', taskQueue: h.taskQueue });
  expect((await fetch(`${metricsUrl}/nothing-here`)).status).toBe(404);
});

/** The nice value of each of a process's threads, by thread name, from /proc (field 19 of a thread's stat). */
function threadNices(pid: number): { name: string; nice: number }[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      return [{ name, nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]) }];
    } catch {
      return []; // the thread ended while listed
    }
  });
}

(process.platform === 'linux' ? it : it.skip)("runs the bulk lane's threads at nice 19 (WORKER_BULK_LANE_NICE unset) and the rest as started", () => {
  const threads = threadNices(worker.child.pid!);
  const lowered = threads.filter((t) => t.nice === 19);
  // The bulk lane's SDK worker: its workflow thread and its core threads; the main lane's twins stay at 0.
  expect(lowered.map((t) => t.name).sort()).toEqual(expect.arrayContaining(['node', 'workflow-proces']));
  expect(threads.filter((t) => t.name === 'workflow-proces').map((t) => t.nice).sort()).toEqual([0, 19]);
  // Not the threads both lanes share: libuv's pool (a title card's encoding) and the SDK runtime's.
  expect(lowered.map((t) => t.name)).not.toContain('libuv-worker');
  expect(lowered.map((t) => t.name)).not.toContain('tokio-runtime-w');
  // The process's main thread (its id is the pid) keeps its priority.
  expect(threads[0]).toBeDefined();
  expect(readFileSync(`/proc/${worker.child.pid}/stat`, 'utf8').split(') ')[1].split(' ')[19 - 3]).toBe('0');
});

describe('after one scheduled pipeline that called a provider and published', () => {
  let text: string;

  beforeAll(async () => {
    const account = await h.api('POST', '/v1/accounts', { platform: 'webhook', handle: 'metrics-hook', credentials: { url: `${hook.url}/hook/metrics` } });
    expect(account.status).toBe(201);
    const publishAt = new Date(Date.now() + 4_000).toISOString();
    const res = await h.api('POST', '/v1/pipelines', {
      topic: 'Metrics an operator trusts',
      brief: 'Histograms for provider calls, stages and publish lateness. Temporal metrics beside them.',
      targets: [{ platform: 'webhook', accountId: account.body.id }],
      image: { mode: 'none' },
      cache: false,
      publishAt,
    });
    expect(res.status).toBe(202);
    const done = await h.waitFor(res.body.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status), { timeoutMs: 120_000 });
    expect(done.status).toBe('published');
    expect(done.content.provider).toBe('openai');
    expect(openai.requests.length).toBeGreaterThanOrEqual(1);
    expect(hook.received.length).toBe(1);
    // The sink reaches the registry when the workflow task completes; the last stage ends with the final save.
    const deadline = Date.now() + 30_000;
    for (;;) {
      text = await scrape(`${metricsUrl}/metrics`);
      if (valueOf(text, 'herald_stage_duration_seconds_count', 'stage="publish"') >= 1 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  it('has the provider call latency histogram, by provider and outcome', () => {
    expect(valueOf(text, 'herald_provider_call_duration_seconds_count', 'provider="openai"', 'outcome="ok"')).toBeGreaterThanOrEqual(1);
    // Webhook limits are kept per account: the provider key names it.
    expect(valueOf(text, 'herald_provider_call_duration_seconds_count', 'provider="webhook:', 'outcome="ok"')).toBe(1);
    expect(valueOf(text, 'herald_provider_call_duration_seconds_bucket', 'provider="openai"', 'le="+Inf"')).toBeGreaterThanOrEqual(1);
  });

  it('has a duration for every stage the pipeline went through', () => {
    for (const stage of ['generate', 'illustrate', 'adapt', 'scheduled_wait', 'publish']) {
      expect([stage, valueOf(text, 'herald_stage_duration_seconds_count', `stage="${stage}"`)]).toEqual([stage, 1]);
    }
    // It waited for its publish time, about 4 s after it was created, minus the stages before.
    const waited = valueOf(text, 'herald_stage_duration_seconds_sum', 'stage="scheduled_wait"');
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThan(5);
  });

  it('has the publish lateness of the post, by platform', () => {
    expect(valueOf(text, 'herald_publish_lateness_seconds_count', 'platform="webhook"')).toBe(1);
    const late = valueOf(text, 'herald_publish_lateness_seconds_sum', 'platform="webhook"');
    console.log(`publish lateness of a post scheduled 4 s ahead: ${late.toFixed(3)} s`);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThan(30);
  });

  it("serves the Temporal SDK's metrics on the same port", () => {
    const temporal = [...families(text)].filter((n) => n.startsWith('temporal_'));
    console.log(`Temporal SDK metric families on the worker's /metrics: ${temporal.length} (${temporal.slice(0, 8).join(', ')}, ...)`);
    expect(samples(text, 'temporal_workflow_completed_total').length).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'temporal_activity_execution_latency_count', 'activity_type="generateText"')).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'temporal_num_pollers', `task_queue="${h.taskQueue}"`, 'poller_type="workflow_task"')).toBeGreaterThan(0);
  });

  it('counts accounts by status from the database when scraped', () => {
    expect(valueOf(text, 'herald_accounts', `tenant="${h.tenants.a}"`, 'platform="webhook"', 'status="active"')).toBe(1);
    expect(valueOf(text, 'herald_accounts', `tenant="${h.tenants.a}"`, 'status="reauth_required"')).toBe(0);
    expect(text).toContain('# TYPE herald_publications_waiting gauge');
    expect(text).toContain('# TYPE herald_webhook_receivers gauge');
  });

  it('wrote nothing but JSON lines, Temporal’s own among them', () => {
    const lines = worker.output.split('\n').filter((l) => l.trim());
    const notJson = lines.filter((l) => {
      try {
        JSON.parse(l);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    const temporal = lines.map((l) => JSON.parse(l)).filter((l) => l.component === 'temporal');
    expect(temporal.length).toBeGreaterThan(0);
    expect(temporal[0]).toEqual(expect.objectContaining({ level: expect.any(Number), msg: expect.any(String), time: expect.any(Number) }));
  });

  it('serves every metric the dashboard and the alert rules use', async () => {
    const served = new Set([...families(text), ...families(await scrape(`${h.baseUrl}/metrics`))]);
    const deploy = ['deploy/grafana/herald-dashboard.json', 'deploy/prometheus/alerts.yml'].map((f) => readFileSync(path.join(ROOT, f), 'utf8')).join('\n');
    const used = [...new Set(deploy.match(/\b(?:herald|temporal)_[a-z0-9_]+/g) ?? [])];
    expect(used.length).toBeGreaterThan(10);
    const missing = used.filter((name) => !served.has(name) && !served.has(name.replace(/_(bucket|sum|count)$/, '')));
    expect(missing).toEqual([]);
  });
});

describe('after a SIGUSR2 (a heap snapshot taken)', () => {
  it('still polls: /health stays ok and a pipeline started afterwards publishes', async () => {
    worker.child.kill('SIGUSR2');
    // The signal landed: Node wrote the snapshot (the process is paused while it does).
    const deadline = Date.now() + 120_000;
    while (!readdirSync(snapshotDir).some((f) => f.endsWith('.heapsnapshot')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(readdirSync(snapshotDir).filter((f) => f.endsWith('.heapsnapshot'))).toHaveLength(1);

    const account = await h.api('POST', '/v1/accounts', { platform: 'webhook', handle: 'after-snapshot', credentials: { url: `${hook.url}/hook/after-snapshot` } });
    expect(account.status).toBe(201);
    const res = await h.api('POST', '/v1/pipelines', {
      topic: 'Still polling after a heap snapshot',
      brief: 'A worker goes on after an operator takes a heap snapshot.',
      targets: [{ platform: 'webhook', accountId: account.body.id }],
      image: { mode: 'none' },
      cache: false,
    });
    expect(res.status).toBe(202);
    const done = await h.waitFor(res.body.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status), { timeoutMs: 120_000 });
    expect(done.status).toBe('published');
    expect(hook.received.filter((r) => r.path.includes('after-snapshot'))).toHaveLength(1);
    const health = await fetch(`${metricsUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', worker: 'RUNNING' });
    expect(alive(worker)).toBe(true);
  });
});
