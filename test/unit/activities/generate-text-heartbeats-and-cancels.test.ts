// The generateText activity run by @temporalio/testing's MockActivityEnvironment, with no service: the provider is the
// imitation OpenAI server over real HTTP, the resilience layer is the in-process one (no Redis). While the model
// writes the activity heartbeats (so Temporal notices a dead worker within the heartbeat timeout), and cancelling the
// activity aborts the provider's HTTP request at once instead of waiting for its answer.
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { AiCache } from '../../../src/activities/deps';
import { createGenerateText, type GenerateTextArgs, type GenerateTextResult } from '../../../src/activities/generate-text';
import type { PipelineRequest } from '../../../src/domain/types';
import { createOpenAITextGenerator } from '../../../src/providers/text/openai';
import { createResilience, type Resilience } from '../../../src/resilience';
import type { FakeAiServer } from '../../fakes/fake-control';
import { startOpenAIFake } from '../../fakes/openai-server';

const HEARTBEAT_EVERY_MS = 2_000; // src/activities/heartbeat.ts
const ABORT_WITHIN_MS = 3_000;

let openai: FakeAiServer;
let resilience: Resilience;
let generateText: ReturnType<typeof createGenerateText>;

beforeAll(async () => {
  openai = await startOpenAIFake();
  resilience = createResilience({
    redis: null,
    config: { limits: {}, breakers: {}, defaultBreaker: { failures: 5, cooldownMs: 60_000 }, cacheTtlMs: 60_000 },
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
  });
  const aiCache: AiCache = { key: (parts) => JSON.stringify(parts), get: async () => null, set: async () => undefined };
  generateText = createGenerateText({
    textGenerators: { openai: createOpenAITextGenerator({ apiKey: 'sk-test', baseUrl: openai.url, timeoutMs: 300_000 }) },
    guard: { execute: (provider, opts, fn) => resilience.execute(provider, opts, fn) },
    aiCache,
    cacheTtlMs: 60_000,
  });
});
afterAll(async () => {
  await resilience?.close();
  await openai?.close();
});

function args(topic: string): GenerateTextArgs {
  const request: PipelineRequest = { topic, format: 'post', targets: [], image: { mode: 'none' }, priority: 'normal', dryRun: true };
  return { request, provider: 'openai', hasFallback: false, useCache: false };
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

it('heartbeats while the provider writes, then returns what it wrote', async () => {
  openai.control.delayMs(HEARTBEAT_EVERY_MS + 1_500);
  const env = new MockActivityEnvironment({ activityType: 'generateText', attempt: 1 });
  const beats: number[] = [];
  const details: unknown[] = [];
  env.on('heartbeat', (d: unknown) => {
    beats.push(Date.now());
    details.push(d);
  });
  const started = Date.now();
  const out = (await env.run(generateText, args('Heartbeats while the model writes'))) as GenerateTextResult;
  openai.control.delayMs(0);

  expect(out.content.provider).toBe('openai');
  expect(out.content.body.length).toBeGreaterThan(0);
  // A beat every 2 s while the model writes, with no progress to report (no details). That beats stop with the work is
  // checked in heartbeat-resends-the-latest-progress.test.ts.
  expect(beats.length).toBeGreaterThanOrEqual(1);
  expect(beats[0] - started).toBeGreaterThanOrEqual(HEARTBEAT_EVERY_MS - 100);
  expect(details.every((d) => d === undefined)).toBe(true);
});

it('cancelling the activity aborts the provider call within seconds, and the activity ends with the cancellation', async () => {
  openai.control.delayMs(120_000);
  const before = openai.requests.length;
  const env = new MockActivityEnvironment({ activityType: 'generateText', attempt: 1 });
  const run = env.run(generateText, args('Cancelled while the model writes'));
  const settled = run.then(
    () => ({ ok: true as const }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  await until(() => openai.requests.length > before, 30_000, 'the provider to receive the request');
  const call = openai.requests[before];
  expect(call.abandonedAt).toBeUndefined();

  const cancelledAt = Date.now();
  env.cancel();
  const result = await settled;
  await until(() => call.abandonedAt !== undefined, ABORT_WITHIN_MS + 5_000, 'the provider to see the connection closed');
  openai.control.delayMs(0);

  expect(result.ok).toBe(false);
  expect((result as { err: unknown }).err).toBeInstanceOf(CancelledFailure);
  expect(call.abandonedAt! - cancelledAt).toBeLessThanOrEqual(ABORT_WITHIN_MS);
  // One request: a cancelled call is not tried again.
  expect(openai.requests).toHaveLength(before + 1);
});
