// Benchmark: how close the shared rate limiter gets to a provider's quota without being refused. An imitation of
// OpenAI (test/fakes/openai-server.ts) in this process strictly refuses, with a real 429, anything above R accepted
// requests in any 60 s; TWO worker processes (`node --import tsx src/worker/main.ts`) share one private Redis and write
// every pipeline's text with that provider only (TEXT_PROVIDERS=openai, no fallback). Pipelines are submitted through
// the API (in this process) and the fake records every request. Three runs, each with fresh state:
//   on    the limiter set to the provider's quota (RATE_LIMIT_OPENAI=R/1m)
//   off   the configured limit switched off (RATE_LIMIT_OPENAI=1000000/1m); the limiter still learns from the
//         provider's x-ratelimit-* headers and honours 429 Retry-After
//   bare  switched off, and the provider sends no x-ratelimit-* headers (vLLM-style): only Retry-After is honoured
//
//   npm run bench -- quota                      (R=120 per minute, 3 measured minutes per run, about 15 minutes)
//   QUOTA_R=60 QUOTA_MINUTES=1 npm run bench -- quota
//   QUOTA_RUNS=on,off                           (which runs; default on,off,bare)
//   QUOTA_PACE=upfront|backlog                  (default upfront: R x minutes x 1.3 pipelines submitted at once;
//   QUOTA_BACKLOG=N                              backlog: keep about N pipelines waiting for text, topping up each second)
//   QUOTA_PIPELINES=N                           (upfront: submit N instead of R x minutes x 1.3)
//
// Measured span: from the first request the fake accepts until QUOTA_MINUTES later, or earlier when no pipeline is left
// waiting for text. Achieved rate = accepted requests per sliding minute (mean over every 60 s window inside the span,
// one starting each second) as a share of R; refused share = refused / all requests the fake got in the span.
//
// Everything is bounded: each run stops by itself QUOTA_MINUTES + 2 minutes after it started; the worker processes and
// the private redis-server are killed at the end (also on errors and signals); all traffic stays on 127.0.0.1.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { Pool } from 'pg';
import { pipelineWorkflowId } from '../../src/domain/ids';
import { startOpenAIFake } from '../../test/fakes/openai-server';
import type { FakeAiServer, RecordedRequest } from '../../test/fakes/fake-control';
import { BENCH_ROOT, markdownTable, printTable, writeResults, type Cell } from '../lib/report';
import {
  ADMIN_DATABASE_URL,
  apiRequest,
  boundedOutput,
  freshDatabase,
  numEnv,
  sleep,
  spawnWorker,
  startBenchApi,
  startRedis,
  stopChild,
  stackEnv,
  stopOnSignals,
  tearDownBench,
  type BenchApi,
  type BoundedOutput,
} from '../lib/stack';
import { round, roundSummary, summarize } from '../lib/stats';

// --- settings --------------------------------------------------------------------------------------------------------

const R = Math.round(numEnv('QUOTA_R', 120, 1));
const MINUTES = numEnv('QUOTA_MINUTES', 3, 0.5);
const PACE = (process.env.QUOTA_PACE || 'upfront') as 'upfront' | 'backlog';
if (PACE !== 'upfront' && PACE !== 'backlog') throw new Error(`QUOTA_PACE must be upfront or backlog (got "${PACE}")`);
const BACKLOG = Math.round(numEnv('QUOTA_BACKLOG', Math.ceil(R / 2), 1));
const RUN_NAMES = ['on', 'off', 'bare'] as const;
const RUNS = (process.env.QUOTA_RUNS || RUN_NAMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const r of RUNS) if (!(RUN_NAMES as readonly string[]).includes(r)) throw new Error(`QUOTA_RUNS: unknown run "${r}" (on, off, bare)`);
const WINDOW_MS = 60_000;
const MEASURE_MS = MINUTES * 60_000;
const RUN_LIMIT_MS = (MINUTES + 2) * 60_000; // each run, set-up and clean-up included
const UPFRONT_PIPELINES = Math.round(numEnv('QUOTA_PIPELINES', Math.ceil(R * MINUTES * 1.3), 1));
const SUBMITTERS = 8;

const ROOT = path.resolve(BENCH_ROOT, '..');
const DB_NAME = 'herald_quota_bench';
const TENANT = 'quota';
const API_KEY = 'herald-quota-bench-key';
const FAKE_KEY = 'bench';
const ENCRYPTION_KEY = Buffer.alloc(32, 11);
const WAITING_STATUSES = ['queued', 'generating'];
const TERMINAL = ['published', 'partially_published', 'failed', 'rejected', 'cancelled', 'expired'];
const CLEANUP_RESERVE_MS = 25_000;

const say = (msg: string) => console.log(`quota bench: ${msg}`);

// --- the fake: every request with its outcome -----------------------------------------------------------------------

interface Outcome {
  at: number;
  accepted: boolean;
}

/**
 * The fake decides synchronously, in the same callback that records the request, and counts the decision in
 * `accepted` / `refused`. So the counters read when request k+1 is recorded say what became of request k.
 */
function recordOutcomes(fake: FakeAiServer): () => Outcome[] {
  const marks: { at: number; acceptedBefore: number }[] = [];
  const requests = fake.requests;
  const push = requests.push.bind(requests);
  requests.push = (...items: RecordedRequest[]) => {
    for (const it of items) marks.push({ at: it.at, acceptedBefore: fake.accepted });
    return push(...items);
  };
  return () =>
    marks.map((m, i) => ({
      at: m.at,
      accepted: (i + 1 < marks.length ? marks[i + 1].acceptedBefore : fake.accepted) > m.acceptedBefore,
    }));
}

// --- HTTP ------------------------------------------------------------------------------------------------------------

const post = (baseUrl: string, body: unknown) => apiRequest(baseUrl, API_KEY, 'POST', '/v1/pipelines', body, 15_000);

// --- one run ---------------------------------------------------------------------------------------------------------

interface RunSpec {
  name: (typeof RUN_NAMES)[number];
  label: string;
  limiterOn: boolean;
  rateLimitOpenai: string;
  /** 'vllm': the fake sends no x-ratelimit-* headers (429s still carry Retry-After), so nothing is learnt from them. */
  flavour: 'openai' | 'vllm';
}

interface RunResult {
  name: string;
  label: string;
  limiterOn: boolean;
  rateHeaders: boolean;
  env: { RATE_LIMIT_OPENAI: string; RATE_LIMIT_OPENAI_TOKENS: string; TEXT_PROVIDERS: string };
  setup: { workersReadyS: number };
  submitted: number;
  submitFailures: number;
  span: { startedAt: string | null; seconds: number; endedBy: string };
  fake: {
    acceptedInSpan: number;
    refusedInSpan: number;
    acceptedTotal: number;
    refusedTotal: number;
    requestsTotal: number;
  };
  achieved: {
    slidingMinuteMean: number;
    slidingMinuteMin: number;
    slidingMinuteMax: number;
    slidingWindows: number;
    shareOfR: number;
    totalOverSpanPerMinute: number;
    totalOverSpanShareOfR: number;
  };
  refusedShare: number;
  refusedShareWholeRun: number;
  pipelines: {
    published: number;
    publishedInSpan: number;
    failed: number;
    otherTerminal: number;
    unfinished: number;
    byStatus: Record<string, number>;
    latencyMs: ReturnType<typeof roundSummary>;
    failedLatencyMs: ReturnType<typeof roundSummary>;
    failureReasons: { reason: string; count: number }[];
  };
  textAttempts: { sampled: number; distribution: Record<string, number>; mean: number };
  perMinute: { minute: number; accepted: number; refused: number }[];
  /**
   * Bursts of accepted requests (a burst starts after 5 s without one), in seconds from the span start, with their
   * size; and the mean time between the starts of consecutive bursts after the first (the steady-state cycle).
   */
  bursts: { startS: number; endS: number; accepted: number }[];
  steadyCycleS: number | null;
  /** Seconds since the span started, with what the fake accepted and refused in that second (only busy seconds). */
  perSecond: [number, number, number][];
  workerLogLines: number;
  workerLogFirst: string[];
  runS: number;
}

async function workerPollers(client: Client, namespace: string, taskQueue: string): Promise<{ workflow: number; activity: number }> {
  const count = async (taskQueueType: number) => {
    const res = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue, kind: 1 }, taskQueueType });
    return new Set((res.pollers ?? []).map((p) => p.identity)).size;
  };
  return { workflow: await count(1), activity: await count(2) };
}

async function runOnce(spec: RunSpec, admin: Pool, temporalAddress: string, redisPort: number, redisDb: number): Promise<RunResult> {
  const runStart = Date.now();
  const deadline = runStart + RUN_LIMIT_MS;
  const remaining = () => deadline - Date.now();
  say(`--- run "${spec.label}": RATE_LIMIT_OPENAI=${spec.rateLimitOpenai}, fake refuses above ${R} per ${WINDOW_MS / 1000} s, stops by itself within ${RUN_LIMIT_MS / 60_000} min`);

  // A fresh database per run.
  const { dbUrl, pool } = await freshDatabase(admin, DB_NAME);

  const fake = await startOpenAIFake({ apiKey: FAKE_KEY, flavour: spec.flavour });
  fake.control.enforceRateLimit({ requests: R, windowMs: WINDOW_MS });
  const outcomes = recordOutcomes(fake);

  const taskQueue = `herald-quota-${spec.name}-${randomBytes(4).toString('hex')}`;
  const redisUrl = `redis://127.0.0.1:${redisPort}/${redisDb}`;
  const env: Record<string, string> = {
    ...stackEnv({ dbUrl, temporalAddress, taskQueue, redisUrl, encryptionKey: ENCRYPTION_KEY, tenant: TENANT, apiKey: API_KEY, dataDir: path.join(ROOT, '.data', 'quota-bench') }),
    OPENAI_API_KEY: FAKE_KEY,
    OPENAI_BASE_URL: fake.url,
    TEXT_PROVIDERS: 'openai',
    RATE_LIMIT_OPENAI: spec.rateLimitOpenai,
    // The default token window (30k/min) would bind long before R requests: the fake enforces requests only.
    RATE_LIMIT_OPENAI_TOKENS: '1000000000/1m',
  };

  const workers: { child: ChildProcess; out: BoundedOutput }[] = [];
  let benchApi: BenchApi | null = null;
  const stopAt = setTimeout(() => say(`run "${spec.label}" reached its time limit`), RUN_LIMIT_MS).unref();

  try {
    // Two worker processes.
    const t = Date.now();
    for (let i = 0; i < 2; i++) {
      const out = boundedOutput(8);
      workers.push({ child: spawnWorker(ROOT, env, out), out });
    }

    // The API in this process, on the same database, task queue and Redis.
    benchApi = await startBenchApi({ env, pool, temporalAddress, redisUrl, encryptionKey: ENCRYPTION_KEY, name: 'quota-bench-api' });
    const { config, client, baseUrl } = benchApi;

    // Both workers polling (workflow and activity task queues; identities are pid@host, one per process).
    const readyBy = Date.now() + Math.min(180_000, remaining() - MEASURE_MS - CLEANUP_RESERVE_MS);
    for (;;) {
      for (const w of workers) {
        if (w.child.exitCode !== null || w.child.signalCode !== null) {
          throw new Error(`a worker exited (code ${w.child.exitCode}) before polling: ${w.out.lines.join(' | ')}`);
        }
      }
      const p = await workerPollers(client, config.temporal.namespace, taskQueue).catch(() => ({ workflow: 0, activity: 0 }));
      if (p.workflow >= 2 && p.activity >= 2) break;
      if (Date.now() > readyBy) throw new Error(`workers not polling in time (pollers: ${JSON.stringify(p)})`);
      await sleep(500);
    }
    const workersReadyS = (Date.now() - t) / 1000;
    say(`2 workers polling ${taskQueue} after ${workersReadyS.toFixed(1)} s; API on ${baseUrl}`);

    // Submission.
    let next = 0;
    const submitted: string[] = [];
    let submitFailures = 0;
    const submitOne = async () => {
      const i = next++;
      const body = {
        topic: `Quota bench ${spec.name} ${i + 1}: keeping a shared provider busy without a single refusal`,
        format: 'post',
        targets: [{ platform: 'x' }],
        image: { mode: 'none' },
        dryRun: true,
        cache: false,
      };
      try {
        const r = await post(baseUrl, body);
        if (r.status === 202) submitted.push(r.json.id);
        else {
          submitFailures++;
          if (submitFailures <= 3) say(`submit answered ${r.status}: ${JSON.stringify(r.json).slice(0, 200)}`);
        }
      } catch (err) {
        submitFailures++;
        if (submitFailures <= 3) say(`submit failed: ${(err as Error).message}`);
      }
    };
    const submitMany = async (n: number) => {
      let left = n;
      await Promise.all(
        Array.from({ length: Math.min(SUBMITTERS, n) }, async () => {
          while (left > 0 && remaining() > CLEANUP_RESERVE_MS) {
            left--;
            await submitOne();
          }
        }),
      );
    };

    const waitingCount = async (): Promise<number> => {
      const r = await pool.query<{ n: string }>('SELECT count(*) AS n FROM pipelines WHERE status = ANY($1)', [WAITING_STATUSES]);
      return Number(r.rows[0].n);
    };
    const statusCounts = async (): Promise<Record<string, number>> => {
      const r = await pool.query<{ status: string; n: string }>('SELECT status, count(*) AS n FROM pipelines GROUP BY status');
      return Object.fromEntries(r.rows.map((row) => [row.status, Number(row.n)]));
    };

    const submitStart = Date.now();
    if (PACE === 'upfront') {
      say(`submitting ${UPFRONT_PIPELINES} pipelines up front (R x ${MINUTES} min x 1.3) with ${SUBMITTERS} submitters`);
      await submitMany(UPFRONT_PIPELINES);
      say(`submitted ${submitted.length} in ${((Date.now() - submitStart) / 1000).toFixed(1)} s (${submitFailures} failed)`);
    } else {
      say(`keeping about ${BACKLOG} pipelines waiting for text (queued or generating), topping up every second`);
    }

    // Follow: the span starts at the first accepted request and ends MINUTES later, or when nothing waits for text.
    let t0: number | null = null;
    let spanEnd: number | null = null;
    let endedBy = 'time';
    let lastReport = 0;
    const firstAcceptedBy = Date.now() + 120_000;
    for (;;) {
      const now = Date.now();
      if (t0 === null) {
        const first = outcomes().find((o) => o.accepted);
        if (first) {
          t0 = first.at;
          say(`first request accepted by the fake ${((t0 - submitStart) / 1000).toFixed(1)} s after submission started; measuring ${MINUTES} min`);
        } else if (now > firstAcceptedBy) throw new Error('the fake accepted no request within 120 s of submission');
      }
      const waiting = await waitingCount();
      if (PACE === 'backlog' && (t0 === null || now < t0 + MEASURE_MS) && remaining() > CLEANUP_RESERVE_MS + 30_000) {
        const top = BACKLOG - waiting;
        if (top > 0) await submitMany(top);
      }
      if (t0 !== null && now >= t0 + MEASURE_MS) {
        spanEnd = t0 + MEASURE_MS;
        break;
      }
      if (t0 !== null && PACE === 'upfront' && waiting === 0) {
        spanEnd = now;
        endedBy = 'backlog drained';
        break;
      }
      if (remaining() < CLEANUP_RESERVE_MS + 10_000) {
        spanEnd = now;
        endedBy = 'run time limit';
        break;
      }
      if (now - lastReport >= 15_000) {
        lastReport = now;
        const o = outcomes();
        const counts = await statusCounts();
        const inLastMinute = o.filter((x) => x.accepted && x.at > now - WINDOW_MS).length;
        say(
          `${t0 ? `${((now - t0) / 1000).toFixed(0)} s in` : 'waiting for the first grant'}: fake accepted ${fake.accepted}, refused ${fake.refused}, ` +
            `${inLastMinute} in the last 60 s; waiting for text ${waiting}; ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`,
        );
      }
      await sleep(1000);
    }
    say(`measured span ended (${endedBy}) after ${((spanEnd - (t0 ?? spanEnd)) / 1000).toFixed(0)} s`);

    // Drain: let what was submitted finish (or fail) while there is time.
    const drainUntil = deadline - CLEANUP_RESERVE_MS;
    for (;;) {
      const counts = await statusCounts();
      const open = Object.entries(counts).filter(([s]) => !TERMINAL.includes(s)).reduce((s, [, n]) => s + n, 0);
      if (open === 0 || Date.now() >= drainUntil) {
        say(`drain: ${open} pipelines still open`);
        break;
      }
      await sleep(1000);
    }

    // --- results ---
    const all = outcomes();
    const start = t0 ?? spanEnd;
    const inSpan = all.filter((o) => o.at >= start && o.at < spanEnd!);
    const acceptedInSpan = inSpan.filter((o) => o.accepted).length;
    const refusedInSpan = inSpan.length - acceptedInSpan;
    const acceptedTimes = all.filter((o) => o.accepted).map((o) => o.at);
    const sliding: number[] = [];
    for (let s = start; s + WINDOW_MS <= spanEnd!; s += 1000) sliding.push(acceptedTimes.filter((a) => a >= s && a < s + WINDOW_MS).length);
    const slidingMean = sliding.length ? sliding.reduce((a, b) => a + b, 0) / sliding.length : NaN;
    const spanMs = spanEnd! - start;
    const perMinute: RunResult['perMinute'] = [];
    for (let m = 0; m * WINDOW_MS < spanMs; m++) {
      const lo = start + m * WINDOW_MS;
      const hi = Math.min(spanEnd!, lo + WINDOW_MS);
      const of = all.filter((o) => o.at >= lo && o.at < hi);
      perMinute.push({ minute: m + 1, accepted: of.filter((o) => o.accepted).length, refused: of.filter((o) => !o.accepted).length });
    }

    const bursts: RunResult['bursts'] = [];
    for (const a of acceptedTimes) {
      const last = bursts[bursts.length - 1];
      const at = (a - start) / 1000;
      if (last && at - last.endS < 5) {
        last.endS = round(at, 1);
        last.accepted++;
      } else bursts.push({ startS: round(at, 1), endS: round(at, 1), accepted: 1 });
    }
    const later = bursts.slice(1);
    const steadyCycleS = later.length >= 2 ? round((later[later.length - 1].startS - later[0].startS) / (later.length - 1), 1) : null;

    const perSecond = new Map<number, [number, number, number]>();
    for (const o of all) {
      const sec = Math.floor((o.at - start) / 1000);
      const cell = perSecond.get(sec) ?? [sec, 0, 0];
      cell[o.accepted ? 1 : 2]++;
      perSecond.set(sec, cell);
    }

    const rows = (
      await pool.query<{ id: string; status: string; created_at: Date; updated_at: Date; error: { code?: string; message?: string } | null }>(
        "SELECT id, status, created_at, updated_at, state->'error' AS error FROM pipelines",
      )
    ).rows;
    const byStatus: Record<string, number> = {};
    for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const published = rows.filter((r) => r.status === 'published');
    const failed = rows.filter((r) => r.status === 'failed');
    const latency = summarize(published.map((r) => r.updated_at.getTime() - r.created_at.getTime()));
    const failedLatency = summarize(failed.map((r) => r.updated_at.getTime() - r.created_at.getTime()));
    const reasons = new Map<string, number>();
    for (const r of failed) {
      const reason = `${r.error?.code ?? '?'}: ${(r.error?.message ?? '').replace(/\d+/g, 'N').slice(0, 160)}`;
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }

    // generateText attempts, from the Temporal histories of a spread sample (the last ActivityTaskStarted's attempt).
    const attempts: number[] = [];
    const sample = rows.filter((r) => TERMINAL.includes(r.status)).sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
    const stride = Math.max(1, Math.floor(sample.length / 80));
    const historyBudget = Date.now() + Math.min(20_000, Math.max(0, remaining() - 15_000));
    for (let i = 0; i < sample.length && Date.now() < historyBudget; i += stride) {
      try {
        const h = await client.workflow.getHandle(pipelineWorkflowId(TENANT, sample[i].id)).fetchHistory();
        const events = (h.events ?? []) as any[];
        const scheduled = new Set(
          events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'generateText').map((e) => String(e.eventId)),
        );
        for (const e of events) {
          const a = e.activityTaskStartedEventAttributes;
          if (a && scheduled.has(String(a.scheduledEventId))) attempts.push(Number(a.attempt));
        }
      } catch {
        // skip
      }
    }
    const distribution: Record<string, number> = {};
    for (const a of attempts) distribution[String(a)] = (distribution[String(a)] ?? 0) + 1;

    const otherTerminal = rows.filter((r) => TERMINAL.includes(r.status) && r.status !== 'published' && r.status !== 'failed').length;
    const result: RunResult = {
      name: spec.name,
      label: spec.label,
      limiterOn: spec.limiterOn,
      rateHeaders: spec.flavour === 'openai',
      env: { RATE_LIMIT_OPENAI: env.RATE_LIMIT_OPENAI, RATE_LIMIT_OPENAI_TOKENS: env.RATE_LIMIT_OPENAI_TOKENS, TEXT_PROVIDERS: env.TEXT_PROVIDERS },
      setup: { workersReadyS: round(workersReadyS, 1) },
      submitted: submitted.length,
      submitFailures,
      span: { startedAt: t0 ? new Date(t0).toISOString() : null, seconds: round(spanMs / 1000, 1), endedBy },
      fake: { acceptedInSpan, refusedInSpan, acceptedTotal: fake.accepted, refusedTotal: fake.refused, requestsTotal: fake.requests.length },
      achieved: {
        slidingMinuteMean: round(slidingMean, 1),
        slidingMinuteMin: sliding.length ? Math.min(...sliding) : NaN,
        slidingMinuteMax: sliding.length ? Math.max(...sliding) : NaN,
        slidingWindows: sliding.length,
        shareOfR: round(slidingMean / R, 4),
        totalOverSpanPerMinute: round(acceptedInSpan / (spanMs / WINDOW_MS), 1),
        totalOverSpanShareOfR: round(acceptedInSpan / (spanMs / WINDOW_MS) / R, 4),
      },
      refusedShare: inSpan.length ? round(refusedInSpan / inSpan.length, 4) : NaN,
      refusedShareWholeRun: fake.requests.length ? round(fake.refused / fake.requests.length, 4) : NaN,
      pipelines: {
        published: published.length,
        publishedInSpan: published.filter((r) => r.updated_at.getTime() >= start && r.updated_at.getTime() < spanEnd!).length,
        failed: failed.length,
        otherTerminal,
        unfinished: rows.length - published.length - failed.length - otherTerminal,
        byStatus,
        latencyMs: roundSummary(latency, 0),
        failedLatencyMs: roundSummary(failedLatency, 0),
        failureReasons: [...reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([reason, count]) => ({ reason, count })),
      },
      textAttempts: { sampled: attempts.length, distribution, mean: attempts.length ? round(attempts.reduce((a, b) => a + b, 0) / attempts.length, 2) : NaN },
      perMinute,
      bursts,
      steadyCycleS,
      perSecond: [...perSecond.values()].sort((a, b) => a[0] - b[0]),
      workerLogLines: workers.reduce((s, w) => s + w.out.count, 0),
      workerLogFirst: workers.flatMap((w) => w.out.lines).slice(0, 4),
      runS: 0,
    };

    // Leave nothing running on the dev server: terminate what is still open.
    const open = rows.filter((r) => !TERMINAL.includes(r.status));
    const termBudget = Date.now() + Math.min(15_000, Math.max(0, remaining() - 8_000));
    let terminated = 0;
    for (const r of open) {
      if (Date.now() > termBudget) break;
      await client.workflow
        .getHandle(pipelineWorkflowId(TENANT, r.id))
        .terminate('quota bench run over')
        .then(() => terminated++)
        .catch(() => undefined);
    }
    if (open.length) say(`terminated ${terminated} of ${open.length} open pipelines`);
    result.runS = round((Date.now() - runStart) / 1000, 1);
    return result;
  } finally {
    clearTimeout(stopAt);
    await Promise.all(workers.map((w) => stopChild(w.child, 12_000)));
    await benchApi?.close();
    await fake.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

// --- report ----------------------------------------------------------------------------------------------------------

const pct = (v: number) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)}%` : '-');

function comparisonRows(runs: RunResult[]): Cell[][] {
  const row = (label: string, f: (r: RunResult) => Cell): Cell[] => [label, ...runs.map(f)];
  return [
    row('RATE_LIMIT_OPENAI', (r) => r.env.RATE_LIMIT_OPENAI),
    row('fake sends x-ratelimit-* headers', (r) => (r.rateHeaders ? 'yes' : 'no (429 + Retry-After only)')),
    row('measured span, s', (r) => `${r.span.seconds} (${r.span.endedBy})`),
    row('achieved rate, share of R (sliding-minute mean)', (r) => pct(r.achieved.shareOfR)),
    row('accepted per sliding minute: mean / min / max', (r) => `${r.achieved.slidingMinuteMean} / ${r.achieved.slidingMinuteMin} / ${r.achieved.slidingMinuteMax}`),
    row('accepted over the span, per minute (share of R)', (r) => `${r.achieved.totalOverSpanPerMinute} (${pct(r.achieved.totalOverSpanShareOfR)})`),
    row('requests refused by the fake (429), share', (r) => `${r.fake.refusedInSpan} of ${r.fake.acceptedInSpan + r.fake.refusedInSpan} (${pct(r.refusedShare)})`),
    row('429s over the whole run', (r) => `${r.fake.refusedTotal} of ${r.fake.requestsTotal} (${pct(r.refusedShareWholeRun)})`),
    row('bursts of accepted requests start at, s', (r) => (r.bursts.length <= 8 ? r.bursts.map((b) => b.startS.toFixed(0)).join(', ') : `${r.bursts.length} bursts`)),
    row('pipelines submitted', (r) => r.submitted),
    row('published (in the span)', (r) => `${r.pipelines.published} (${r.pipelines.publishedInSpan})`),
    row('failed', (r) => r.pipelines.failed),
    row('unfinished at the end', (r) => r.pipelines.unfinished),
    row('latency of published, p50 / p95, s', (r) => `${round(r.pipelines.latencyMs.p50 / 1000, 1)} / ${round(r.pipelines.latencyMs.p95 / 1000, 1)}`),
    row('generateText attempts (sample): mean, 1/2/3/4', (r) => `${r.textAttempts.mean}; ${[1, 2, 3, 4].map((a) => r.textAttempts.distribution[String(a)] ?? 0).join('/')}`),
  ];
}

async function main(): Promise<number> {
  const temporalAddress = process.env.TEMPORAL_ADDRESS;
  if (!temporalAddress) throw new Error('TEMPORAL_ADDRESS is not set: run this with `npm run bench -- quota`');
  say(`R = ${R} requests per minute, ${MINUTES} measured minute(s) per run, pace ${PACE === 'upfront' ? `up front (${UPFRONT_PIPELINES} pipelines)` : `backlog of ${BACKLOG}`}`);
  const admin = new Pool({ connectionString: ADMIN_DATABASE_URL, max: 2 });
  let redisChild: ChildProcess | null = null;
  // Belt and braces: whatever hangs, the whole bench ends (children killed by the exit hook) after every run's limit.
  stopOnSignals({ admin, dbName: DB_NAME, say, overallMs: RUNS.length * RUN_LIMIT_MS + 60_000, benchName: 'quota' });

  try {
    const redisServer = await startRedis();
    redisChild = redisServer.child;
    say(`private redis-server on 127.0.0.1:${redisServer.port}`);
    const all: RunSpec[] = [
      { name: 'on', label: 'limiter on', limiterOn: true, rateLimitOpenai: `${R}/1m`, flavour: 'openai' },
      { name: 'off', label: 'limiter off', limiterOn: false, rateLimitOpenai: '1000000/1m', flavour: 'openai' },
      { name: 'bare', label: 'off, no rate headers', limiterOn: false, rateLimitOpenai: '1000000/1m', flavour: 'vllm' },
    ];
    const specs = all.filter((s) => RUNS.includes(s.name));
    const runs: RunResult[] = [];
    for (const [i, spec] of specs.entries()) runs.push(await runOnce(spec, admin, temporalAddress, redisServer.port, i + 1));

    const headers = ['metric', ...runs.map((r) => r.label)];
    const rows = comparisonRows(runs);
    printTable(`quota bench: fake OpenAI refuses above R = ${R}/min; 2 worker processes; pace ${PACE === 'upfront' ? `${UPFRONT_PIPELINES} up front` : `backlog ${BACKLOG}`}`, headers, rows);
    for (const r of runs) {
      printTable(`per minute of the span, ${r.label}`, ['minute', 'accepted', 'refused'], r.perMinute.map((m) => [String(m.minute), m.accepted, m.refused]));
      if (r.pipelines.failureReasons.length) {
        console.log(`failed pipelines, ${r.label}:`);
        for (const f of r.pipelines.failureReasons) console.log(`  ${f.count} x ${f.reason}`);
      }
      if (r.workerLogLines) console.log(`worker log lines (warn+), ${r.label}: ${r.workerLogLines}; first: ${r.workerLogFirst.slice(0, 2).join(' | ').slice(0, 400)}`);
    }
    console.log(`\n${markdownTable(headers, rows)}\n`);

    const on = runs.find((r) => r.limiterOn);
    const target = on ? { shareOfR: on.achieved.shareOfR, refusedShare: on.refusedShare, met: on.achieved.shareOfR >= 0.95 && on.refusedShare <= 0.01 } : null;
    const file = writeResults('quota', {
      config: {
        R,
        windowMs: WINDOW_MS,
        minutes: MINUTES,
        pace: PACE,
        pipelinesUpFront: PACE === 'upfront' ? UPFRONT_PIPELINES : null,
        backlog: PACE === 'backlog' ? BACKLOG : null,
        workers: 2,
        request: { format: 'post', targets: ['x'], image: 'none', dryRun: true, cache: false },
        textProviders: 'openai (no fallback)',
        textRetryBudget: 'maximumAttempts 4 (src/workflows/provider-chains.ts)',
      },
      target: { required: 'limiter on: >= 95% of R, <= 1% refused', ...target },
      runs,
    });
    say(`results: ${path.relative(ROOT, file)}`);
    if (target) say(`limiter on: ${pct(target.shareOfR)} of R, ${pct(target.refusedShare)} refused -> target ${target.met ? 'MET' : 'NOT met'}`);
    return 0;
  } finally {
    await tearDownBench(admin, DB_NAME, redisChild);
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`quota bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
