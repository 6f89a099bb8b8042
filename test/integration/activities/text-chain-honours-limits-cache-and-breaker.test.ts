// AI text through the whole stack: API -> workflow -> activity -> resilience -> real HTTP to imitation providers.
import { startAnthropicFake } from '../../fakes/anthropic-server';
import type { FakeAiServer } from '../../fakes/fake-control';
import { startOpenAIFake } from '../../fakes/openai-server';
import { startHarness, type Harness } from '../../helpers/harness';

let h: Harness;
let openai: FakeAiServer;
let anthropic: FakeAiServer;
let n = 0;

beforeAll(async () => {
  openai = await startOpenAIFake();
  anthropic = await startAnthropicFake();
  h = await startHarness({
    env: {
      OPENAI_API_KEY: 'sk-test-openai',
      OPENAI_BASE_URL: openai.url,
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_BASE_URL: anthropic.url,
      IMAGE_SOURCES: 'card',
      CIRCUIT_BREAKER_OPENAI: '3/4s',
    },
  });
});
afterAll(async () => {
  await h?.stop();
  await openai?.close();
  await anthropic?.close();
});
afterEach(() => {
  openai.control.recover();
  anthropic.control.recover();
});

const TERMINAL = ['published', 'partially_published', 'failed', 'cancelled', 'rejected', 'expired'];
async function run(extra: Record<string, unknown> = {}) {
  n++;
  const res = await h.api('POST', '/v1/pipelines', {
    topic: `Durable text number ${n} ${Date.now()}`,
    targets: [{ platform: 'x' }],
    dryRun: true,
    image: { mode: 'none' },
    ...extra,
  });
  expect(res.status).toBe(202);
  return h.waitFor(res.body.id, (s) => TERMINAL.includes(s.status), { timeoutMs: 45_000 });
}
const chatCalls = (fake: FakeAiServer) => fake.requests.filter((r) => r.method === 'POST').length;

it('writes with the first provider and records its token usage', async () => {
  const done = await run();
  expect(done.status).toBe('published');
  expect(done.content.provider).toBe('openai');
  expect(done.content.cached).toBe(false);
  expect(done.content.usage.totalTokens).toBeGreaterThan(0);
  expect(done.content.skipped).toEqual([]);
});

it('serves a repeated prompt from the cache without calling the provider again, unless the request opts out', async () => {
  const topic = `Cached topic ${Date.now()}`;
  const first = await run({ topic });
  const calls = chatCalls(openai);
  const again = await run({ topic });
  expect(again.content.cached).toBe(true);
  expect(again.content.body).toBe(first.content.body);
  expect(chatCalls(openai)).toBe(calls);
  const optOut = await run({ topic, cache: false });
  expect(optOut.content.cached).toBe(false);
  expect(chatCalls(openai)).toBe(calls + 1);
});

it('honours a 429: the next attempt never comes before Retry-After', async () => {
  openai.control.failNext('rate_limit', 1, { retryAfterSeconds: 2 });
  const before = openai.requests.length;
  const done = await run({ cache: false });
  expect(done.content.provider).toBe('openai');
  const mine = openai.requests.slice(before);
  expect(mine).toHaveLength(2);
  expect(mine[1].at - mine[0].at).toBeGreaterThanOrEqual(2000);
});

it('does not retry insufficient_quota: the next provider writes and the state says why', async () => {
  openai.control.failNext('insufficient_quota');
  const before = openai.requests.length;
  const done = await run({ cache: false });
  expect(done.status).toBe('published');
  expect(done.content.provider).toBe('anthropic');
  expect(openai.requests.length - before).toBe(1);
  expect(done.content.skipped).toEqual([{ provider: 'openai', type: 'QuotaExhausted', reason: expect.stringMatching(/quota/i) }]);
});

it('opens the breaker after repeated failures, falls back without waiting, and a probe closes it on recovery', async () => {
  openai.control.failAlways('server_error');
  const first = await run({ cache: false });
  expect(first.content.provider).toBe('anthropic');
  expect(first.content.skipped[0]).toMatchObject({ provider: 'openai' });

  const providers = await h.api('GET', '/v1/providers');
  expect(providers.status).toBe(200);
  const openaiState = providers.body.items.find((p: any) => p.provider === 'openai');
  expect(openaiState.breaker.state).toBe('open');
  expect(openaiState.breaker.retryAt).toEqual(expect.any(String));

  // While open: no call reaches openai, and the pipeline does not wait for it.
  const before = openai.requests.length;
  const t0 = Date.now();
  const second = await run({ cache: false });
  expect(second.content.provider).toBe('anthropic');
  expect(second.content.skipped[0]).toMatchObject({ provider: 'openai', type: 'BreakerOpen' });
  expect(openai.requests.length).toBe(before);
  expect(Date.now() - t0).toBeLessThan(3000);

  // Recovered: after the cooldown one probe goes through and closes the breaker.
  openai.control.recover();
  const retryAt = Date.parse(openaiState.breaker.retryAt);
  await new Promise((r) => setTimeout(r, Math.max(0, retryAt - Date.now()) + 200));
  const third = await run({ cache: false });
  expect(third.content.provider).toBe('openai');
  const after = await h.api('GET', '/v1/providers');
  expect(after.body.items.find((p: any) => p.provider === 'openai').breaker.state).toBe('closed');
});

it('learns from the provider\'s own headers and slows down before it says 429', async () => {
  // Herald's configured limit is far higher than what this account really gets; the headers tell the truth.
  openai.control.enforceRateLimit({ requests: 3, windowMs: 3000 });
  try {
    const refused = openai.refused;
    const accepted = openai.accepted;
    for (let i = 0; i < 5; i++) {
      const done = await run({ cache: false });
      expect(done.content.provider).toBe('openai');
    }
    expect(openai.accepted - accepted).toBe(5);
    expect(openai.refused - refused).toBe(0);
  } finally {
    openai.control.clearRateLimit();
  }
});

it('shows each provider\'s windows and cache use in GET /v1/providers and in /metrics', async () => {
  const res = await h.api('GET', '/v1/providers');
  const o = res.body.items.find((p: any) => p.provider === 'openai');
  expect(o.windows.length).toBeGreaterThan(0);
  expect(o.windows[0]).toEqual(expect.objectContaining({ limit: expect.any(Number), used: expect.any(Number), remaining: expect.any(Number) }));
  expect(o.cache.hits).toBeGreaterThanOrEqual(1);
  expect(o.cache.misses).toBeGreaterThanOrEqual(1);
  const metrics = await (await fetch(`${h.baseUrl}/metrics`)).text();
  expect(metrics).toMatch(/herald_breaker_state\{provider="openai"\}/);
  expect(metrics).toMatch(/herald_cache_hits_total\{provider="openai"\} [1-9]/);
});

it('a provider answer holding NUL characters or unpaired surrogates is cleaned, stored and published, not a stuck pipeline', async () => {
  // JSON escapes keep the bad characters intact on the wire: "\u0000" and a lone "\ud800" reach Herald as such.
  openai.control.respondWith('{"title": "Bad\\u0000 title", "body": "Half a pair \\ud800 here and a NUL\\u0000 there.", "hashtags": ["ok\\u0000"]}');
  const done = await run({ cache: false });
  expect(done.status).toBe('published');
  expect(done.content.provider).toBe('openai');
  expect(done.content.title).toBe('Bad title');
  expect(done.content.body).toBe('Half a pair \uFFFD here and a NUL there.');
  // What the platform would have received is clean too.
  const sent = done.variants.flatMap((v: { parts: string[] }) => v.parts).join('\n');
  expect(sent).toContain('Half a pair');
  expect(sent).not.toContain('\u0000');
  expect(sent).not.toContain('\ud800');
});
