// The image sources against imitation servers over real HTTP: what they return, what they send, and how each
// provider's failures become typed errors (Temporal alone retries, so every failure here is exactly one request).
import { PNG } from 'pngjs';
import { PermanentError, ProviderError, QuotaExhaustedError, RateLimitedError, TransientError } from '../../../../src/providers/errors';
import { createOpenAIImageSource } from '../../../../src/providers/images/openai-images';
import { createPexelsImageSource } from '../../../../src/providers/images/pexels';
import { createStabilityImageSource } from '../../../../src/providers/images/stability';
import type { FoundImage, ImageRequest, ImageSource } from '../../../../src/providers/images/types';
import { createUnsplashImageSource } from '../../../../src/providers/images/unsplash';
import type { CallContext, RateInfo } from '../../../../src/providers/rate-info';
import { startOpenAIImagesFake, type OpenAIImagesFake } from '../../../fakes/openai-images-server';
import { startPexelsFake, type PexelsFake } from '../../../fakes/pexels-server';
import { startStabilityFake, type StabilityFake } from '../../../fakes/stability-server';
import { startUnsplashFake, type UnsplashFake } from '../../../fakes/unsplash-server';

const REQUEST: ImageRequest = {
  title: 'Why durable workflows beat cron jobs',
  topic: 'durable execution for background jobs',
  style: 'flat, muted blue',
  keywords: ['#Temporal', '#DevOps'],
};

const OPENAI_KEY = 'sk-test-openai';
const STABILITY_KEY = 'sk-test-stability';
const UNSPLASH_KEY = 'unsplash-access-key';
const PEXELS_KEY = 'pexels-api-key';

async function failure(source: ImageSource, ctx?: CallContext, request: ImageRequest = REQUEST): Promise<ProviderError> {
  const err = await source.find(request, ctx).then(
    () => {
      throw new Error('expected find to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

function recorder(): { ctx: CallContext; reports: RateInfo[] } {
  const reports: RateInfo[] = [];
  return { ctx: { report: (info) => reports.push(info) }, reports };
}

/** Decodes PNG bytes for real (not only the header). */
function decodedSize(img: FoundImage): { width: number; height: number } {
  const png = PNG.sync.read(img.bytes);
  return { width: png.width, height: png.height };
}

describe('OpenAI images', () => {
  let fake: OpenAIImagesFake;
  const source = (over: Partial<Parameters<typeof createOpenAIImageSource>[0]> = {}): ImageSource =>
    createOpenAIImageSource({ apiKey: OPENAI_KEY, baseUrl: fake.url, ...over });
  beforeEach(async () => {
    fake = await startOpenAIImagesFake({ apiKey: OPENAI_KEY });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('returns one generated PNG with its true size, an illustration alt and no attribution', async () => {
    const [img, ...rest] = await source().find(REQUEST);
    expect(rest).toHaveLength(0);
    expect(img.source).toBe('openai');
    expect(img.contentType).toBe('image/png');
    expect({ width: img.width, height: img.height }).toEqual({ width: 1536, height: 1024 });
    expect(decodedSize(img)).toEqual({ width: 1536, height: 1024 });
    expect(img.alt).toBe('Illustration: Why durable workflows beat cron jobs');
    expect(img.attribution).toBeNull();
  });

  it('asks for gpt-image-1 at 1536x1024 with a prompt of title, topic, style and no lettering', async () => {
    await source().find(REQUEST);
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/images/generations');
    expect(req.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    const body = req.body as Record<string, unknown>;
    expect(body).toMatchObject({ model: 'gpt-image-1', size: '1536x1024', n: 1 });
    expect(body).not.toHaveProperty('response_format');
    const prompt = body.prompt as string;
    expect(prompt).toContain(REQUEST.title);
    expect(prompt).toContain(REQUEST.topic);
    expect(prompt).toContain(REQUEST.style);
    expect(prompt.toLowerCase()).toContain('no text in the image');
  });

  it('asks dall-e models for base64 so no second download is needed', async () => {
    const [img] = await source({ model: 'dall-e-3', size: '1792x1024' }).find(REQUEST);
    expect((fake.requests[0].body as Record<string, unknown>).response_format).toBe('b64_json');
    expect(fake.requests).toHaveLength(1);
    expect({ width: img.width, height: img.height }).toEqual({ width: 1792, height: 1024 });
  });

  it('downloads the bytes when the answer is a URL, without sending the API key there', async () => {
    fake.respondWithUrl();
    const [img] = await source().find(REQUEST);
    expect(fake.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual(['POST /v1/images/generations', 'GET /files/img-1.png']);
    expect(fake.requests[1].headers.authorization).toBeUndefined();
    expect(decodedSize(img)).toEqual({ width: 1536, height: 1024 });
  });

  it('429 insufficient_quota is QuotaExhaustedError after exactly one request', async () => {
    fake.failNext('insufficient_quota');
    const err = await failure(source());
    expect(err).toBeInstanceOf(QuotaExhaustedError);
    expect(err.status).toBe(429);
    expect(fake.requests).toHaveLength(1);
  });

  it('429 rate_limit_exceeded is RateLimitedError with retry-after-ms', async () => {
    fake.failNext('rate_limit');
    const err = await failure(source());
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(2000);
    expect(fake.requests).toHaveLength(1);
  });

  it('reports x-ratelimit-* with Go-duration resets on every answer, the 429 included', async () => {
    fake.enforceRateLimit(1, 60_000);
    const { ctx, reports } = recorder();
    const before = Date.now();
    await source().find(REQUEST, ctx);
    const err = await failure(source(), ctx);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(55_000);
    expect((err as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(reports).toHaveLength(2);
    for (const report of reports) {
      const requests = report.windows.find((w) => w.kind === 'requests')!;
      expect(requests).toMatchObject({ limit: 1, remaining: 0 });
      expect(requests.resetAt).toBeGreaterThan(before + 55_000);
      expect(requests.resetAt).toBeLessThan(Date.now() + 61_000);
      expect(report.windows.find((w) => w.kind === 'tokens')).toMatchObject({ limit: 100_000 });
    }
  });

  it('400 content policy violation is PermanentError', async () => {
    fake.failNext('content_policy');
    const err = await failure(source());
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain('content_policy_violation');
  });

  it('401 bad key is PermanentError and the key is not in the message', async () => {
    const err = await failure(source({ apiKey: 'sk-wrong-key' }));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.status).toBe(401);
    expect(err.message).not.toContain('sk-wrong-key');
  });

  it('500 is TransientError', async () => {
    fake.failNext('server_error');
    expect(await failure(source())).toBeInstanceOf(TransientError);
  });

  it('a 200 with malformed JSON is TransientError', async () => {
    fake.failNext('malformed_json');
    expect(await failure(source())).toBeInstanceOf(TransientError);
  });

  it('a hanging server is TransientError after timeoutMs', async () => {
    fake.failNext('hang');
    const started = Date.now();
    const err = await failure(source({ timeoutMs: 300 }));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toContain('300 ms');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("the caller's abort signal stops the request", async () => {
    fake.failNext('hang');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await failure(source(), { signal: controller.signal });
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toContain('cancelled');
  });
});

describe('Stability', () => {
  let fake: StabilityFake;
  const source = (over: Partial<Parameters<typeof createStabilityImageSource>[0]> = {}): ImageSource =>
    createStabilityImageSource({ apiKey: STABILITY_KEY, baseUrl: fake.url, ...over });
  beforeEach(async () => {
    fake = await startStabilityFake({ apiKey: STABILITY_KEY });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('returns one generated 16:9 PNG with its true size, an illustration alt and no attribution', async () => {
    const [img, ...rest] = await source().find(REQUEST);
    expect(rest).toHaveLength(0);
    expect(img).toMatchObject({ source: 'stability', contentType: 'image/png', width: 1344, height: 768, alt: 'Illustration: Why durable workflows beat cron jobs', attribution: null });
    expect(decodedSize(img)).toEqual({ width: 1344, height: 768 });
  });

  it('posts multipart prompt, output_format=png and aspect_ratio=16:9 to the core engine, asking for JSON', async () => {
    await source().find(REQUEST);
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req.path).toBe('/v2beta/stable-image/generate/core');
    expect(req.headers.authorization).toBe(`Bearer ${STABILITY_KEY}`);
    expect(req.headers.accept).toBe('application/json');
    expect(req.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const fields = req.body as Record<string, string>;
    expect(fields).toMatchObject({ output_format: 'png', aspect_ratio: '16:9' });
    expect(fields.prompt).toContain(REQUEST.title);
    expect(fields.prompt.toLowerCase()).toContain('no text in the image');
  });

  it('uses the configured engine', async () => {
    await source({ engine: 'ultra' }).find(REQUEST);
    expect(fake.requests[0].path).toBe('/v2beta/stable-image/generate/ultra');
  });

  it('finish_reason CONTENT_FILTERED is PermanentError', async () => {
    fake.failNext('content_filtered');
    const err = await failure(source());
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain('content filtered');
    expect(fake.requests).toHaveLength(1);
  });

  it('429 is RateLimitedError waiting out the 60 s timeout when no Retry-After is sent', async () => {
    fake.enforceRateLimit(1, 10_000);
    await source().find(REQUEST);
    const err = await failure(source());
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(60_000);
  });

  it('402 (out of credits) is QuotaExhaustedError', async () => {
    fake.failNext('no_credits');
    expect(await failure(source())).toBeInstanceOf(QuotaExhaustedError);
  });

  it('401 bad key is PermanentError', async () => {
    fake.failNext('bad_key');
    expect(await failure(source())).toBeInstanceOf(PermanentError);
  });

  it('500 is TransientError', async () => {
    fake.failNext('server_error');
    expect(await failure(source())).toBeInstanceOf(TransientError);
  });

  it('a hanging server is TransientError after timeoutMs', async () => {
    fake.failNext('hang');
    const err = await failure(source({ timeoutMs: 300 }));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toContain('300 ms');
  });
});

describe('Unsplash', () => {
  let fake: UnsplashFake;
  const source = (over: Partial<Parameters<typeof createUnsplashImageSource>[0]> = {}): ImageSource =>
    createUnsplashImageSource({ accessKey: UNSPLASH_KEY, baseUrl: fake.url, ...over });
  const apiRequests = (): string[] => fake.requests.filter((r) => !r.path.startsWith('/images/')).map((r) => r.path.split('?')[0]);
  beforeEach(async () => {
    fake = await startUnsplashFake({ accessKey: UNSPLASH_KEY });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('returns the first photo with its true size and credits the photographer', async () => {
    const [img, ...rest] = await source().find(REQUEST);
    expect(rest).toHaveLength(0);
    expect(img.source).toBe('unsplash');
    expect(img.contentType).toBe('image/png');
    // The record claims the original's 5472x3648; the bytes served for urls.regular decide.
    expect({ width: img.width, height: img.height }).toEqual({ width: 64, height: 36 });
    expect(decodedSize(img)).toEqual({ width: 64, height: 36 });
    expect(img.alt).toBe('A lighthouse on a rocky coast at dusk');
    expect(img.attribution).toBe('Photo by Ada Lovelace on Unsplash (https://unsplash.com/@ada_l?utm_source=herald&utm_medium=referral)');
  });

  it('searches landscape photos for the title and keywords with Client-ID auth', async () => {
    await source().find(REQUEST);
    const search = fake.requests[0];
    const url = new URL(search.path, fake.url);
    expect(url.pathname).toBe('/search/photos');
    expect(url.searchParams.get('query')).toBe('Why durable workflows beat cron jobs Temporal DevOps');
    expect(url.searchParams.get('per_page')).toBe('10');
    expect(url.searchParams.get('orientation')).toBe('landscape');
    expect(search.headers.authorization).toBe(`Client-ID ${UNSPLASH_KEY}`);
    expect(search.headers['accept-version']).toBe('v1');
  });

  it('makes exactly one download ping per used photo, with the same auth, after the bytes', async () => {
    await source().find(REQUEST);
    expect(fake.downloadPings).toBe(1);
    expect(fake.requests.map((r) => r.path.split('?')[0])).toEqual(['/search/photos', '/images/fake-lighthouse.png', '/photos/fake-lighthouse/download']);
    expect(fake.requests[2].headers.authorization).toBe(`Client-ID ${UNSPLASH_KEY}`);
    expect(fake.requests[2].path).toContain('ixid=');
    await source().find(REQUEST);
    expect(fake.downloadPings).toBe(2);
  });

  it('sends the ping (and the key) only to the configured API host, whatever host the answer names', async () => {
    const base = fake.url.replace('127.0.0.1', 'localhost'); // the fake names itself 127.0.0.1
    await source({ baseUrl: base }).find(REQUEST);
    const ping = fake.requests.find((r) => r.path.startsWith('/photos/'))!;
    expect(ping.headers.host).toBe(new URL(base).host);
    expect(fake.downloadPings).toBe(1);
  });

  it('403 "Rate Limit Exceeded" is RateLimitedError waiting for the hour, with no download and no ping', async () => {
    fake.failNext('403_rate_limit');
    const err = await failure(source());
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.status).toBe(403);
    expect((err as RateLimitedError).retryAfterMs).toBe(60 * 60_000);
    expect(fake.requests).toHaveLength(1);
    expect(fake.downloadPings).toBe(0);
  });

  it('over an enforced limit the 403 is RateLimitedError and reports remaining 0', async () => {
    fake.enforceRateLimit(2, 60_000); // search + ping use both
    const { ctx, reports } = recorder();
    await source().find(REQUEST, ctx);
    const err = await failure(source(), ctx);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(reports.at(-1)!.windows[0]).toMatchObject({ kind: 'requests', limit: 2, remaining: 0 });
  });

  it('429 is RateLimitedError too', async () => {
    fake.failNext('rate_limit');
    const err = await failure(source());
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.status).toBe(429);
  });

  it('a 403 that is not a rate limit is PermanentError', async () => {
    fake.failNext('forbidden');
    expect(await failure(source())).toBeInstanceOf(PermanentError);
  });

  it('401 bad key is PermanentError', async () => {
    const err = await failure(source({ accessKey: 'wrong-key' }));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.status).toBe(401);
  });

  it('reports X-Ratelimit-Limit/Remaining with the reset assumed an hour away', async () => {
    fake.enforceRateLimit(50, 3_600_000);
    const { ctx, reports } = recorder();
    const before = Date.now();
    await source().find(REQUEST, ctx);
    expect(reports.map((r) => r.windows[0].remaining)).toEqual([49, 48]); // the search, then the ping
    expect(reports[0].windows[0]).toMatchObject({ kind: 'requests', limit: 50 });
    expect(reports[0].windows[0].resetAt).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(reports[0].windows[0].resetAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
  });

  it('no results is an empty list, not an error, and nothing is downloaded or pinged', async () => {
    fake.empty();
    await expect(source().find(REQUEST)).resolves.toEqual([]);
    expect(apiRequests()).toEqual(['/search/photos']);
    expect(fake.downloadPings).toBe(0);
  });

  it('a hanging server is TransientError after timeoutMs', async () => {
    fake.failNext('hang');
    const err = await failure(source({ timeoutMs: 300 }));
    expect(err).toBeInstanceOf(TransientError);
  });
});

describe('Pexels', () => {
  let fake: PexelsFake;
  const source = (over: Partial<Parameters<typeof createPexelsImageSource>[0]> = {}): ImageSource =>
    createPexelsImageSource({ apiKey: PEXELS_KEY, baseUrl: fake.url, ...over });
  beforeEach(async () => {
    fake = await startPexelsFake({ apiKey: PEXELS_KEY });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('returns the first photo with its true size, its alt, and credits the photographer', async () => {
    const [img, ...rest] = await source().find(REQUEST);
    expect(rest).toHaveLength(0);
    expect(img.source).toBe('pexels');
    expect(img.contentType).toBe('image/png');
    expect({ width: img.width, height: img.height }).toEqual({ width: 64, height: 36 });
    expect(decodedSize(img)).toEqual({ width: 64, height: 36 });
    expect(img.alt).toBe('Person typing on a laptop at a wooden desk');
    expect(img.attribution).toBe('Photo by Christina Morillo on Pexels (https://www.pexels.com/photo/person-typing-on-a-laptop-at-a-wooden-desk-1181671/)');
  });

  it('searches landscape photos with the bare key (no Bearer) and downloads src.large2x', async () => {
    await source().find(REQUEST);
    const [search, download] = fake.requests;
    const url = new URL(search.path, fake.url);
    expect(url.pathname).toBe('/v1/search');
    expect(url.searchParams.get('query')).toBe('Why durable workflows beat cron jobs Temporal DevOps');
    expect(url.searchParams.get('per_page')).toBe('10');
    expect(url.searchParams.get('orientation')).toBe('landscape');
    expect(search.headers.authorization).toBe(PEXELS_KEY);
    expect(download.path).toContain('dpr=2');
    expect(fake.requests).toHaveLength(2);
  });

  it('reads the size of a JPEG photo from its frame header', async () => {
    fake.photoFormat('jpeg');
    const [img] = await source().find(REQUEST);
    expect(img).toMatchObject({ contentType: 'image/jpeg', width: 64, height: 36 });
    expect(img.bytes.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it('a 429 after the allowance ran out waits until the X-Ratelimit-Reset epoch seconds', async () => {
    fake.enforceRateLimit(1, 3_600_000);
    const { ctx, reports } = recorder();
    const s = source(); // one instance: Pexels' 429 carries no headers, so the last reset seen is remembered
    await s.find(REQUEST, ctx);
    const [window] = reports[0].windows;
    expect(window).toMatchObject({ kind: 'requests', limit: 1, remaining: 0 });
    expect(window.resetAt! % 1000).toBe(0); // epoch seconds, in ms
    const err = await failure(s, ctx);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.status).toBe(429);
    expect(Math.abs((err as RateLimitedError).retryAfterMs - (window.resetAt! - Date.now()))).toBeLessThan(1000);
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(3_590_000);
    expect(reports).toHaveLength(1);
  });

  it('a 429 with nothing known waits 60 s', async () => {
    fake.failNext('rate_limit');
    const err = await failure(source());
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(60_000);
  });

  it('reports X-Ratelimit-Limit/Remaining/Reset (epoch seconds) from a search', async () => {
    const { ctx, reports } = recorder();
    await source().find(REQUEST, ctx);
    expect(reports).toHaveLength(1);
    const [window] = reports[0].windows;
    expect(window).toMatchObject({ kind: 'requests', limit: 20_000, remaining: 19_999 });
    const d = new Date();
    expect(window.resetAt).toBe(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
  });

  it('no results is an empty list, not an error', async () => {
    fake.empty();
    await expect(source().find(REQUEST)).resolves.toEqual([]);
    expect(fake.requests).toHaveLength(1);
  });

  it('401 bad key is PermanentError', async () => {
    const err = await failure(source({ apiKey: 'wrong' }));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.status).toBe(401);
  });

  it('a hanging server is TransientError after timeoutMs', async () => {
    fake.failNext('hang');
    const err = await failure(source({ timeoutMs: 300 }));
    expect(err).toBeInstanceOf(TransientError);
  });

  it('keeps a long query to about 100 characters, cut at a word', async () => {
    const keywords = Array.from({ length: 30 }, (_, i) => `#keyword${i}`);
    await source().find({ ...REQUEST, keywords });
    const query = new URL(fake.requests[0].path, fake.url).searchParams.get('query')!;
    expect(query.length).toBeLessThanOrEqual(100);
    expect(query.startsWith('Why durable workflows beat cron jobs keyword0 keyword1')).toBe(true);
    expect(query).toMatch(/keyword\d+$/);
  });
});
