// Benchmark: in-process speed of adaptForPlatform (10 platforms x post/thread) and renderCard (two sizes, beside the
// previous renderer: the same card's SVG drawn and encoded by resvg), plus the heap used after the run. No services
// needed: `npm run bench -- adapt`.
// Every case is bounded by an iteration cap and a time budget, so the whole run stays well under a minute.
import v8 from 'node:v8';
import vm from 'node:vm';
import { adaptForPlatform, type AdaptInput } from '../../src/domain/adapt';
import { PLATFORMS, type ContentFormat, type Platform } from '../../src/domain/types';
import { renderAsync } from '@resvg/resvg-js';
import { cardSvg, renderCard } from '../../src/providers/images/card';
import { printTable, writeResults, type Cell } from '../lib/report';
import { memoryMb, round, roundSummary, summarize } from '../lib/stats';

const ADAPT_MAX_ITERS = 3000;
const ADAPT_BUDGET_MS = 1200; // per platform x format case (20 cases)
const ADAPT_WARMUP_ITERS = 30;
const CARD_MAX_RENDERS = 40;
const CARD_BUDGET_MS = 4000; // per size
const CARD_WARMUP = 2;
const MEMORY_ITERS = 2000; // extra adapt calls, round-robin over all cases, for the heap check

// A way to run a full GC without restarting node with --expose-gc (run.mjs starts the bench).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const tick = () => new Promise((r) => setTimeout(r, 50));
/** Full GC after letting the event loop turn: large Buffers' backing stores are only released (and external memory only drops) after that. */
async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 2; i++) {
    await tick();
    gc();
  }
  return process.memoryUsage();
}

// --- inputs ----------------------------------------------------------------------------------------------------------

const TITLE = 'Why durable workflows beat cron jobs';
const HASHTAGS = ['DurableExecution', 'Temporal', 'DevOps', 'reliability', 'SRE', 'TypeScript', 'backend'];

// ~600 characters, one URL: a typical single post.
const POST_BODY = [
  'Cron jobs fail silently. A job that dies at 03:00 leaves no trace beyond a missing row, and nobody notices until a customer does.',
  'A durable workflow records every step it takes, so when a worker crashes another one picks up exactly where the first stopped.',
  'Retries are declared once instead of hand-written in every job, timers survive restarts, and operators can see each execution in a web UI.',
  'We moved our nightly billing run over last quarter: zero lost invoices since, and on-call pages dropped by half.',
  'Write-up with the numbers: https://example.com/blog/durable-workflows-vs-cron',
].join(' ');

// ~4000 characters: paragraphs with emoji (incl. ZWJ sequences and flags), URLs and a little CJK.
const THREAD_PARAGRAPHS = [
  'Thread: what we learned moving 40 scheduled jobs from cron to durable workflows 🧵👇',
  'First, the problem. Our cron box ran billing, exports, reminders and cleanup. When it rebooted mid-run, half-finished jobs left half-written data, and the only signal was a missing email the next morning 😬.',
  'Durable execution flips that around: every step is recorded as an event. If the worker dies, a new one replays the history and continues from the last completed step, not from the top. Docs: https://docs.temporal.io/workflows and a good intro at https://example.com/posts/durable-execution-101?utm_source=herald.',
  'Retries became configuration. Instead of a try/catch with sleep() copied into 40 scripts, each activity declares its policy: initial interval, backoff, maximum attempts, which errors are not worth retrying. One place to read, one place to change 🔁.',
  'Timers survive restarts. A reminder that must go out in 3 days is a durable timer, not a row polled by another cron job. We deleted two "scheduler" tables and the jobs that swept them 🧹.',
  'Visibility was the surprise win. Support can now search executions by customer id and see exactly which step a run is on, with inputs and outputs, without asking an engineer 👩‍💻👨‍💻.',
  'Our Tokyo team wrote a summary for their docs: 「ワークフローは失敗しても最後のステップから再開します。」 and the Shanghai office added 「重试策略只需声明一次，不用在每个脚本里重复编写。」 Both now run their regional jobs on the same cluster 🇯🇵🇨🇳.',
  'Costs: the cluster is three small nodes plus PostgreSQL. Compared with the old cron box and the pager fatigue it caused, it pays for itself. Numbers and the sizing sheet: https://example.com/sizing-sheet-2024.pdf',
  'What was hard: determinism. Workflow code is replayed, so no Date.now(), no Math.random(), no network calls inside it. A lint rule that forbids those imports in workflow files caught most mistakes before review ✅.',
  'Also hard: versioning long-running workflows. A change to workflow code must replay old histories the same way, so we use patch markers and keep old branches until the last old execution finishes ⏳.',
  'Testing got better, not worse. The time-skipping test server runs a 30-day workflow in milliseconds, so we finally test the "reminder after 3 days, escalate after 7" path that used to ship untested 🎉.',
  'Migration plan that worked for us: wrap the existing job as a single activity first, then split it into steps one at a time. Each step is small, reversible and observable. No big-bang rewrite needed.',
  'If you run more than a handful of cron jobs that touch money or customers, try it on the one that pages you most. Questions welcome, and the slides are at https://example.com/talks/cron-to-workflows 🙌',
];
const THREAD_BODY = (() => {
  let body = THREAD_PARAGRAPHS.join('\n\n');
  // Pad to ~4000 characters with the middle paragraphs again (deterministic).
  for (let i = 1; body.length < 3900; i = (i % (THREAD_PARAGRAPHS.length - 2)) + 1) body += `\n\n${THREAD_PARAGRAPHS[i]}`;
  return body.slice(0, 4000);
})();

function inputFor(platform: Platform, format: ContentFormat): AdaptInput {
  return { title: TITLE, body: format === 'thread' ? THREAD_BODY : POST_BODY, hashtags: HASHTAGS, format, platform };
}

// --- measurement -----------------------------------------------------------------------------------------------------

interface Timed {
  iterations: number;
  elapsedMs: number;
  samplesMs: number[];
}

/** Calls fn at most maxIters times or until budgetMs has passed (at least once), timing each call. */
function timeCalls(fn: () => unknown, maxIters: number, budgetMs: number): Timed {
  const samplesMs: number[] = [];
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(budgetMs * 1e6));
  let now = start;
  while (samplesMs.length < maxIters && (samplesMs.length === 0 || now < deadline)) {
    const t0 = process.hrtime.bigint();
    fn();
    now = process.hrtime.bigint();
    samplesMs.push(Number(now - t0) / 1e6);
  }
  return { iterations: samplesMs.length, elapsedMs: Number(now - start) / 1e6, samplesMs };
}

/** timeCalls for a function that returns a promise (renderCard): each call is awaited before the next. */
async function timeAsyncCalls(fn: () => Promise<unknown>, maxIters: number, budgetMs: number): Promise<Timed> {
  const samplesMs: number[] = [];
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(budgetMs * 1e6));
  let now = start;
  while (samplesMs.length < maxIters && (samplesMs.length === 0 || now < deadline)) {
    const t0 = process.hrtime.bigint();
    await fn();
    now = process.hrtime.bigint();
    samplesMs.push(Number(now - t0) / 1e6);
  }
  return { iterations: samplesMs.length, elapsedMs: Number(now - start) / 1e6, samplesMs };
}

const FORMATS: ContentFormat[] = ['post', 'thread'];

async function main() {
  const startedAt = Date.now();
  const memStart = await settledMemory();

  console.log(`adapt bench: post body ${POST_BODY.length} chars, thread body ${THREAD_BODY.length} chars, ${HASHTAGS.length} hashtags`);

  // adaptForPlatform
  const adaptRows: Cell[][] = [];
  const adaptResults: Record<string, unknown>[] = [];
  for (const platform of PLATFORMS) {
    for (const format of FORMATS) {
      const input = inputFor(platform, format);
      const sample = adaptForPlatform(input);
      for (let i = 0; i < ADAPT_WARMUP_ITERS; i++) adaptForPlatform(input);
      const t = timeCalls(() => adaptForPlatform(input), ADAPT_MAX_ITERS, ADAPT_BUDGET_MS);
      const us = summarize(t.samplesMs.map((ms) => ms * 1000));
      const opsPerSec = t.iterations / (t.elapsedMs / 1000);
      adaptRows.push([`${platform} ${format}`, input.body.length, sample.parts.length, t.iterations, round(opsPerSec, 0), us.p50, us.p99, us.max]);
      adaptResults.push({
        platform,
        format,
        inputChars: input.body.length,
        parts: sample.parts.length,
        adaptations: sample.adaptations,
        iterations: t.iterations,
        opsPerSec: round(opsPerSec, 1),
        microseconds: roundSummary(us, 1),
      });
    }
  }
  const memAfterAdapt = await settledMemory();
  printTable(
    'adaptForPlatform (per call, µs)',
    ['platform format', 'chars', 'parts', 'iters', 'ops/s', 'p50 µs', 'p99 µs', 'max µs'],
    adaptRows,
  );

  // renderCard, beside the previous renderer (resvg drawing the same card's whole SVG and encoding the PNG; satori's
  // layout is in both). Each render has a title of its own, so the layout and the palette vary as in real pipelines.
  const cardRows: Cell[][] = [];
  const cardResults: Record<string, unknown>[] = [];
  const subtitle = 'Cron jobs fail silently; durable workflows record every step';
  const renderers: [string, (title: string, width: number, height: number) => Promise<Buffer>][] = [
    ['Skia (today)', (title, width, height) => renderCard({ title, subtitle, width, height })],
    [
      'resvg (before)',
      async (title, width, height) => {
        const svg = await cardSvg({ title, subtitle, width, height });
        const image = await renderAsync(svg, { font: { loadSystemFonts: false }, fitTo: { mode: 'original' } });
        return image.asPng();
      },
    ],
  ];
  for (const [width, height] of [
    [1200, 675],
    [1080, 1080],
  ]) {
    for (const [name, draw] of renderers) {
      let n = 0;
      let bytes = 0;
      const render = async () => (bytes = (await draw(`${TITLE} ${n++}`, width, height)).length);
      for (let i = 0; i < CARD_WARMUP; i++) await render();
      const cpu0 = process.cpuUsage();
      const t = await timeAsyncCalls(render, CARD_MAX_RENDERS, CARD_BUDGET_MS);
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000 / t.iterations;
      const ms = summarize(t.samplesMs);
      cardRows.push([`${width}x${height}`, name, t.iterations, round(ms.mean, 1), ms.p50, ms.p99, round(cpuMs, 1), Math.round(bytes / 1024)]);
      cardResults.push({
        width,
        height,
        renderer: name,
        renders: t.iterations,
        pngBytes: bytes,
        rendersPerSec: round(t.iterations / (t.elapsedMs / 1000), 2),
        cpuMsPerRender: round(cpuMs, 2),
        milliseconds: roundSummary(ms, 2),
      });
    }
  }
  printTable('renderCard (per render, ms; CPU of the whole process, every thread)', ['size', 'renderer', 'renders', 'mean ms', 'p50 ms', 'p99 ms', 'CPU ms', 'PNG KiB'], cardRows);

  // Memory: heap after everything above plus MEMORY_ITERS more adapt calls, before and after a full GC.
  const cases = PLATFORMS.flatMap((p) => FORMATS.map((f) => inputFor(p, f)));
  const memAfterCardsNoGc = process.memoryUsage();
  const memBeforeExtra = await settledMemory();
  for (let i = 0; i < MEMORY_ITERS; i++) adaptForPlatform(cases[i % cases.length]);
  const memNoGc = process.memoryUsage();
  const memAfterGc = await settledMemory();
  const memory = {
    atStart: memoryMb(memStart),
    afterAdaptGc: memoryMb(memAfterAdapt),
    afterCardsNoGc: memoryMb(memAfterCardsNoGc),
    afterCardsGc: memoryMb(memBeforeExtra),
    [`after${MEMORY_ITERS}MoreCallsNoGc`]: memoryMb(memNoGc),
    [`after${MEMORY_ITERS}MoreCallsGc`]: memoryMb(memAfterGc),
    retainedPerCallBytes: round((memAfterGc.heapUsed - memBeforeExtra.heapUsed) / MEMORY_ITERS, 1),
  };
  const memRow = (label: string, m: ReturnType<typeof memoryMb>): Cell[] => [label, m.heapUsedMb, m.heapTotalMb, m.externalMb, m.rssMb];
  printTable(
    `memory (MB; ${MEMORY_ITERS} extra adapt calls round-robin over the 20 cases)`,
    ['point', 'heapUsed', 'heapTotal', 'external', 'rss'],
    [
      memRow('start (after GC)', memory.atStart),
      memRow('after adapt cases (after GC)', memory.afterAdaptGc),
      memRow('after card renders, no GC', memory.afterCardsNoGc),
      memRow('after card renders (after GC)', memory.afterCardsGc),
      memRow(`+${MEMORY_ITERS} calls, no GC`, memoryMb(memNoGc)),
      memRow(`+${MEMORY_ITERS} calls, after GC`, memoryMb(memAfterGc)),
    ],
  );
  console.log(`retained heap per adapt call after GC: ${memory.retainedPerCallBytes} bytes`);

  const totalMs = Date.now() - startedAt;
  const file = writeResults('adapt', {
    config: { ADAPT_MAX_ITERS, ADAPT_BUDGET_MS, ADAPT_WARMUP_ITERS, CARD_MAX_RENDERS, CARD_BUDGET_MS, MEMORY_ITERS },
    inputs: { postChars: POST_BODY.length, threadChars: THREAD_BODY.length, hashtags: HASHTAGS.length },
    adapt: adaptResults,
    renderCard: cardResults,
    memory,
    totalSeconds: round(totalMs / 1000, 1),
  });
  console.log(`\ndone in ${(totalMs / 1000).toFixed(1)} s; results: ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
