// X, LinkedIn, Mastodon and Bluesky publishers against their imitation servers, over real HTTP: posts, threads,
// images, resuming from progress, exactly-once after an unknown outcome, typed errors, token refresh, and no secret
// in any error. Every failure checked here also proves that no token of the test appears in the error.
import {
  AuthExpiredError,
  DuplicateError,
  PermanentError,
  ProviderError,
  QuotaExhaustedError,
  RateLimitedError,
  ReauthRequiredError,
  TransientError,
} from '../../../../src/providers/errors';
import type { RateInfo } from '../../../../src/providers/rate-info';
import { createBlueskyPublisher } from '../../../../src/providers/publishers/bluesky';
import { createLinkedInPublisher } from '../../../../src/providers/publishers/linkedin';
import { createMastodonPublisher } from '../../../../src/providers/publishers/mastodon';
import { createBlueskyTokenRefresher, createLinkedInTokenRefresher, createXTokenRefresher, mastodonTokenRefresher } from '../../../../src/providers/publishers/refreshers';
import type { PublishContext, PublishInput, PublishProgress, Publisher } from '../../../../src/providers/publishers/types';
import { createXPublisher } from '../../../../src/providers/publishers/x';
import { startBlueskyFake, type BlueskyFake } from '../../../fakes/bluesky-server';
import { littleTextToPlain, startLinkedInFake, type LinkedInFake } from '../../../fakes/linkedin-server';
import { startMastodonFake, type MastodonFake } from '../../../fakes/mastodon-server';
import { startImageHost, type ImageHost } from '../../../fakes/social-fake-control';
import { startXFake, type XFake } from '../../../fakes/x-server';

let host: ImageHost;
/** Every secret of the running test: no error may contain one. */
let secrets: string[] = [];

beforeAll(async () => {
  host = await startImageHost();
});
afterAll(async () => {
  await host.close();
});

function image(name: string, alt = `Alt text for ${name}`): PublishInput['images'][number] {
  return { id: name, url: host.imageUrl(name), alt, contentType: 'image/png' };
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  const e = err as ProviderError;
  const text = `${e.message}\n${e.stack ?? ''}\n${JSON.stringify({ ...e })}`;
  for (const s of secrets) expect(text).not.toContain(s);
  return e;
}

/** A context that records every progress announcement and rate report. */
function recorder(extra: PublishContext = {}): PublishContext & { announced: PublishProgress[]; reports: RateInfo[] } {
  const announced: PublishProgress[] = [];
  const reports: RateInfo[] = [];
  return {
    ...extra,
    announced,
    reports,
    onProgress: (p) => {
      announced.push(p);
      extra.onProgress?.(p);
    },
    report: (r) => reports.push(r),
  };
}

/** Publishes a 3-part thread and kills the attempt (abort) right after part 2 was accepted; returns its progress. */
async function publishTwoOfThree(publisher: Publisher, input: PublishInput): Promise<PublishProgress> {
  const controller = new AbortController();
  let last: PublishProgress | undefined;
  const ctx: PublishContext = {
    signal: controller.signal,
    onProgress: (p) => {
      last = p;
      if (p.parts.length === 2) controller.abort(new Error('worker killed'));
    },
  };
  await expect(publisher.publish(input, ctx)).rejects.toThrow('worker killed');
  expect(last?.parts.map((p) => p.index)).toEqual([0, 1]);
  return last as PublishProgress;
}

const THREAD = ['First: durable workflows.', 'Second: retries are free.', 'Third: exactly once, always.'];

// =============================================================================================
describe('X', () => {
  let fake: XFake;
  let tokens: { accessToken: string; refreshToken: string };
  let x: Publisher;

  beforeEach(async () => {
    fake = await startXFake({ clientSecret: 'x-client-secret-123' });
    tokens = fake.issueTokens();
    secrets = [tokens.accessToken, tokens.refreshToken, 'x-client-secret-123'];
    x = createXPublisher({ apiBaseUrl: fake.url, timeoutMs: 2_000 });
  });
  afterEach(async () => {
    await fake.close();
  });

  function input(over: Partial<PublishInput> = {}): PublishInput {
    return {
      platform: 'x',
      format: 'post',
      parts: ['Durable workflows beat cron jobs.'],
      title: 'Durable workflows',
      images: [],
      idempotencyKey: 'pub-x-1',
      credentials: { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken },
      account: { id: 'acc-x', handle: 'herald_test', settings: { userId: fake.user.id } },
      ...over,
    };
  }

  it('publishes a text post exactly once and reports the rate headers', async () => {
    const ctx = recorder();
    const result = await x.publish(input(), ctx);
    expect(fake.posts).toHaveLength(1);
    expect(result).toEqual({ externalId: fake.posts[0].id, url: `https://x.com/herald_test/status/${fake.posts[0].id}` });
    expect(fake.requests[0].headers.authorization).toBe(`Bearer ${tokens.accessToken}`);
    expect(ctx.announced).toEqual([{ parts: [{ index: 0, id: fake.posts[0].id, url: result.url }] }]);
    const window = ctx.reports[0].windows[0];
    expect(window).toMatchObject({ kind: 'requests', limit: 200, remaining: 199 });
    expect(window.resetAt).toBeGreaterThan(Date.now());
  });

  it('chains a thread of 3: each post replies to the previous one', async () => {
    const ctx = recorder();
    const result = await x.publish(input({ format: 'thread', parts: THREAD }), ctx);
    expect(fake.posts.map((p) => p.text)).toEqual(THREAD);
    expect(fake.posts[0].replyTo).toBeNull();
    expect(fake.posts[1].replyTo).toBe(fake.posts[0].id);
    expect(fake.posts[2].replyTo).toBe(fake.posts[1].id);
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(ctx.announced.map((p) => p.parts.length)).toEqual([1, 2, 3]);
  });

  it('uploads 2 images with alt text, then attaches both to the first post', async () => {
    const ctx = recorder();
    await x.publish(input({ images: [image('one'), image('two')] }), ctx);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /2/media/upload',
      'POST /2/media/metadata',
      'POST /2/media/upload',
      'POST /2/media/metadata',
      'POST /2/tweets',
    ]);
    const ids = [...fake.media.keys()];
    expect(ids).toHaveLength(2);
    expect(fake.posts[0].media).toEqual(ids);
    expect([...fake.media.values()].map((m) => [m.category, m.type, m.alt])).toEqual([
      ['tweet_image', 'image/png', 'Alt text for one'],
      ['tweet_image', 'image/png', 'Alt text for two'],
    ]);
    expect(ctx.announced[0].media).toEqual({ one: ids[0] });
    expect(ctx.announced[ctx.announced.length - 1].media).toEqual({ one: ids[0], two: ids[1] });
  });

  it('resumes a thread from progress: only part 3 is posted, replying to part 2', async () => {
    const progress = await publishTwoOfThree(x, input({ format: 'thread', parts: THREAD }));
    expect(fake.posts).toHaveLength(2);
    const result = await x.publish(input({ format: 'thread', parts: THREAD }), { progress });
    expect(fake.posts).toHaveLength(3);
    expect(fake.posts[2]).toMatchObject({ text: THREAD[2], replyTo: fake.posts[1].id });
    expect(result.externalId).toBe(fake.posts[0].id);
  });

  it('after a dropped connection, a reconciling retry finds the post among recent posts, with X refusing nothing: still one post', async () => {
    fake.detectDuplicates(false); // X's own 403 would hide a missing reconciliation
    fake.acceptThenDrop();
    const dropped = await failure(x.publish(input()));
    expect(dropped).toBeInstanceOf(TransientError);
    expect(fake.posts).toHaveLength(1);

    const result = await x.publish(input(), { reconcile: true });
    expect(fake.posts).toHaveLength(1);
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(fake.requests.some((r) => r.method === 'GET' && r.path === `/2/users/${fake.user.id}/tweets`)).toBe(true);
    expect(fake.requests.filter((r) => r.method === 'POST' && r.path === '/2/tweets')).toHaveLength(1);
  });

  it('a thread whose part 2 was stored but not answered: the reconciling retry finds parts 1 and 2 and posts only part 3', async () => {
    fake.detectDuplicates(false);
    let seen = 0;
    const first = x.publish(input({ format: 'thread', parts: THREAD }), {
      onProgress: (p) => {
        // Part 1 is answered; the next post (part 2) is stored and its answer lost.
        if (p.parts.length === 1 && seen++ === 0) fake.acceptThenDrop();
      },
    });
    expect(await failure(first)).toBeInstanceOf(TransientError);
    expect(fake.posts.map((p) => p.text)).toEqual(THREAD.slice(0, 2));

    const result = await x.publish(input({ format: 'thread', parts: THREAD }), { reconcile: true });
    expect(fake.posts.map((p) => p.text)).toEqual(THREAD);
    expect(fake.posts[2].replyTo).toBe(fake.posts[1].id);
    expect(result.externalId).toBe(fake.posts[0].id);
  });

  it('without reconcile nor progress, the duplicate answer is what stops a second post (X refusal on)', async () => {
    fake.acceptThenDrop();
    expect(await failure(x.publish(input()))).toBeInstanceOf(TransientError);
    const e = await failure(x.publish(input()));
    expect(e).toBeInstanceOf(DuplicateError);
    expect(fake.posts).toHaveLength(1);
  });

  it('finds the account through /2/users/me when the settings carry no user id', async () => {
    fake.detectDuplicates(false);
    fake.acceptThenDrop();
    await failure(x.publish(input({ account: { id: 'acc-x', handle: 'herald_test', settings: {} } })));
    const result = await x.publish(input({ account: { id: 'acc-x', handle: 'herald_test', settings: {} } }), { reconcile: true });
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(fake.posts).toHaveLength(1);
    expect(fake.requests.some((r) => r.path === '/2/users/me')).toBe(true);
  });

  it('a duplicate on a first attempt is a DuplicateError naming the existing post', async () => {
    await x.publish(input());
    const e = await failure(x.publish(input({ idempotencyKey: 'pub-x-2' })));
    expect(e).toBeInstanceOf(DuplicateError);
    expect((e as DuplicateError).existingId).toBe(fake.posts[0].id);
    expect(fake.posts).toHaveLength(1);
  });

  it('429 -> RateLimitedError waiting until x-rate-limit-reset', async () => {
    fake.rateLimitNext(1, 30);
    const e = await failure(x.publish(input()));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(29_000);
    expect((e as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(31_000);
    expect(fake.posts).toHaveLength(0);
  });

  it('an enforced window refuses the post beyond it with a 429', async () => {
    fake.enforceRateLimit(1, 60_000);
    await x.publish(input());
    const e = await failure(x.publish(input({ parts: ['another text'] })));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).retryAfterMs).toBeGreaterThan(50_000);
    expect(fake.posts).toHaveLength(1);
  });

  it('429 usage-capped -> QuotaExhaustedError (terminal)', async () => {
    fake.usageCappedNext();
    expect(await failure(x.publish(input()))).toBeInstanceOf(QuotaExhaustedError);
  });

  it('an expired token -> AuthExpiredError; after a refresh the post goes out', async () => {
    fake.expireTokens();
    expect(await failure(x.publish(input()))).toBeInstanceOf(AuthExpiredError);
    const refresher = createXTokenRefresher({ apiBaseUrl: fake.url, clientId: fake.clientId, clientSecret: 'x-client-secret-123' });
    const { credentials } = await refresher.refresh({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken });
    secrets.push(credentials.accessToken as string, credentials.refreshToken as string);
    await x.publish(input({ credentials }));
    expect(fake.posts).toHaveLength(1);
  });

  it('the refresher rotates tokens; a reused refresh token -> ReauthRequiredError', async () => {
    const refresher = createXTokenRefresher({ apiBaseUrl: fake.url, clientId: fake.clientId, clientSecret: 'x-client-secret-123' });
    const before = Date.now();
    const first = await refresher.refresh({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, userId: fake.user.id });
    expect(first.credentials.accessToken).not.toBe(tokens.accessToken);
    expect(first.credentials.refreshToken).not.toBe(tokens.refreshToken);
    expect(first.credentials.userId).toBe(fake.user.id);
    const expiresAt = Date.parse(first.expiresAt as string);
    expect(expiresAt - before).toBeGreaterThanOrEqual(7_199_000);
    expect(expiresAt - before).toBeLessThanOrEqual(7_205_000);
    const form = fake.requests[0].body as Record<string, string>;
    expect(form).toEqual({ grant_type: 'refresh_token', refresh_token: tokens.refreshToken, client_id: fake.clientId });

    const reused = await failure(refresher.refresh({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }));
    expect(reused).toBeInstanceOf(ReauthRequiredError);
    expect(reused.message).toBe('x: refresh token already used or revoked; reconnect the account');
    // The rotated one works once too.
    const second = await refresher.refresh(first.credentials);
    expect(second.credentials.refreshToken).not.toBe(first.credentials.refreshToken);
  });

  it('5xx, a timeout and a missing image -> TransientError / TransientError / PermanentError', async () => {
    fake.serverErrorNext();
    expect(await failure(x.publish(input()))).toBeInstanceOf(TransientError);
    fake.slow(1_000);
    const slow = createXPublisher({ apiBaseUrl: fake.url, timeoutMs: 200 });
    const timedOut = await failure(slow.publish(input()));
    expect(timedOut).toBeInstanceOf(TransientError);
    expect(timedOut.message).toMatch(/timeout/);
    fake.slow(0);
    const missing = await failure(x.publish(input({ images: [{ ...image('gone'), url: `${host.url}/nothing-here` }] })));
    expect(missing).toBeInstanceOf(PermanentError);
  });
});

// =============================================================================================
describe('LinkedIn', () => {
  let fake: LinkedInFake;
  let tokens: { accessToken: string; refreshToken: string };
  let li: Publisher;

  beforeEach(async () => {
    fake = await startLinkedInFake();
    tokens = fake.issueTokens();
    secrets = [tokens.accessToken, tokens.refreshToken, fake.clientSecret];
    li = createLinkedInPublisher({ apiBaseUrl: fake.url, timeoutMs: 2_000 });
  });
  afterEach(async () => {
    await fake.close();
  });

  function input(over: Partial<PublishInput> = {}): PublishInput {
    return {
      platform: 'linkedin',
      format: 'post',
      parts: ['Durable workflows beat cron jobs.'],
      title: 'Durable workflows',
      images: [],
      idempotencyKey: 'pub-li-1',
      credentials: { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken },
      account: { id: 'acc-li', handle: 'Herald Test', settings: { authorUrn: fake.member.urn } },
      ...over,
    };
  }

  it('publishes once; the id comes from x-restli-id', async () => {
    const ctx = recorder();
    const result = await li.publish(input(), ctx);
    expect(fake.posts).toHaveLength(1);
    const urn = fake.posts[0].id;
    expect(urn).toMatch(/^urn:li:share:\d+$/);
    expect(result).toEqual({ externalId: urn, url: `https://www.linkedin.com/feed/update/${urn}` });
    const req = fake.requests[0];
    expect(req.headers['linkedin-version']).toBe('202511');
    expect(req.headers['x-restli-protocol-version']).toBe('2.0.0');
    expect(ctx.announced).toEqual([{ parts: [{ index: 0, id: urn, url: result.url }] }]);
  });

  it('a thread becomes one post', async () => {
    await li.publish(input({ format: 'thread', parts: THREAD }));
    expect(fake.posts).toHaveLength(1);
    expect(littleTextToPlain(fake.posts[0].text)).toBe(THREAD.join('\n\n'));
  });

  it('little-text characters reach LinkedIn escaped, so the whole text is shown', async () => {
    const text = 'Ship it (today) #durable @team [v2] {json} <tag> *bold* _it_ ~x~ a|b back\\slash.';
    await li.publish(input({ parts: [text] }));
    const commentary = fake.posts[0].text;
    expect(commentary).not.toBe(text);
    expect(littleTextToPlain(commentary)).toBe(text);
    // Unescaped, LinkedIn would have cut it at the first "(".
    expect(littleTextToPlain(text)).toBe('Ship it ');
  });

  it('registers, uploads and references 2 images', async () => {
    const ctx = recorder();
    await li.publish(input({ images: [image('one'), image('two', 'Second')] }), ctx);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /rest/images',
      'PUT /dms-uploads/sp/fake-1/uploaded-image/0',
      'POST /rest/images',
      'PUT /dms-uploads/sp/fake-2/uploaded-image/0',
      'POST /rest/posts',
    ]);
    const urns = [...fake.images.keys()];
    expect([...fake.images.values()].every((i) => i.uploaded && i.size > 0)).toBe(true);
    expect(fake.posts[0].media).toEqual(urns);
    expect(fake.postBodies.get(fake.posts[0].id)?.content).toEqual({
      multiImage: { images: [{ id: urns[0], altText: 'Alt text for one' }, { id: urns[1], altText: 'Second' }] },
    });
    expect(ctx.announced.map((p) => Object.keys(p.media ?? {}))).toEqual([['one'], ['one', 'two'], ['one', 'two']]);
  });

  it('resumes with uploaded images from progress: no image is uploaded again', async () => {
    const controller = new AbortController();
    let progress: PublishProgress | undefined;
    await expect(
      li.publish(input({ images: [image('one'), image('two')] }), {
        signal: controller.signal,
        onProgress: (p) => {
          progress = p;
          if (Object.keys(p.media ?? {}).length === 2) controller.abort(new Error('worker killed'));
        },
      }),
    ).rejects.toThrow('worker killed');
    const before = fake.requests.length;
    await li.publish(input({ images: [image('one'), image('two')] }), { progress });
    expect(fake.requests.slice(before).map((r) => r.path)).toEqual(['/rest/posts']);
    expect(fake.posts).toHaveLength(1);
  });

  it('after a dropped connection, a reconciling retry finds the post by author, with LinkedIn refusing nothing: still one post', async () => {
    fake.detectDuplicates(false); // LinkedIn's own 422 would hide a missing reconciliation
    fake.acceptThenDrop();
    expect(await failure(li.publish(input()))).toBeInstanceOf(TransientError);
    expect(fake.posts).toHaveLength(1);
    const result = await li.publish(input(), { reconcile: true });
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(fake.posts).toHaveLength(1);
    const finder = fake.requests.filter((r) => r.method === 'GET' && r.path === '/rest/posts');
    expect(finder).toHaveLength(1);
    expect(finder[0].query.get('q')).toBe('author');
    expect(finder[0].query.get('author')).toBe(fake.member.urn);
  });

  it('a reconciling retry of a post that never got out posts it once', async () => {
    fake.detectDuplicates(false);
    fake.serverErrorNext();
    expect(await failure(li.publish(input()))).toBeInstanceOf(TransientError);
    expect(fake.posts).toHaveLength(0);
    await li.publish(input(), { reconcile: true });
    expect(fake.posts).toHaveLength(1);
  });

  it('without reconcile, the retry takes the URN from the 422 duplicate answer (LinkedIn refusal on): still one post', async () => {
    fake.acceptThenDrop();
    expect(await failure(li.publish(input()))).toBeInstanceOf(TransientError);
    const result = await li.publish(input());
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(fake.posts).toHaveLength(1);
  });

  it('finds the author through /v2/userinfo when the settings name none', async () => {
    await li.publish(input({ account: { id: 'acc-li', handle: 'Herald Test', settings: {} } }));
    expect(fake.requests[0].path).toBe('/v2/userinfo');
    expect(fake.posts).toHaveLength(1);
  });

  it('429 without headers -> RateLimitedError after the configured 60 s', async () => {
    fake.rateLimitNext(1, 5);
    const e = await failure(li.publish(input()));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).retryAfterMs).toBe(60_000);
  });

  it('expired token (65600) -> AuthExpiredError; revoked (65601) -> ReauthRequiredError', async () => {
    fake.expireTokens();
    expect(await failure(li.publish(input()))).toBeInstanceOf(AuthExpiredError);
    const fresh = fake.issueTokens();
    secrets.push(fresh.accessToken, fresh.refreshToken);
    fake.revoke();
    expect(await failure(li.publish(input({ credentials: { accessToken: fresh.accessToken } })))).toBeInstanceOf(ReauthRequiredError);
  });

  it('the refresher gets a new access token; a dead refresh token -> ReauthRequiredError (invalid_grant)', async () => {
    const refresher = createLinkedInTokenRefresher({ oauthBaseUrl: fake.url, clientId: fake.clientId, clientSecret: fake.clientSecret });
    const { credentials, expiresAt } = await refresher.refresh({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken });
    secrets.push(credentials.accessToken as string);
    expect(credentials.accessToken).not.toBe(tokens.accessToken);
    expect(credentials.refreshToken).toBe(tokens.refreshToken);
    expect(Date.parse(expiresAt as string)).toBeGreaterThan(Date.now() + 59 * 24 * 3600_000);
    await li.publish(input({ credentials }));
    expect(fake.posts).toHaveLength(1);

    fake.expireRefreshTokens();
    const dead = await failure(refresher.refresh(credentials));
    expect(dead).toBeInstanceOf(ReauthRequiredError);
    expect(dead.message).toMatch(/invalid_grant/);
  });

  it('5xx -> TransientError', async () => {
    fake.serverErrorNext();
    expect(await failure(li.publish(input()))).toBeInstanceOf(TransientError);
  });
});

// =============================================================================================
describe('Mastodon', () => {
  let fake: MastodonFake;
  let token: string;
  let masto: Publisher;

  beforeEach(async () => {
    fake = await startMastodonFake();
    token = fake.issueTokens().accessToken;
    secrets = [token];
    masto = createMastodonPublisher({ timeoutMs: 2_000, mediaPollIntervalMs: 10 });
  });
  afterEach(async () => {
    await fake.close();
  });

  function input(over: Partial<PublishInput> = {}): PublishInput {
    return {
      platform: 'mastodon',
      format: 'post',
      parts: ['Durable workflows beat cron jobs.'],
      title: 'Durable workflows',
      images: [],
      idempotencyKey: 'pub-masto-1',
      credentials: { accessToken: token },
      account: { id: 'acc-m', handle: 'herald', settings: { instanceUrl: fake.url } },
      ...over,
    };
  }

  it('publishes once with a per-part Idempotency-Key and returns the status url', async () => {
    const ctx = recorder();
    const result = await masto.publish(input(), ctx);
    expect(fake.posts).toHaveLength(1);
    expect(result).toEqual({ externalId: fake.posts[0].id, url: `${fake.url}/@herald/${fake.posts[0].id}` });
    expect(fake.requests[0].headers['idempotency-key']).toBe('pub-masto-1:1');
    expect(fake.requests[0].body).toEqual({ status: 'Durable workflows beat cron jobs.', visibility: 'public' });
    expect(ctx.reports[0].windows[0]).toMatchObject({ kind: 'requests', limit: 300, remaining: 299 });
  });

  it('chains a thread of 3 with in_reply_to_id', async () => {
    await masto.publish(input({ format: 'thread', parts: THREAD }));
    expect(fake.posts.map((p) => p.replyTo)).toEqual([null, fake.posts[0].id, fake.posts[1].id]);
    expect(fake.requests.map((r) => r.headers['idempotency-key'])).toEqual(['pub-masto-1:1', 'pub-masto-1:2', 'pub-masto-1:3']);
  });

  it('uploads 2 images (waiting for processing) and attaches them', async () => {
    fake.processMediaSlowly(2);
    await masto.publish(input({ images: [image('one'), image('two')] }));
    const ids = [...fake.media.keys()];
    expect(ids).toHaveLength(2);
    expect(fake.posts[0].media).toEqual(ids);
    expect([...fake.media.values()].map((m) => m.description)).toEqual(['Alt text for one', 'Alt text for two']);
    expect(fake.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/v1/media/'))).toHaveLength(6);
  });

  it('resumes a thread from progress: only part 3 is posted', async () => {
    const progress = await publishTwoOfThree(masto, input({ format: 'thread', parts: THREAD }));
    await masto.publish(input({ format: 'thread', parts: THREAD }), { progress });
    expect(fake.posts).toHaveLength(3);
    expect(fake.posts[2]).toMatchObject({ text: THREAD[2], replyTo: fake.posts[1].id });
  });

  it('after a dropped connection, the retry without reconcile gets the original status back by Idempotency-Key: still one post', async () => {
    fake.acceptThenDrop();
    expect(await failure(masto.publish(input()))).toBeInstanceOf(TransientError);
    const result = await masto.publish(input());
    expect(fake.posts).toHaveLength(1);
    expect(result.externalId).toBe(fake.posts[0].id);
  });

  it('with the Idempotency-Key forgotten by the server, a reconciling retry finds the status among the latest: still one post', async () => {
    fake.detectDuplicates(false);
    const text = 'Line one & <two>\n"quoted" it\'s\n\nSecond paragraph.';
    fake.acceptThenDrop();
    expect(await failure(masto.publish(input({ parts: [text] })))).toBeInstanceOf(TransientError);
    const result = await masto.publish(input({ parts: [text] }), { reconcile: true });
    expect(fake.posts).toHaveLength(1);
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(fake.requests.filter((r) => r.method === 'GET' && r.path === `/api/v1/accounts/${fake.account.id}/statuses`)).toHaveLength(1);
  });

  it('a reconciling retry on a busy account reads older pages: the lost status is 45 posts back, still one post', async () => {
    fake.detectDuplicates(false);
    const text = 'The post whose answer was lost.';
    fake.acceptThenDrop();
    expect(await failure(masto.publish(input({ parts: [text] })))).toBeInstanceOf(TransientError);
    // Other publications of the same account land meanwhile: more than one page of statuses (40) on top of it.
    for (let i = 0; i < 45; i++) await masto.publish(input({ parts: [`Another post ${i}`], idempotencyKey: `other-${i}` }));
    expect(fake.posts).toHaveLength(46);
    const result = await masto.publish(input({ parts: [text] }), { reconcile: true });
    expect(fake.posts.filter((p) => p.text === text)).toHaveLength(1);
    expect(result.externalId).toBe(fake.posts[0].id);
    const lookups = fake.requests.filter((r) => r.method === 'GET' && r.path === `/api/v1/accounts/${fake.account.id}/statuses`);
    expect(lookups).toHaveLength(2);
    expect(lookups[0].query.get('max_id')).toBeNull();
    expect(lookups[1].query.get('max_id')).toBe(fake.posts[6].id);
  });

  it('a reconciling thread retry finds part 1 and posts parts 2 and 3 replying in order', async () => {
    fake.detectDuplicates(false);
    fake.acceptThenDrop();
    expect(await failure(masto.publish(input({ format: 'thread', parts: THREAD })))).toBeInstanceOf(TransientError);
    await masto.publish(input({ format: 'thread', parts: THREAD }), { reconcile: true });
    expect(fake.posts.map((p) => p.text)).toEqual(THREAD);
    expect(fake.posts.map((p) => p.replyTo)).toEqual([null, fake.posts[0].id, fake.posts[1].id]);
  });

  it('429 -> RateLimitedError until X-RateLimit-Reset (ISO 8601)', async () => {
    fake.rateLimitNext(1, 120);
    const e = await failure(masto.publish(input()));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).retryAfterMs).toBeGreaterThan(118_000);
    expect((e as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(120_000);
  });

  it('422 over the character limit -> PermanentError with Mastodon\'s message', async () => {
    const e = await failure(masto.publish(input({ parts: ['x'.repeat(501)] })));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.message).toContain('Validation failed: Text character limit of 500 exceeded');
  });

  it('a refused token -> ReauthRequiredError (Mastodon tokens do not expire; there is no refresher)', async () => {
    fake.expireTokens();
    expect(await failure(masto.publish(input()))).toBeInstanceOf(ReauthRequiredError);
    expect(mastodonTokenRefresher).toBeNull();
  });
});

// =============================================================================================
describe('Bluesky', () => {
  let fake: BlueskyFake;
  let session: { accessJwt: string; refreshJwt: string };
  let bsky: Publisher;

  beforeEach(async () => {
    fake = await startBlueskyFake();
    session = fake.issueTokens();
    secrets = [session.accessJwt, session.refreshJwt, fake.account.appPassword];
    bsky = createBlueskyPublisher({ serviceUrl: fake.url, timeoutMs: 2_000 });
  });
  afterEach(async () => {
    await fake.close();
  });

  function input(over: Partial<PublishInput> = {}): PublishInput {
    return {
      platform: 'bluesky',
      format: 'post',
      parts: ['Durable workflows beat cron jobs. https://example.com/durable #temporal'],
      title: 'Durable workflows',
      images: [],
      idempotencyKey: 'pub-bsky-1',
      credentials: { accessJwt: session.accessJwt, refreshJwt: session.refreshJwt, identifier: fake.account.handle, appPassword: fake.account.appPassword },
      account: { id: 'acc-b', handle: fake.account.handle, settings: { did: fake.account.did } },
      ...over,
    };
  }

  /** The record keys sent with createRecord, in order. */
  const sentRecordKeys = (): string[] =>
    fake.requests.filter((r) => r.path === '/xrpc/com.atproto.repo.createRecord').map((r) => String((r.body as { rkey?: unknown }).rkey));
  const rkeyOf = (uri: string): string => uri.slice(uri.lastIndexOf('/') + 1);

  it('publishes once under a record key derived from the idempotency key, with facets', async () => {
    const ctx = recorder();
    const result = await bsky.publish(input(), ctx);
    expect(fake.posts).toHaveLength(1);
    // The record key Herald chose: a valid TID (13 characters of base32-sortable, the first below 'k', per the
    // AT Protocol spec), the same on every attempt of this publication and another for another publication.
    const rkey = sentRecordKeys()[0];
    expect(rkey).toMatch(/^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$/);
    expect(fake.posts[0].id).toBe(`at://${fake.account.did}/app.bsky.feed.post/${rkey}`);
    await bsky.publish(input());
    await bsky.publish(input({ idempotencyKey: 'pub-bsky-2' }));
    expect(sentRecordKeys()).toEqual([rkey, rkey, expect.not.stringMatching(rkey)]);
    expect(fake.posts).toHaveLength(2);
    expect(result).toEqual({ externalId: fake.posts[0].id, url: `https://bsky.app/profile/herald.test/post/${rkey}` });
    const facets = fake.records.get(rkey)?.value.facets as { features: { $type: string }[] }[];
    expect(facets.map((f) => f.features[0].$type)).toEqual(['app.bsky.richtext.facet#link', 'app.bsky.richtext.facet#tag']);
    expect(ctx.announced[0].parts[0].extra).toEqual({ uri: fake.posts[0].id, cid: fake.records.get(rkey)?.cid });
    expect(ctx.reports[0].windows[0]).toMatchObject({ kind: 'requests', limit: 5000 });
  });

  it('logs in with the app password when no session token is stored', async () => {
    await bsky.publish(input({ credentials: { identifier: fake.account.handle, appPassword: fake.account.appPassword } }));
    expect(fake.requests[0].path).toBe('/xrpc/com.atproto.server.createSession');
    expect(fake.posts).toHaveLength(1);
  });

  it('chains a thread of 3: reply root is post 1, parent the previous post (uri + cid)', async () => {
    await bsky.publish(input({ format: 'thread', parts: THREAD }));
    expect(fake.posts).toHaveLength(3);
    const rec = (i: number) => fake.records.get(rkeyOf(fake.posts[i].id))!;
    expect(rec(1).value.reply).toEqual({ root: { uri: rec(0).uri, cid: rec(0).cid }, parent: { uri: rec(0).uri, cid: rec(0).cid } });
    expect(rec(2).value.reply).toEqual({ root: { uri: rec(0).uri, cid: rec(0).cid }, parent: { uri: rec(1).uri, cid: rec(1).cid } });
  });

  it('uploads 2 images as blobs and embeds them in the first post', async () => {
    await bsky.publish(input({ images: [image('one'), image('two')] }));
    const cids = [...fake.blobs.keys()];
    expect(cids).toHaveLength(2);
    expect(fake.posts[0].media).toEqual(cids);
    const embed = fake.records.get(rkeyOf(fake.posts[0].id))?.value.embed as { $type: string; images: { alt: string; image: { ref: { $link: string } } }[] };
    expect(embed.$type).toBe('app.bsky.embed.images');
    expect(embed.images.map((i) => [i.alt, i.image.ref.$link])).toEqual([
      ['Alt text for one', cids[0]],
      ['Alt text for two', cids[1]],
    ]);
  });

  it('resumes a thread from progress: only part 3 is posted, replying in the same thread', async () => {
    const progress = await publishTwoOfThree(bsky, input({ format: 'thread', parts: THREAD }));
    const before = fake.requests.length;
    await bsky.publish(input({ format: 'thread', parts: THREAD }), { progress });
    expect(fake.posts).toHaveLength(3);
    expect(fake.requests.slice(before).map((r) => r.path)).toEqual(['/xrpc/com.atproto.repo.createRecord']);
    expect(fake.posts[2].replyTo).toBe(fake.posts[1].id);
  });

  it('after a dropped connection, a reconciling retry finds the record by its key: still one post', async () => {
    fake.acceptThenDrop();
    expect(await failure(bsky.publish(input()))).toBeInstanceOf(TransientError);
    const result = await bsky.publish(input(), { reconcile: true });
    expect(fake.posts).toHaveLength(1);
    expect(result.externalId).toBe(fake.posts[0].id);
    expect(fake.requests.some((r) => r.path === '/xrpc/com.atproto.repo.getRecord')).toBe(true);
  });

  it('even a retry that does not reconcile cannot post twice: the taken record key gives the post back', async () => {
    fake.acceptThenDrop();
    await failure(bsky.publish(input()));
    const result = await bsky.publish(input());
    expect(fake.posts).toHaveLength(1);
    expect(result.externalId).toBe(fake.posts[0].id);
  });

  it('without derived record keys, reconciling matches text and createdAt among the latest records', async () => {
    const plain = createBlueskyPublisher({ serviceUrl: fake.url, timeoutMs: 2_000, deterministicRecordKeys: false });
    fake.acceptThenDrop();
    await failure(plain.publish(input()));
    const result = await plain.publish(input(), { reconcile: true });
    expect(fake.posts).toHaveLength(1);
    expect(result.externalId).toBe(fake.posts[0].id);
    const list = fake.requests.find((r) => r.path === '/xrpc/com.atproto.repo.listRecords');
    expect(list?.query.get('limit')).toBe('20');
    expect(list?.query.get('collection')).toBe('app.bsky.feed.post');
  });

  it('429 -> RateLimitedError until ratelimit-reset (epoch seconds)', async () => {
    fake.rateLimitNext(1, 300);
    const e = await failure(bsky.publish(input()));
    expect(e).toBeInstanceOf(RateLimitedError);
    expect((e as RateLimitedError).retryAfterMs).toBeGreaterThanOrEqual(299_000);
    expect((e as RateLimitedError).retryAfterMs).toBeLessThanOrEqual(301_000);
  });

  it('an expired token answers 400 ExpiredToken -> AuthExpiredError', async () => {
    fake.expireTokens();
    const e = await failure(bsky.publish(input()));
    expect(e).toBeInstanceOf(AuthExpiredError);
    expect(e.status).toBe(400);
  });

  it('the refresher rotates the session; a used refresh token falls back to the app password, else ReauthRequiredError', async () => {
    const refresher = createBlueskyTokenRefresher({ serviceUrl: fake.url });
    const creds = input().credentials as Record<string, unknown>;
    const first = await refresher.refresh(creds);
    secrets.push(first.credentials.accessJwt as string, first.credentials.refreshJwt as string);
    expect(first.credentials.refreshJwt).not.toBe(session.refreshJwt);
    expect(first.credentials.did).toBe(fake.account.did);
    expect(Date.parse(first.expiresAt as string)).toBeGreaterThan(Date.now() + 3_500_000);
    expect(fake.requests[0].headers.authorization).toBe(`Bearer ${session.refreshJwt}`);

    // The old refresh token is spent: the refresher logs in again with the app password.
    const again = await refresher.refresh(creds);
    secrets.push(again.credentials.accessJwt as string, again.credentials.refreshJwt as string);
    expect(fake.requests.map((r) => r.path).slice(-2)).toEqual(['/xrpc/com.atproto.server.refreshSession', '/xrpc/com.atproto.server.createSession']);
    await bsky.publish(input({ credentials: again.credentials }));
    expect(fake.posts).toHaveLength(1);

    const noPassword = await failure(refresher.refresh({ refreshJwt: session.refreshJwt }));
    expect(noPassword).toBeInstanceOf(ReauthRequiredError);
    fake.revoke();
    expect(await failure(refresher.refresh(again.credentials))).toBeInstanceOf(ReauthRequiredError);
  });
});

// =============================================================================================
describe('no token in any error message', () => {
  it('even when the platform echoes the token back in its error body', async () => {
    const xf = await startXFake();
    const lf = await startLinkedInFake();
    const mf = await startMastodonFake();
    const bf = await startBlueskyFake();
    try {
      const xt = xf.issueTokens();
      const lt = lf.issueTokens();
      const mt = mf.issueTokens();
      const bt = bf.issueTokens();
      secrets = [xt.accessToken, xt.refreshToken, lt.accessToken, lt.refreshToken, mt.accessToken, bt.accessJwt, bt.refreshJwt, bf.account.appPassword];
      const base = { format: 'post' as const, parts: ['hello'], title: 't', images: [], idempotencyKey: 'k' };
      const cases: [Publisher, PublishInput, (s: string) => void][] = [
        [createXPublisher({ apiBaseUrl: xf.url }), { ...base, platform: 'x', credentials: { ...xt } }, (s) => xf.respondNext({ status: 400, body: { detail: `bad token ${s}`, title: `Bearer ${s}` } })],
        [
          createLinkedInPublisher({ apiBaseUrl: lf.url }),
          { ...base, platform: 'linkedin', credentials: { ...lt }, account: { id: 'a', handle: 'h', settings: { authorUrn: lf.member.urn } } },
          (s) => lf.respondNext({ status: 401, body: { serviceErrorCode: 65600, message: `Invalid access token ${s}`, status: 401 } }),
        ],
        [
          createMastodonPublisher(),
          { ...base, platform: 'mastodon', credentials: { ...mt }, account: { id: 'a', handle: 'h', settings: { instanceUrl: mf.url } } },
          (s) => mf.respondNext({ status: 500, body: `upstream said Authorization: Bearer ${s}` }),
        ],
        [
          createBlueskyPublisher({ serviceUrl: bf.url }),
          { ...base, platform: 'bluesky', credentials: { ...bt, did: bf.account.did } },
          (s) => bf.respondNext({ status: 400, body: { error: 'ExpiredToken', message: `Token ${s} has expired` } }),
        ],
      ];
      for (const [publisher, inp, echo] of cases) {
        const token = String(inp.credentials?.accessToken ?? inp.credentials?.accessJwt);
        echo(token);
        const e = await failure(publisher.publish(inp));
        expect(e.message).toContain('[redacted]');
      }
      // Refreshers too.
      xf.respondNext({ status: 500, body: { error: `server_error ${xt.refreshToken}` } });
      await failure(createXTokenRefresher({ apiBaseUrl: xf.url, clientId: xf.clientId }).refresh({ ...xt }));
      lf.respondNext({ status: 400, body: { error: 'invalid_request', error_description: `bad refresh_token=${lt.refreshToken}` } });
      await failure(createLinkedInTokenRefresher({ oauthBaseUrl: lf.url, clientId: lf.clientId, clientSecret: lf.clientSecret }).refresh({ ...lt }));
      bf.respondNext({ status: 500, body: { error: 'InternalServerError', message: `refresh ${bt.refreshJwt} failed` } });
      await failure(createBlueskyTokenRefresher({ serviceUrl: bf.url }).refresh({ ...bt }));
    } finally {
      await Promise.all([xf.close(), lf.close(), mf.close(), bf.close()]);
    }
  });
});
