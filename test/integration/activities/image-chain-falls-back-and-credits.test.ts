// The image chain through the whole stack: each image says its source, its attribution and why earlier sources were
// skipped; the card is always there at the end.
import { startOpenAIImagesFake } from '../../fakes/openai-images-server';
import { startPexelsFake } from '../../fakes/pexels-server';
import { startUnsplashFake } from '../../fakes/unsplash-server';
import { startHarness, type Harness } from '../../helpers/harness';

let h: Harness;
let unsplash: Awaited<ReturnType<typeof startUnsplashFake>>;
let pexels: Awaited<ReturnType<typeof startPexelsFake>>;
let openaiImages: Awaited<ReturnType<typeof startOpenAIImagesFake>>;

beforeAll(async () => {
  unsplash = await startUnsplashFake({ accessKey: 'unsplash-key' });
  pexels = await startPexelsFake({ apiKey: 'pexels-key' });
  openaiImages = await startOpenAIImagesFake({ apiKey: 'sk-images' });
  h = await startHarness({
    env: {
      UNSPLASH_ACCESS_KEY: 'unsplash-key',
      UNSPLASH_BASE_URL: unsplash.url,
      PEXELS_API_KEY: 'pexels-key',
      PEXELS_BASE_URL: pexels.url,
      OPENAI_API_KEY: 'sk-images',
      OPENAI_BASE_URL: openaiImages.url,
      TEXT_PROVIDERS: 'offline',
      IMAGE_SOURCES: 'unsplash,pexels',
    },
  });
});
afterAll(async () => {
  await h?.stop();
  await Promise.all([unsplash?.close(), pexels?.close(), openaiImages?.close()]);
});

async function run(extra: Record<string, unknown> = {}) {
  const res = await h.api('POST', '/v1/pipelines', { topic: `Mountains at dawn ${Date.now()}`, targets: [{ platform: 'instagram' }], dryRun: true, ...extra });
  expect(res.status).toBe(202);
  return h.waitFor(res.body.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status), { timeoutMs: 30_000 });
}

it('uses Unsplash first, pings its download location once and credits the photographer', async () => {
  const pings = unsplash.downloadPings;
  const done = await run();
  expect(done.status).toBe('published');
  expect(done.images).toHaveLength(1);
  expect(done.images[0]).toMatchObject({ source: 'unsplash', fallbackReason: null });
  expect(done.images[0].attribution).toMatch(/Photo by .+ on Unsplash/);
  expect(unsplash.downloadPings).toBe(pings + 1);
  const bytes = await fetch(`${h.baseUrl}${done.images[0].url}`);
  expect(bytes.status).toBe(200);
  // Instagram fetches the image by its public URL: the preview carries it.
  const ig = done.publications[0].preview;
  expect(JSON.stringify(ig)).toContain(done.images[0].url);
});

it('passes over a rate-limited Unsplash (403 "Rate Limit Exceeded") to Pexels and says why', async () => {
  unsplash.failNext('403_rate_limit');
  const done = await run();
  expect(done.images[0].source).toBe('pexels');
  expect(done.images[0].attribution).toMatch(/Photo by .+ on Pexels/);
  expect(done.images[0].fallbackReason).toMatch(/unsplash/);
});

it('remembers a rate-limited source (no call while it is blocked) and ends with the card when the rest fail', async () => {
  // Unsplash said "Rate Limit Exceeded" in the previous test: Herald does not ask it again until its hour is over.
  const unsplashCalls = unsplash.requests.length;
  pexels.failNext('bad_key');
  const done = await run();
  expect(unsplash.requests.length).toBe(unsplashCalls);
  expect(done.images[0].source).toBe('card');
  expect(done.images[0].fallbackReason).toMatch(/unsplash: .*Rate Limit Exceeded/);
  expect(done.images[0].fallbackReason).toMatch(/pexels: .*401/);
  expect(done.images[0].fallbackReason).not.toMatch(/unsplash: unsplash:/);
  const providers = await h.api('GET', '/v1/providers');
  expect(providers.body.items.find((p: any) => p.provider === 'unsplash').blockedUntil).toEqual(expect.any(String));
});

it('a request can choose its own chain: OpenAI images out of quota falls back to the card', async () => {
  openaiImages.failNext('insufficient_quota');
  const before = openaiImages.requests.length;
  const done = await run({ image: { mode: 'auto', sources: ['openai'] } });
  expect(openaiImages.requests.length - before).toBe(1);
  expect(done.images[0].source).toBe('card');
  expect(done.images[0].fallbackReason).toMatch(/openai: .*quota/i);
});
