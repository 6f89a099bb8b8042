// The AI text adapters over real HTTP against the imitation servers: content and usage, rate headers reported, and
// each failure mapped to the typed error Temporal's retry policy branches on. The adapters never retry by themselves.
import {
  PermanentError,
  ProviderError,
  QuotaExhaustedError,
  RateLimitedError,
  TransientError,
} from '../../../../src/providers/errors';
import type { CallContext, RateInfo } from '../../../../src/providers/rate-info';
import { ANTHROPIC_DEFAULT_MODEL, createAnthropicTextGenerator } from '../../../../src/providers/text/anthropic';
import { createGeminiTextGenerator, GEMINI_DEFAULT_MODEL } from '../../../../src/providers/text/gemini';
import { createOpenAITextGenerator, OPENAI_DEFAULT_MODEL } from '../../../../src/providers/text/openai';
import type { GenerateTextInput, TextGenerator } from '../../../../src/providers/text/types';
import { startAnthropicFake } from '../../../fakes/anthropic-server';
import type { FakeAiServer } from '../../../fakes/fake-control';
import { startGeminiFake } from '../../../fakes/gemini-server';
import { startOpenAIFake } from '../../../fakes/openai-server';

type Provider = 'openai' | 'anthropic' | 'gemini';
const PROVIDERS: Provider[] = ['openai', 'anthropic', 'gemini'];
const KEY = 'sk-test-right-key-0001';

const fakes: FakeAiServer[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function startFake(provider: Provider, opts: { apiKey?: string; flavour?: 'openai' | 'vllm' } = {}): Promise<FakeAiServer> {
  const fake =
    provider === 'openai' ? await startOpenAIFake(opts) : provider === 'anthropic' ? await startAnthropicFake(opts) : await startGeminiFake(opts);
  fakes.push(fake);
  return fake;
}

function generatorFor(provider: Provider, baseUrl: string, extra: { apiKey?: string; timeoutMs?: number } = {}): TextGenerator {
  const opts = { apiKey: KEY, baseUrl, ...extra };
  if (provider === 'openai') return createOpenAITextGenerator(opts);
  if (provider === 'anthropic') return createAnthropicTextGenerator(opts);
  return createGeminiTextGenerator(opts);
}

async function setup(provider: Provider, fakeOpts: { apiKey?: string; flavour?: 'openai' | 'vllm' } = {}, genOpts: { apiKey?: string; timeoutMs?: number } = {}) {
  const fake = await startFake(provider, fakeOpts);
  return { fake, gen: generatorFor(provider, fake.url, genOpts) };
}

function recorder(): { reports: RateInfo[]; ctx: CallContext } {
  const reports: RateInfo[] = [];
  return { reports, ctx: { report: (info) => reports.push(info) } };
}

/** The error a promise rejects with (fails the test when it resolves). */
async function failureOf(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ProviderError);
    return e as ProviderError;
  }
  throw new Error('expected the call to fail');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const input: GenerateTextInput = {
  topic: 'durable workflows',
  brief: 'Temporal keeps workflow state through crashes. Activities are retried by policy.',
  voice: 'friendly',
  audience: 'backend engineers',
  format: 'post',
};

describe.each(PROVIDERS)('%s adapter, common behaviour', (provider) => {
  test('returns the parsed content and usage', async () => {
    const { fake, gen } = await setup(provider, { apiKey: KEY });
    const out = await gen.generate(input);
    expect(out.title).toBe('Durable workflows');
    expect(out.body).toContain('Here is a short look at durable workflows.');
    expect(out.body).toContain('\n\n');
    expect(out.hashtags).toEqual(['DurableWorkflows', 'durable', 'workflows']);
    expect(out.provider).toBe(provider);
    expect(out.model).toBe(gen.model);
    expect(gen.name).toBe(provider);
    expect(out.usage).toBeDefined();
    const usage = out.usage as NonNullable<typeof out.usage>;
    expect(usage.inputTokens).toBeGreaterThan(100);
    expect(usage.outputTokens).toBeGreaterThan(20);
    expect(usage.totalTokens).toBe(usage.inputTokens + usage.outputTokens);
    expect(fake.accepted).toBe(1);
    expect(fake.refused).toBe(0);
  });

  test('takes the content the model returns, even in a fence with prose around it', async () => {
    const { fake, gen } = await setup(provider);
    fake.control.respondWith('Here it is:\n```json\n{"title": "Custom", "body": "A custom body.", "hashtags": ["#One", "two"]}\n```');
    const out = await gen.generate({ ...input, format: 'thread' });
    expect(out).toMatchObject({ title: 'Custom', body: 'A custom body.', hashtags: ['One', 'two'] });
  });

  test('a cut-short answer (token limit) keeps what arrived', async () => {
    const { fake, gen } = await setup(provider);
    fake.control.respondWith({ title: 'Long one', body: 'word '.repeat(2000), hashtags: ['x'] });
    const out = await gen.generate(input);
    expect(out.title).toBe('Long one');
    expect(out.body.length).toBeGreaterThan(1000);
    expect(out.body.length).toBeLessThan(10_000);
  });

  test('malformed JSON in a 200 -> TransientError', async () => {
    const { fake, gen } = await setup(provider);
    fake.control.failNext('malformed_json');
    const err = await failureOf(gen.generate(input));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(new RegExp(`^${provider}: malformed JSON`));
    expect(fake.refused).toBe(1);
  });

  test('no answer -> TransientError after the timeout', async () => {
    const { fake, gen } = await setup(provider, {}, { timeoutMs: 300 });
    fake.control.failNext('hang');
    const started = Date.now();
    const err = await failureOf(gen.generate(input));
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(/no answer within 300 ms \(timeout\)/);
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(3000);
  });

  test('a slow answer within the timeout is fine', async () => {
    const { fake, gen } = await setup(provider, {}, { timeoutMs: 2000 });
    fake.control.delayMs(150);
    const started = Date.now();
    await gen.generate(input);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  test('a dropped connection -> TransientError', async () => {
    const { fake, gen } = await setup(provider);
    fake.control.failNext('drop');
    const err = await failureOf(gen.generate(input));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toMatch(/127\.0\.0\.1:\d+: connection failed or dropped/);
  });

  test('a refused key -> PermanentError naming the provider', async () => {
    const { fake, gen } = await setup(provider, { apiKey: KEY }, { apiKey: 'sk-test-wrong-key-9999' });
    const err = await failureOf(gen.generate(input));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.provider).toBe(provider);
    expect(err.message).toMatch(new RegExp(`^${provider}: API key refused`));
    // Gemini answers a bad key with 400 API_KEY_INVALID, never 401.
    expect(err.status).toBe(provider === 'gemini' ? 400 : 401);
    expect(err.message).not.toContain('sk-test-wrong-key-9999');
    expect(fake.requests).toHaveLength(1);
  });

  test('500 -> TransientError', async () => {
    const { fake, gen } = await setup(provider);
    fake.control.failNext('server_error');
    const err = await failureOf(gen.generate(input));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.status).toBe(500);
  });

  test('failAlways fails every call until recover()', async () => {
    const { fake, gen } = await setup(provider);
    fake.control.failAlways('overloaded');
    await expect(gen.generate(input)).rejects.toBeInstanceOf(TransientError);
    await expect(gen.generate(input)).rejects.toBeInstanceOf(TransientError);
    fake.control.recover();
    await expect(gen.generate(input)).resolves.toMatchObject({ provider });
    expect([fake.accepted, fake.refused]).toEqual([1, 2]);
  });

  test('rate info is reported on every response, errors included', async () => {
    const { fake, gen } = await setup(provider);
    const { reports, ctx } = recorder();
    await gen.generate(input, ctx);
    fake.control.failNext('server_error');
    await expect(gen.generate(input, ctx)).rejects.toBeInstanceOf(TransientError);
    expect(reports).toHaveLength(2);
  });

  test("the caller's abort rejects with the caller's reason, not a provider error", async () => {
    const { fake, gen } = await setup(provider);
    fake.control.delayMs(2000);
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 50);
    await expect(gen.generate(input, { signal: controller.signal })).rejects.toBe(reason);
  });

  test('enforceRateLimit refuses the (R+1)th request within the window with a real 429', async () => {
    const { fake, gen } = await setup(provider);
    fake.control.enforceRateLimit({ requests: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) await gen.generate(input);
    const err = await failureOf(gen.generate(input));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.status).toBe(429);
    const retryAfterMs = (err as RateLimitedError).retryAfterMs;
    expect(retryAfterMs).toBeGreaterThan(55_000);
    expect(retryAfterMs).toBeLessThanOrEqual(61_000);
    expect([fake.accepted, fake.refused]).toEqual([3, 1]);

    // The refusal as the provider sends it.
    const last = fake.requests[fake.requests.length - 1];
    const res = await fetch(`${fake.url}${last.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'x-goog-api-key': KEY },
      body: JSON.stringify(last.body),
    });
    expect(res.status).toBe(429);
    const body = (await res.json()) as any;
    if (provider === 'openai') {
      expect(body.error).toMatchObject({ type: 'requests', param: null, code: 'rate_limit_exceeded' });
      expect(body.error.message).toMatch(/^Rate limit reached for gpt-4o-mini in organization \S+ on requests per min \(RPM\): Limit 3, Used 3, Requested 1\./);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(55);
      expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
      expect(res.headers.get('x-ratelimit-limit-requests')).toBe('3');
    } else if (provider === 'anthropic') {
      expect(body).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
      expect(body.error.message).toMatch(/would exceed the rate limit for your organization .* of 3 requests per minute/);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(55);
      expect(res.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    } else {
      expect(body.error).toMatchObject({ code: 429, status: 'RESOURCE_EXHAUSTED' });
      const types = body.error.details.map((d: any) => d['@type']);
      expect(types).toEqual(expect.arrayContaining(['type.googleapis.com/google.rpc.QuotaFailure', 'type.googleapis.com/google.rpc.RetryInfo']));
      const quota = body.error.details.find((d: any) => d['@type'].endsWith('QuotaFailure'));
      expect(quota.violations[0].quotaId).toBe('GenerateRequestsPerMinutePerProjectPerModel-FreeTier');
      expect(body.error.details.find((d: any) => d['@type'].endsWith('RetryInfo')).retryDelay).toMatch(/^\d+s$/);
    }
    expect([fake.accepted, fake.refused]).toEqual([3, 2]);
  });
});

describe('OpenAI', () => {
  test('sends the chat completions request OpenAI expects', async () => {
    const { fake, gen } = await setup('openai');
    await gen.generate(input);
    const req = fake.requests[0];
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    const body = req.body as any;
    expect(body).toMatchObject({ model: OPENAI_DEFAULT_MODEL, max_tokens: 600, temperature: 0.7 });
    expect(body.messages.map((m: any) => m.role)).toEqual(['system', 'user']);
    expect(body.messages[1].content).toMatch(/^Topic: durable workflows$/m);
    expect(body).not.toHaveProperty('response_format');
  });

  test('no key, no Authorization header; a base ending in /v1 (Ollama style) works; vLLM sends no rate headers', async () => {
    const fake = await startFake('openai', { flavour: 'vllm' });
    const gen = createOpenAITextGenerator({ baseUrl: `${fake.url}/v1/`, model: 'llama3.1' });
    const { reports, ctx } = recorder();
    const out = await gen.generate(input, ctx);
    expect(out.model).toBe('llama3.1');
    expect(fake.requests[0].path).toBe('/v1/chat/completions');
    expect(fake.requests[0].headers.authorization).toBeUndefined();
    expect(reports).toEqual([{ windows: [] }]);
  });

  test('reports x-ratelimit-* headers, Go-duration resets turned into times', async () => {
    const { fake, gen } = await setup('openai');
    fake.control.enforceRateLimit({ requests: 5, windowMs: 60_000, tokens: 100_000 });
    const { reports, ctx } = recorder();
    const before = Date.now();
    await gen.generate(input, ctx);
    const [req, tok] = reports[0].windows;
    expect(req).toMatchObject({ kind: 'requests', limit: 5, remaining: 4 });
    expect(req.resetAt).toBeGreaterThanOrEqual(before + 59_000);
    expect(req.resetAt).toBeLessThanOrEqual(Date.now() + 61_000);
    expect(tok).toMatchObject({ kind: 'tokens', limit: 100_000 });
    expect(tok.remaining).toBeLessThan(100_000 - 600); // prompt estimate + max_tokens counted
    await gen.generate(input, ctx);
    expect(reports[1].windows[0].remaining).toBe(3);
  });

  test('429 -> RateLimitedError using retry-after-ms first, else retry-after seconds; the 429 is reported too', async () => {
    const { fake, gen } = await setup('openai');
    const { reports, ctx } = recorder();
    fake.control.failNext('rate_limit', 1, { retryAfterMs: 1500 });
    const a = await failureOf(gen.generate(input, ctx));
    expect(a).toBeInstanceOf(RateLimitedError);
    expect((a as RateLimitedError).retryAfterMs).toBe(1500);
    expect(reports[0].windows.find((w) => w.kind === 'requests')).toMatchObject({ remaining: 0 });

    fake.control.failNext('rate_limit', 1, { retryAfterSeconds: 7 });
    const b = await failureOf(gen.generate(input, ctx));
    expect((b as RateLimitedError).retryAfterMs).toBe(7000);
    expect(b.message).toMatch(/^openai: rate limited \(429\): Rate limit reached for/);
    expect(reports).toHaveLength(2);
  });

  test('insufficient_quota -> QuotaExhaustedError, with exactly one request made', async () => {
    const { fake, gen } = await setup('openai');
    fake.control.failNext('insufficient_quota', 5);
    const err = await failureOf(gen.generate(input));
    expect(err).toBeInstanceOf(QuotaExhaustedError);
    expect(err.message).toMatch(/insufficient_quota/);
    expect(fake.requests).toHaveLength(1);
  });

  test('503 overloaded -> TransientError; vLLM top-level errors are understood', async () => {
    const { fake, gen } = await setup('openai');
    fake.control.failNext('overloaded');
    expect(await failureOf(gen.generate(input))).toBeInstanceOf(TransientError);

    const vllm = await startFake('openai', { flavour: 'vllm' });
    vllm.control.failNext('server_error');
    const err = await failureOf(createOpenAITextGenerator({ baseUrl: vllm.url }).generate(input));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toBe('openai: HTTP 500: The server had an error while processing your request. Sorry about that!');
    vllm.control.failNext('bad_key');
    const bad = await failureOf(createOpenAITextGenerator({ baseUrl: vllm.url }).generate(input));
    expect(bad).toBeInstanceOf(PermanentError);
    expect(bad.message).toBe('openai: API key refused (401): Unauthorized');
  });
});

describe('Anthropic', () => {
  test('sends the Messages request Anthropic expects', async () => {
    const { fake, gen } = await setup('anthropic');
    await gen.generate({ ...input, format: 'article' });
    const req = fake.requests[0];
    expect(req.path).toBe('/v1/messages');
    expect(req.headers['x-api-key']).toBe(KEY);
    expect(req.headers['anthropic-version']).toBe('2023-06-01');
    const body = req.body as any;
    expect(body).toMatchObject({ model: ANTHROPIC_DEFAULT_MODEL, max_tokens: 3000 });
    expect(typeof body.system).toBe('string');
    expect(body.messages).toEqual([{ role: 'user', content: expect.stringMatching(/^Topic: durable workflows$/m) }]);
  });

  test('reports anthropic-ratelimit-* headers with RFC 3339 resets', async () => {
    const { fake, gen } = await setup('anthropic');
    fake.control.enforceRateLimit({ requests: 10, windowMs: 60_000, tokens: 50_000 });
    const { reports, ctx } = recorder();
    const before = Date.now();
    await gen.generate(input, ctx);
    const windows = reports[0].windows;
    expect(windows.map((w) => w.kind)).toEqual(['requests', 'tokens', 'tokens', 'tokens']);
    expect(windows[0]).toMatchObject({ limit: 10, remaining: 9 });
    expect(windows[0].resetAt).toBeGreaterThanOrEqual(before + 59_000);
    expect(windows[0].resetAt).toBeLessThanOrEqual(Date.now() + 62_000);
    expect(windows[0].resetAt! % 1000).toBe(0); // whole seconds, as RFC 3339 headers carry
    expect(windows[1]).toMatchObject({ limit: 50_000 });
  });

  test('529 overloaded_error -> TransientError', async () => {
    const { fake, gen } = await setup('anthropic');
    fake.control.failNext('overloaded');
    const err = await failureOf(gen.generate(input));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.status).toBe(529);
    expect(err.message).toBe('anthropic: HTTP 529 overloaded_error: Overloaded');
  });

  test('429 rate_limit_error -> RateLimitedError from retry-after', async () => {
    const { fake, gen } = await setup('anthropic');
    fake.control.failNext('rate_limit', 1, { retryAfterSeconds: 12 });
    const err = await failureOf(gen.generate(input));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(12_000);
  });

  test('the spend limit -> QuotaExhaustedError, as observed (400) and as documented (429)', async () => {
    const { fake, gen } = await setup('anthropic');
    fake.control.failNext('spend_limit');
    const observed = await failureOf(gen.generate(input));
    expect(observed).toBeInstanceOf(QuotaExhaustedError);
    expect(observed.status).toBe(400);
    expect(observed.message).toMatch(/You have reached your specified API usage limits/);
    fake.control.failNext('spend_limit', 1, { status: 429 });
    const documented = await failureOf(gen.generate(input));
    expect(documented).toBeInstanceOf(QuotaExhaustedError);
    expect(documented.status).toBe(429);
    expect(fake.requests).toHaveLength(2);
  });
});

describe('Gemini', () => {
  test('sends the generateContent request Gemini expects; no rate headers, an empty report', async () => {
    const { fake, gen } = await setup('gemini');
    const { reports, ctx } = recorder();
    await gen.generate({ ...input, format: 'thread' }, ctx);
    const req = fake.requests[0];
    expect(req.path).toBe(`/v1beta/models/${GEMINI_DEFAULT_MODEL}:generateContent`);
    expect(req.headers['x-goog-api-key']).toBe(KEY);
    const body = req.body as any;
    expect(body.systemInstruction.parts[0].text).toMatch(/Format: a thread/);
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: expect.stringMatching(/^Format: thread$/m) }] }]);
    expect(body.generationConfig).toEqual({ maxOutputTokens: 1200, temperature: 0.7 });
    expect(reports).toEqual([{ windows: [] }]);
  });

  test('429 RESOURCE_EXHAUSTED with RetryInfo 53s -> RateLimitedError(53000), reported as an exhausted window', async () => {
    const { fake, gen } = await setup('gemini');
    fake.control.failNext('rate_limit');
    const { reports, ctx } = recorder();
    const before = Date.now();
    const err = await failureOf(gen.generate(input, ctx));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(53_000);
    expect(reports[0].windows[0]).toMatchObject({ kind: 'requests', remaining: 0 });
    expect(reports[0].windows[0].resetAt).toBeGreaterThanOrEqual(before + 53_000);
  });

  test('a per-day quota -> QuotaExhaustedError, even though the body carries a RetryInfo', async () => {
    const { fake, gen } = await setup('gemini');
    fake.control.failNext('quota_per_day');
    const err = await failureOf(gen.generate(input));
    expect(err).toBeInstanceOf(QuotaExhaustedError);
    expect(err.message).toMatch(/GenerateRequestsPerDayPerProjectPerModel-FreeTier/);
    expect(fake.requests).toHaveLength(1);
  });

  test('503 UNAVAILABLE -> TransientError', async () => {
    const { fake, gen } = await setup('gemini');
    fake.control.failNext('overloaded');
    const err = await failureOf(gen.generate(input));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.status).toBe(503);
  });
});

describe('the fakes rate limiter', () => {
  test('is a strict sliding window, not a fixed one', async () => {
    const { fake, gen } = await setup('openai');
    fake.control.enforceRateLimit({ requests: 2, windowMs: 400 });
    await gen.generate(input); // A
    const aAt = fake.requests[0].at;
    await sleep(250 - (Date.now() - aAt));
    await gen.generate(input); // B, ~250 ms after A
    await expect(gen.generate(input)).rejects.toBeInstanceOf(RateLimitedError); // A and B in the window
    await sleep(aAt + 460 - Date.now());
    await gen.generate(input); // A has left; B is still in
    await expect(gen.generate(input)).rejects.toBeInstanceOf(RateLimitedError); // B and D
    expect([fake.accepted, fake.refused]).toEqual([3, 2]);
  });

  test('counts tokens too when told', async () => {
    const { fake, gen } = await setup('anthropic');
    // A post asks for 600 output tokens plus the prompt: two fit in 2000, a third does not.
    fake.control.enforceRateLimit({ requests: 100, windowMs: 60_000, tokens: 2000 });
    await gen.generate(input);
    await gen.generate(input);
    const err = await failureOf(gen.generate(input));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.message).toMatch(/of 2000 tokens per minute/);
  });
});
