// Facebook Page, Instagram and Threads publishing over real HTTP against the imitation Graph server: exactly-once
// under slow containers, expired containers, lost answers and duplicates; typed errors; token refreshers.
import {
  AuthExpiredError,
  DuplicateError,
  NotReadyError,
  PermanentError,
  ProviderError,
  RateLimitedError,
  ReauthRequiredError,
  TransientError,
} from '../../../../src/providers/errors';
import type { RateInfo } from '../../../../src/providers/rate-info';
import { createFacebookPublisher } from '../../../../src/providers/publishers/facebook';
import { createInstagramPublisher, instagramQuotaUsage } from '../../../../src/providers/publishers/instagram';
import {
  createFacebookTokenRefresher,
  createInstagramTokenRefresher,
  createThreadsTokenRefresher,
} from '../../../../src/providers/publishers/meta-refreshers';
import { createThreadsPublisher } from '../../../../src/providers/publishers/threads';
import type { PublishContext, PublishInput, PublishProgress } from '../../../../src/providers/publishers/types';
import { type MetaGraphFake, startImageHost, startMetaGraphFake } from '../../../fakes/meta-graph-server';

const PAGE = '1122334455';
const IG_USER = '17841400000000000';
const THREADS_USER = '9988776655';
const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;
const RETRY_MS = 1_234;

let fake: MetaGraphFake;
let images: Awaited<ReturnType<typeof startImageHost>>;
let clock: number;
const now = (): number => clock;

beforeEach(async () => {
  clock = Date.parse('2026-03-01T09:30:00.000Z');
  fake = await startMetaGraphFake({ now });
  images = await startImageHost();
});
afterEach(async () => {
  await fake.close();
  await images.close();
});

const graph = (): string => `${fake.url}/v21.0`;
const facebook = () => createFacebookPublisher({ graphBaseUrl: graph(), now });
const instagram = () => createInstagramPublisher({ graphBaseUrl: graph(), now, containerRetryMs: RETRY_MS });
const threads = () => createThreadsPublisher({ apiBaseUrl: graph(), now, containerRetryMs: RETRY_MS });

function image(name: string): PublishInput['images'][number] {
  return { id: name, url: `${images.url}/img/${name}.png`, alt: `picture ${name}`, contentType: 'image/png' };
}

function input(platform: 'facebook' | 'instagram' | 'threads', over: Partial<PublishInput> = {}): PublishInput {
  const settings = platform === 'facebook' ? { pageId: PAGE } : platform === 'instagram' ? { igUserId: IG_USER } : { userId: THREADS_USER };
  return {
    platform,
    format: 'post',
    parts: ['Durable workflows beat cron jobs. #temporal'],
    title: 'Why durable workflows',
    images: platform === 'instagram' ? [image('a')] : [],
    idempotencyKey: `pub-${platform}-1`,
    credentials: { accessToken: fake.token },
    account: { id: `acc-${platform}`, handle: 'herald', settings },
    ...over,
  };
}

/** A context that keeps the latest progress, the way the publishing activity keeps its heartbeat details. */
function recorder(start?: PublishProgress, reconcile = false) {
  const state: { progress: PublishProgress | undefined; reports: RateInfo[] } = { progress: start, reports: [] };
  const ctx = (): PublishContext => ({
    progress: state.progress,
    reconcile,
    onProgress: (p) => {
      state.progress = p;
    },
    report: (r) => state.reports.push(r),
  });
  return { state, ctx };
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const e = await p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ProviderError);
  return e as ProviderError;
}

function expectNoSecret(e: Error, ...secrets: string[]): void {
  const text = `${e.message}\n${e.stack ?? ''}\n${JSON.stringify({ ...e })}`;
  for (const s of [fake.token, fake.appSecret, ...secrets]) expect(text).not.toContain(s);
}

const count = (method: string, re: RegExp): number => fake.requests.filter((r) => r.method === method && re.test(r.path)).length;

describe('Facebook Page', () => {
  it('posts a text message once and answers the post id and its URL', async () => {
    const result = await facebook().publish(input('facebook', { parts: ['One', 'Two https://example.com/x'] }));
    expect(fake.posts).toHaveLength(1);
    expect(fake.posts[0]).toMatchObject({ platform: 'facebook', owner: PAGE, text: 'One\n\nTwo https://example.com/x', media: [] });
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(result.url).toBe(`https://www.facebook.com/${PAGE}/posts/${fake.posts[0].id.split('_')[1]}`);
  });

  it('uploads the image unpublished, then attaches it to the one page post', async () => {
    const img = image('fb');
    await facebook().publish(input('facebook', { images: [img] }));
    const upload = fake.requests.find((r) => r.path === `/${PAGE}/photos`);
    expect(upload?.params).toMatchObject({ url: img.url, published: false });
    expect(images.fetched).toContain('/img/fb.png');
    expect(fake.posts).toHaveLength(1);
    expect(fake.posts[0].media).toEqual([img.url]);
  });

  it('a message the page just posted answers 506: DuplicateError naming that post, and still one post', async () => {
    const first = await facebook().publish(input('facebook'));
    const e = await failure(facebook().publish(input('facebook', { idempotencyKey: 'pub-facebook-2' })));
    expect(e).toBeInstanceOf(DuplicateError);
    expect((e as DuplicateError).existingId).toBe(first.externalId);
    expect(fake.posts).toHaveLength(1);
  });

  it('after a lost answer, a retry with reconcile takes the post from the 506 answer instead of posting again', async () => {
    const rec = recorder();
    fake.acceptThenDrop(1);
    expect(await failure(facebook().publish(input('facebook'), rec.ctx()))).toBeInstanceOf(TransientError);
    fake.staleListingsNext(1); // the first look does not see the new post yet, so the retry posts and gets 506
    const result = await facebook().publish(input('facebook'), { ...rec.ctx(), reconcile: true });
    expect(fake.posts).toHaveLength(1);
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(count('POST', /\/feed$/)).toBe(2);
  });

  it("after a lost answer, a retry with reconcile finds the post among the page's recent posts and never posts again", async () => {
    fake.duplicateDetection(false);
    fake.acceptThenDrop(1);
    expect(await failure(facebook().publish(input('facebook')))).toBeInstanceOf(TransientError);
    const result = await facebook().publish(input('facebook'), { reconcile: true });
    expect(fake.posts).toHaveLength(1);
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(count('POST', /\/feed$/)).toBe(1);
  });
});

describe('Instagram', () => {
  it('a container still processing is NotReadyError; the retry with the recorded container publishes once', async () => {
    fake.containerDelay(1);
    const rec = recorder();
    const e = await failure(instagram().publish(input('instagram'), rec.ctx()));
    expect(e).toBeInstanceOf(NotReadyError);
    expect((e as NotReadyError).retryAfterMs).toBe(RETRY_MS);
    expect(rec.state.progress?.container?.id).toBe(fake.containers[0].id);
    expect(fake.posts).toHaveLength(0);

    const result = await instagram().publish(input('instagram'), rec.ctx());
    expect(fake.containers).toHaveLength(1);
    expect(count('POST', /\/media$/)).toBe(1);
    expect(fake.posts).toHaveLength(1);
    expect(fake.posts[0]).toMatchObject({ platform: 'instagram', text: 'Durable workflows beat cron jobs. #temporal', media: [image('a').url] });
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(result.url).toMatch(/^https:\/\/www\.instagram\.com\/p\//);
    expect(rec.state.progress).toEqual({ parts: [{ index: 0, id: result.externalId, url: result.url }] });
  });

  it('an expired container is dropped (TransientError) and the next attempt makes a new one', async () => {
    fake.containerDelay(1);
    fake.expireContainersAfter(DAY);
    const rec = recorder();
    expect(await failure(instagram().publish(input('instagram'), rec.ctx()))).toBeInstanceOf(NotReadyError);
    clock += DAY + HOUR;
    expect(await failure(instagram().publish(input('instagram'), rec.ctx()))).toBeInstanceOf(TransientError);
    expect(rec.state.progress?.container).toBeUndefined();
    fake.containerDelay(0);
    await instagram().publish(input('instagram'), rec.ctx());
    expect(fake.containers).toHaveLength(2);
    expect(fake.posts).toHaveLength(1);
    expect(fake.containers[1].publishedAs).toBe(fake.posts[0].id);
  });

  it('media_publish carried out but its answer lost: the retry with progress and reconcile returns that post', async () => {
    const rec = recorder();
    fake.acceptThenDrop(1);
    expect(await failure(instagram().publish(input('instagram'), rec.ctx()))).toBeInstanceOf(TransientError);
    expect(fake.posts).toHaveLength(1);
    const result = await instagram().publish(input('instagram'), { ...rec.ctx(), reconcile: true });
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(fake.posts).toHaveLength(1);
    expect(fake.containers).toHaveLength(1);
    expect(count('POST', /\/media_publish$/)).toBe(1);
  });

  it('with reconcile but no recorded container (progress lost), the post is found by its caption, not made again', async () => {
    fake.acceptThenDrop(1);
    expect(await failure(instagram().publish(input('instagram')))).toBeInstanceOf(TransientError);
    const result = await instagram().publish(input('instagram'), { reconcile: true });
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(fake.posts).toHaveLength(1);
    expect(fake.containers).toHaveLength(1);
  });

  it('the daily limit (code 9 / 2207042) is RateLimitedError until 24 h after the oldest post of the day', async () => {
    await instagram().publish(input('instagram'));
    clock += 2 * HOUR;
    fake.dailyLimitReached(true);
    const e = await failure(instagram().publish(input('instagram', { parts: ['Another post'] })));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).retryAfterMs).toBe(22 * HOUR);
    expect(fake.posts).toHaveLength(1);
  });

  it('an image URL that does not answer with an image fails the container: PermanentError', async () => {
    const bad = { ...image('x'), url: `${images.url}/not-an-image` };
    const e = await failure(instagram().publish(input('instagram', { images: [bad] })));
    expect(e).toBeInstanceOf(PermanentError);
    expect(fake.containers[0].imageProblem).toMatch(/not an image/);
    expect(fake.posts).toHaveLength(0);
  });

  it('several images become one carousel post made of item containers', async () => {
    await instagram().publish(input('instagram', { images: [image('a'), image('b')] }));
    expect(fake.containers.map((c) => [c.mediaType, c.isCarouselItem])).toEqual([
      ['IMAGE', true],
      ['IMAGE', true],
      ['CAROUSEL', false],
    ]);
    expect(fake.posts).toHaveLength(1);
    expect(fake.posts[0].media).toEqual([image('a').url, image('b').url]);
  });

  it('instagramQuotaUsage reads content_publishing_limit', async () => {
    await instagram().publish(input('instagram'));
    await expect(instagramQuotaUsage(input('instagram'), { graphBaseUrl: graph() })).resolves.toEqual({ used: 1, limit: 50 });
  });
});

describe('Threads', () => {
  it('a thread of 3 is published as 3 posts, each replying to the previous one', async () => {
    const rec = recorder();
    const result = await threads().publish(input('threads', { format: 'thread', parts: ['one', 'two', 'three'] }), rec.ctx());
    expect(fake.posts.map((p) => p.text)).toEqual(['one', 'two', 'three']);
    expect(fake.posts.map((p) => p.replyTo)).toEqual([null, fake.posts[0].id, fake.posts[1].id]);
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(result.url).toBe(`https://www.threads.net/@herald/post/${fake.posts[0].id}`);
    expect(rec.state.progress?.parts.map((p) => p.id)).toEqual(fake.posts.map((p) => p.id));
  });

  it('a failure after part 1 resumes at part 2 from the recorded progress, never re-posting part 1', async () => {
    const state: { progress?: PublishProgress } = {};
    let failed = false;
    const ctx = (): PublishContext => ({
      progress: state.progress,
      onProgress: (p) => {
        state.progress = p;
        if (!failed && p.parts.length === 1) {
          failed = true;
          fake.serverErrorNext(1);
        }
      },
    });
    const thread = input('threads', { format: 'thread', parts: ['one', 'two', 'three'] });
    expect(await failure(threads().publish(thread, ctx()))).toBeInstanceOf(TransientError);
    expect(fake.posts).toHaveLength(1);
    await threads().publish(thread, ctx());
    expect(fake.posts.map((p) => p.text)).toEqual(['one', 'two', 'three']);
    expect(fake.posts[1].replyTo).toBe(fake.posts[0].id);
  });

  it("part 2's publish carried out but its answer lost: the retry with reconcile goes on with part 3", async () => {
    const rec = recorder();
    const thread = input('threads', { format: 'thread', parts: ['one', 'two', 'three'] });
    const ctx = rec.ctx();
    const first = await failure(
      threads().publish(thread, {
        ...ctx,
        onProgress: (p) => {
          ctx.onProgress?.(p);
          if (p.parts.length === 1 && p.container) fake.acceptThenDrop(1); // part 2's container is recorded: drop its publish answer
        },
      }),
    );
    expect(first).toBeInstanceOf(TransientError);
    expect(fake.posts).toHaveLength(2);
    await threads().publish(thread, { ...rec.ctx(), reconcile: true });
    expect(fake.posts.map((p) => p.text)).toEqual(['one', 'two', 'three']);
    expect(fake.posts[2].replyTo).toBe(fake.posts[1].id);
    expect(count('POST', /\/threads_publish$/)).toBe(3);
  });

  it('with reconcile and no progress at all, published parts are found in order and only the rest is posted', async () => {
    const thread = input('threads', { format: 'thread', parts: ['one', 'two', 'three'] });
    let published = 0;
    const e = await failure(
      threads().publish(thread, {
        onProgress: (p) => {
          if (p.parts.length > published) {
            published = p.parts.length;
            if (published === 2) fake.serverErrorNext(1);
          }
        },
      }),
    );
    expect(e).toBeInstanceOf(TransientError);
    const result = await threads().publish(thread, { reconcile: true });
    expect(fake.posts.map((p) => p.text)).toEqual(['one', 'two', 'three']);
    expect(fake.posts[2].replyTo).toBe(fake.posts[1].id);
    expect(result.externalId).toBe(fake.posts[0].id);
  });

  it('an image post waits for its container: NotReadyError, then published once', async () => {
    fake.containerDelay(1);
    const rec = recorder();
    expect(await failure(threads().publish(input('threads', { images: [image('t')] }), rec.ctx()))).toBeInstanceOf(NotReadyError);
    await threads().publish(input('threads', { images: [image('t')] }), rec.ctx());
    expect(fake.containers).toHaveLength(1);
    expect(fake.posts).toHaveLength(1);
    expect(fake.posts[0].media).toEqual([image('t').url]);
  });
});

describe('errors', () => {
  it.each(['facebook', 'instagram', 'threads'] as const)('%s: an expired token (190) is AuthExpiredError, without the token', async (platform) => {
    fake.expireTokens();
    const pub = platform === 'facebook' ? facebook() : platform === 'instagram' ? instagram() : threads();
    const e = await failure(pub.publish(input(platform)));
    expect(e).toBeInstanceOf(AuthExpiredError);
    expect(e).not.toBeInstanceOf(ReauthRequiredError);
    expectNoSecret(e);
  });

  it('a revoked token (190 / 460) is ReauthRequiredError', async () => {
    fake.revoke();
    expect(await failure(facebook().publish(input('facebook')))).toBeInstanceOf(ReauthRequiredError);
  });

  it('a token Meta echoes back in its error never reaches the message', async () => {
    const secret = 'EAAGnotARealTokenButSecret0123456789abcdef';
    const e = await failure(facebook().publish(input('facebook', { credentials: { pageAccessToken: secret } })));
    expect(e).toBeInstanceOf(AuthExpiredError);
    expect(e.message).toContain('Malformed access token');
    expectNoSecret(e, secret);
  });

  it.each([
    [80001, 'RateLimited', 7 * 60_000],
    [32, 'RateLimited', 7 * 60_000],
    [4, 'RateLimited', 60_000],
    [613, 'RateLimited', 60_000],
    [368, 'RateLimited', HOUR],
  ] as const)('throttle code %d is %s after %d ms (usage headers when they estimate)', async (code, _kind, retryAfterMs) => {
    fake.rateLimitNext(code, 1, { regainMinutes: 7 });
    const e = await failure(facebook().publish(input('facebook')));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).retryAfterMs).toBe(retryAfterMs);
    expect(fake.posts).toHaveLength(0);
  });

  it('a 500 with is_transient (code 2) is TransientError', async () => {
    fake.serverErrorNext(1);
    expect(await failure(facebook().publish(input('facebook')))).toBeInstanceOf(TransientError);
  });

  it('X-App-Usage percentages are reported as the remaining share', async () => {
    fake.appUsage({ call_count: 40, total_time: 75, total_cputime: 10 });
    const rec = recorder();
    await facebook().publish(input('facebook'), rec.ctx());
    expect(rec.state.reports.length).toBeGreaterThan(0);
    expect(rec.state.reports[0].windows).toContainEqual({ kind: 'requests', limit: 100, remaining: 25 });
  });
});

describe('token refreshers', () => {
  it('Instagram: a token at least 24 h old is exchanged for a new one that lasts about 60 days', async () => {
    const old = fake.issueToken('instagram');
    const refresher = createInstagramTokenRefresher({ graphBaseUrl: fake.url, now });
    const { credentials, expiresAt } = await refresher.refresh({ accessToken: old, issuedAt: new Date(clock - 2 * DAY).toISOString() });
    expect(credentials.accessToken).not.toBe(old);
    expect(fake.tokenState(credentials.accessToken as string)).toBe('valid');
    expect(expiresAt).toBe(new Date(clock + 5_184_000_000).toISOString());
    expect(fake.requests.at(-1)).toMatchObject({ path: '/refresh_access_token', params: { grant_type: 'ig_refresh_token' } });
    // The new token publishes.
    await instagram().publish(input('instagram', { credentials }));
    expect(fake.posts).toHaveLength(1);
  });

  it('Instagram: a token younger than 24 h is kept without asking', async () => {
    const refresher = createInstagramTokenRefresher({ graphBaseUrl: fake.url, now });
    const creds = { accessToken: fake.token, issuedAt: new Date(clock - HOUR).toISOString(), expiresAt: '2026-04-30T00:00:00.000Z' };
    await expect(refresher.refresh(creds)).resolves.toEqual({ credentials: creds, expiresAt: '2026-04-30T00:00:00.000Z' });
    expect(fake.requests).toHaveLength(0);
  });

  it('Threads: th_refresh_token gives a new token', async () => {
    const refresher = createThreadsTokenRefresher({ apiBaseUrl: graph(), now });
    const { credentials, expiresAt } = await refresher.refresh({ accessToken: fake.token });
    expect(credentials.accessToken).toMatch(/^THAA/);
    expect(expiresAt).not.toBeNull();
    expect(fake.requests.at(-1)?.params).toMatchObject({ grant_type: 'th_refresh_token' });
  });

  it('Facebook: fb_exchange_token with the app id and secret gives a new long-lived token', async () => {
    const refresher = createFacebookTokenRefresher({ graphBaseUrl: graph(), appId: fake.appId, appSecret: fake.appSecret, now });
    const { credentials } = await refresher.refresh({ accessToken: fake.token });
    expect(credentials.accessToken).not.toBe(fake.token);
    expect(fake.tokenState(credentials.accessToken as string)).toBe('valid');
    expect(fake.requests.at(-1)).toMatchObject({ path: '/oauth/access_token', params: { grant_type: 'fb_exchange_token', client_id: fake.appId } });
  });

  it.each(['instagram', 'threads', 'facebook'] as const)('%s: a token Meta refuses (190) on refresh is ReauthRequiredError, without the token', async (platform) => {
    fake.expireTokens();
    const refresher =
      platform === 'instagram'
        ? createInstagramTokenRefresher({ graphBaseUrl: fake.url, now })
        : platform === 'threads'
          ? createThreadsTokenRefresher({ apiBaseUrl: graph(), now })
          : createFacebookTokenRefresher({ graphBaseUrl: graph(), appId: fake.appId, appSecret: fake.appSecret, now });
    const e = await failure(refresher.refresh({ accessToken: fake.token }));
    expect(e).toBeInstanceOf(ReauthRequiredError);
    expectNoSecret(e);
  });

  it('Facebook: a wrong app secret is PermanentError, without the secret', async () => {
    const refresher = createFacebookTokenRefresher({ graphBaseUrl: graph(), appId: fake.appId, appSecret: 'wrong-secret-abcdef', now });
    const e = await failure(refresher.refresh({ accessToken: fake.token }));
    expect(e).toBeInstanceOf(PermanentError);
    expectNoSecret(e, 'wrong-secret-abcdef');
  });
});
