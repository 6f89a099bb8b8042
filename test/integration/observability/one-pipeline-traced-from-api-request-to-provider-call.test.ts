// With OTEL_EXPORTER_OTLP_ENDPOINT set, one pipeline started through the API is one trace: an OTLP/HTTP receiver on
// 127.0.0.1 (a plain HTTP server reading the JSON export) gets the API request's span, the Temporal client's start span
// under it, the workflow run under that, the activities under the workflow and the provider's HTTP call under its
// activity, all with one trace id. Without an endpoint, no OpenTelemetry SDK module is loaded at all.
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { NativeConnection } from '@temporalio/worker';
import { createLogger } from '../../../src/logger';
import { startTracing } from '../../../src/observability/tracing';
import { buildActivityDeps } from '../../../src/worker/build-deps';
import { createHeraldWorker, type HeraldWorker } from '../../../src/worker/create-worker';
import type { FakeAiServer } from '../../fakes/fake-control';
import { startOpenAIFake } from '../../fakes/openai-server';
import { ROOT, temporalAddress } from '../../helpers/env';
import { dryRunRequest, startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../../helpers/harness';

jest.setTimeout(240_000);

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
}

const SERVER = 2;
const CLIENT = 3;

/** An OTLP/HTTP traces receiver: what an OpenTelemetry Collector does with POST /v1/traces, minus everything else. */
async function startOtlpReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; posts: string[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const posts: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans?: { scopeSpans?: { spans?: any[] }[] }[] };
      for (const rs of body.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            const attributes = Object.fromEntries((s.attributes ?? []).map((a: any) => [a.key, Object.values(a.value ?? {})[0]]));
            spans.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId ?? '', name: s.name, kind: s.kind, attributes });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, spans, posts, close: () => new Promise((r) => server.close(() => r())) };
}

let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let openai: FakeAiServer;
let h: Harness;
let connection: NativeConnection;
let worker: HeraldWorker;
let running: Promise<void>;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  openai = await startOpenAIFake();
  h = await startHarness({
    withWorker: false,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      TEXT_PROVIDERS: 'openai,offline',
      OPENAI_API_KEY: 'sk-test-openai',
      OPENAI_BASE_URL: openai.url,
      IMAGE_SOURCES: 'card',
    },
  });
  // The worker as src/bootstrap/worker.ts makes it with an endpoint set: it bundles the workflow code with
  // OpenTelemetry's workflow interceptors (the run's shared bundle has none).
  connection = await NativeConnection.connect({ address: temporalAddress() });
  const logger = createLogger({ level: 'warn', format: 'json' }, { write: () => undefined });
  worker = await createHeraldWorker({
    connection,
    namespace: h.config.temporal.namespace,
    taskQueue: h.taskQueue,
    deps: buildActivityDeps(h.config, h.pool, TEST_ENCRYPTION_KEY, logger, h.resilience),
    tracing: startTracing(receiver.url),
  });
  running = worker.run();
});

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running?.catch(() => undefined);
  await connection?.close();
  await h?.stop();
  await openai?.close();
  await receiver?.close();
});

it("delivers one pipeline's spans, API request to provider call, as one trace", async () => {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic: 'Traced end to end', targets: [{ platform: 'x' }], image: { mode: 'none' }, cache: false }));
  expect(res.status).toBe(202);
  const done = await h.waitFor(res.body.id, (s) => ['published', 'failed'].includes(s.status), { timeoutMs: 120_000 });
  expect(done.status).toBe('published');
  expect(done.content.provider).toBe('openai');

  const request = () => receiver.spans.find((s) => s.name === 'POST /v1/pipelines' && s.kind === SERVER);
  const inTrace = () => receiver.spans.filter((s) => s.traceId === request()?.traceId);
  const wanted = ['StartWorkflow:contentPipeline', 'RunWorkflow:contentPipeline', 'RunActivity:generateText', 'RunActivity:adaptVariants', 'RunActivity:publishPost', 'POST openai'];
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !wanted.every((n) => inTrace().some((s) => s.name === n))) await new Promise((r) => setTimeout(r, 250));
  const spans = inTrace();
  console.log(`received ${receiver.spans.length} spans in ${receiver.posts.length} OTLP/HTTP exports; ${spans.length} in the pipeline's trace: ${[...new Set(spans.map((s) => s.name))].join(', ')}`);
  expect(receiver.posts[0]).toMatch(/^POST \/v1\/traces application\/json/);
  expect(wanted.filter((n) => !spans.some((s) => s.name === n))).toEqual([]);

  const one = (name: string) => spans.find((s) => s.name === name)!;
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const ancestors = (s: ReceivedSpan): string[] => {
    const out: string[] = [];
    for (let p = byId.get(s.parentSpanId); p; p = byId.get(p.parentSpanId)) out.push(p.name);
    return out;
  };
  const req = request()!;
  expect(req.parentSpanId).toBe('');
  expect(req.attributes['http.route']).toBe('/v1/pipelines');
  expect(req.attributes['http.response.status_code']).toBe(202);
  expect(one('StartWorkflow:contentPipeline').parentSpanId).toBe(req.spanId);
  expect(one('RunWorkflow:contentPipeline').parentSpanId).toBe(one('StartWorkflow:contentPipeline').spanId);
  expect(ancestors(one('RunActivity:generateText'))).toEqual(expect.arrayContaining(['RunWorkflow:contentPipeline', 'POST /v1/pipelines']));
  // A lean pipeline publishes in its own history (no publishTarget child in between).
  expect(ancestors(one('RunActivity:publishPost'))).toEqual(expect.arrayContaining(['RunWorkflow:contentPipeline', 'POST /v1/pipelines']));
  const provider = one('POST openai');
  expect(provider.kind).toBe(CLIENT);
  expect(provider.parentSpanId).toBe(one('RunActivity:generateText').spanId);
  expect(provider.attributes).toMatchObject({ 'herald.provider': 'openai', 'http.response.status_code': 200, 'server.address': new URL(openai.url).host });
  // Never a path or query (some carry keys) on a span.
  expect(JSON.stringify(spans)).not.toContain('sk-test-openai');
});

it('loads no OpenTelemetry SDK module when no endpoint is set', () => {
  // A fresh process (this one has tracing on): the API, the worker and the bootstrap modules, as an entry point loads them.
  const script = [
    "require('./src/api/app'); require('./src/worker/create-worker'); require('./src/bootstrap');",
    "const loaded = Object.keys(require.cache).filter((k) => /node_modules\\/@(opentelemetry\\/(?!api\\/)|temporalio\\/interceptors-opentelemetry)/.test(k));",
    'process.stdout.write(JSON.stringify(loaded));',
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' } });
  expect(JSON.parse(out)).toEqual([]);
});
