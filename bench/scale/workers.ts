// Part "workers" of `npm run bench -- scale`: throughput with two worker processes against one, each capped at the
// same number of activity slots (WORKER_MAX_ACTIVITIES), the text coming from an imitation OpenAI-compatible provider
// that answers in `aiMs` ms, its limit (RATE_LIMIT_OPENAI, generous) still held in Redis and shared by the workers.
// n dry-run thread pipelines to 4 platforms with title cards, 20 closed-loop submitters; ratio two / one (>= 1.8).
import { startOpenAIFake } from '../../test/fakes/openai-server';
import { followPipelines, load1m, startHeraldStack, threadRequest, type HeraldStack } from '../lib/herald-stack';
import { round } from '../lib/stats';
import { say, submit, TENANT } from './common';

export interface WorkersOptions { n: number; slots: number; aiMs: number; limitMs: number }

/** n pipelines through the stack; pipelines a minute over first submit -> last published. */
async function throughput(stack: HeraldStack, n: number, limitMs: number) {
  const warm = await submit(stack, [threadRequest(-1)]);
  await followPipelines(stack.baseUrl, TENANT.key, warm, Date.now() + 120_000, 250);
  const start = Date.now();
  const ids = await submit(stack, Array.from({ length: n }, (_, i) => threadRequest(i)));
  let lastSay = 0;
  const seen = await followPipelines(stack.baseUrl, TENANT.key, ids, start + limitMs, 500, (done, total) => {
    if (Date.now() - lastSay > 15_000) {
      lastSay = Date.now();
      say(`${stack.workers.length} worker(s): ${done}/${total} final, load ${load1m()}`);
    }
  });
  const published = [...seen.values()].filter((s) => s.status === 'published');
  const spanMs = Math.max(...published.map((s) => Date.parse(s.updatedAt))) - start;
  return { workers: stack.workers.length, n, published: published.length, spanS: round(spanMs / 1000, 1), perMinute: round((published.length / spanMs) * 60_000, 1), load1m: load1m() };
}

export async function workersPart(o: WorkersOptions) {
  const ai = await startOpenAIFake({ apiKey: 'scale' });
  ai.control.delayMs(o.aiMs);
  const extraEnv = { WORKER_MAX_ACTIVITIES: String(o.slots), TEXT_PROVIDERS: 'openai', OPENAI_API_KEY: 'scale', OPENAI_BASE_URL: ai.url, RATE_LIMIT_OPENAI: '100000/1m', RATE_LIMIT_OPENAI_TOKENS: 'none' };
  const runs: Awaited<ReturnType<typeof throughput>>[] = [];
  try {
    for (const workers of [2, 1]) {
      const stack = await startHeraldStack({ name: 'scale_workers', tenants: [TENANT], workers, extraEnv, overallMs: 3 * o.limitMs + 600_000, say });
      try {
        runs.push(await throughput(stack, o.n, o.limitMs));
      } finally {
        await stack.stop();
      }
    }
  } finally {
    await ai.close();
  }
  const [twoRun, oneRun] = runs;
  const ratio = twoRun.perMinute / oneRun.perMinute;
  say(`throughput: ${runs.map((r) => `${r.workers} worker(s) ${r.perMinute}/min`).join(', ')}`);
  return {
    config: { n: o.n, slotsPerWorker: o.slots, aiAnswerMs: o.aiMs, rateLimitOpenai: '100000/1m in Redis', request: 'dry-run thread, 4 platforms, title cards, text from the imitation OpenAI provider' },
    runs,
    twoOverOne: round(ratio, 3),
    target: '>= 1.8',
    aiCalls: ai.requests.length,
    failures: runs.reduce((f, r) => f + r.n - r.published, 0),
  };
}
