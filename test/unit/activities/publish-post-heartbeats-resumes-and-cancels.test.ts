// The publishPost activity under @temporalio/testing's MockActivityEnvironment, against the X imitation server over
// real HTTP, with no service: the account is read by the real repository from PostgreSQL inside this process (PGlite,
// with the project's migrations), and the resilience layer is the in-process one (no Redis). Each part a platform accepts is sent
// as heartbeat details; an attempt that stopped halfway through a thread (here: cancelled after part 2) is resumed by
// the next attempt from those details, which posts only what is missing (once the publication's lease, kept a short
// grace by the cut-off attempt, lets it); and cancelling the activity aborts the HTTP request in flight at once.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createPublishPost, PUBLISH_LEASE_GRACE_MS, type PublishPostArgs, type PublishPostResult } from '../../../src/activities/publish-post';
import { createAccountRepository } from '../../../src/db/accounts-repo';
import { createSecretBox } from '../../../src/db/secret-box';
import { createTenantRepository } from '../../../src/db/tenants-repo';
import { createWebhookRepository } from '../../../src/db/webhooks-repo';
import { ErrorType } from '../../../src/domain/error-types';
import type { Platform } from '../../../src/domain/types';
import { createXPublisher } from '../../../src/providers/publishers/x';
import type { Publisher, PublishProgress } from '../../../src/providers/publishers/types';
import { createResilience, type Resilience } from '../../../src/resilience';
import { startXFake, type XFake } from '../../fakes/x-server';
import { startInProcessPostgres, type InProcessPostgres } from '../../helpers/in-process-postgres';

const TEST_ENCRYPTION_KEY = Buffer.alloc(32, 7); // any 32 bytes: the accounts sealed here are read back here only
const TENANT = `t_publish_post_${process.pid}`;
const THREAD = ['One: a workflow keeps its place.', 'Two: a retry knows what was posted.', 'Three: nothing is posted twice.'];

let db: InProcessPostgres;
let x: XFake;
let resilience: Resilience;
let publishPost: ReturnType<typeof createPublishPost>;
let accountId: string;

beforeAll(async () => {
  db = await startInProcessPostgres();
  x = await startXFake();
  await createTenantRepository(db.pool).ensure(TENANT);
  const accounts = createAccountRepository(db.pool, createSecretBox(TEST_ENCRYPTION_KEY));
  const tokens = x.issueTokens();
  const account = await accounts.create({
    tenantId: TENANT,
    platform: 'x',
    handle: 'herald_test',
    credentials: { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken },
    settings: { userId: x.user.id },
  });
  accountId = account.id;
  resilience = createResilience({
    redis: null,
    config: { limits: {}, breakers: {}, defaultBreaker: { failures: 5, cooldownMs: 60_000 }, cacheTtlMs: 60_000 },
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
  });
  publishPost = createPublishPost({
    publishers: { x: createXPublisher({ apiBaseUrl: x.url, timeoutMs: 60_000 }) } as Record<Platform, Publisher>,
    accounts,
    publicBaseUrl: 'http://127.0.0.1:1',
    logger: pino({ level: 'silent' }),
    refreshers: {},
    guard: { execute: (provider, opts, fn) => resilience.execute(provider, opts, fn) },
    webhooks: createWebhookRepository(db.pool, createSecretBox(TEST_ENCRYPTION_KEY)),
  });
});
afterAll(async () => {
  await resilience?.close();
  await x?.close();
  await db?.close();
});
beforeEach(() => {
  x.slowAnswer(0);
  x.detectDuplicates(true);
});

let n = 0;
function thread(): PublishPostArgs {
  n++;
  return {
    tenantId: TENANT,
    pipelineId: `pl_publish_post_${process.pid}_${n}`,
    index: 0,
    target: { platform: 'x', accountId },
    parts: THREAD.map((p) => `${p} (${n})`),
    title: 'Resuming threads',
    format: 'thread',
    images: [],
    dryRun: false,
  };
}

const postsOf = (args: PublishPostArgs) => x.posts.filter((p) => args.parts.includes(p.text));
const tweetsSent = (args: PublishPostArgs) =>
  x.requests.filter((r) => r.method === 'POST' && r.path === '/2/tweets' && args.parts.includes((r.body as { text?: string })?.text ?? ''));

it('sends each accepted part as heartbeat details, and answers the thread as published', async () => {
  const args = thread();
  const env = new MockActivityEnvironment({ activityType: 'publishPost', attempt: 1 });
  const details: PublishProgress[] = [];
  env.on('heartbeat', (d: PublishProgress | undefined) => d && details.push(d));

  const result = (await env.run(publishPost, args)) as PublishPostResult;

  const posts = postsOf(args);
  expect(posts.map((p) => p.text)).toEqual(args.parts);
  expect(posts[1].replyTo).toBe(posts[0].id);
  expect(posts[2].replyTo).toBe(posts[1].id);
  expect(result).toMatchObject({ status: 'published', externalId: posts[0].id, attempt: 1 });
  // Progress grows one accepted part at a time, each with the id the platform gave it.
  const seen = details.map((d) => d.parts.map((p) => p.id).join(','));
  expect(seen).toEqual(expect.arrayContaining([posts[0].id, `${posts[0].id},${posts[1].id}`, posts.map((p) => p.id).join(',')]));
});

it('a thread stopped after part 2 is resumed from the heartbeat details: only part 3 is posted, replying to part 2', async () => {
  const args = thread();
  // Attempt 1: cancelled the moment part 2 is reported (a worker going away mid-thread).
  const first = new MockActivityEnvironment({ activityType: 'publishPost', attempt: 1 });
  let last: PublishProgress | undefined;
  first.on('heartbeat', (d: PublishProgress | undefined) => {
    if (!d) return;
    last = d;
    if (d.parts.length === 2) first.cancel();
  });
  const stopped = await first.run(publishPost, args).catch((e: unknown) => e);
  expect(stopped).toBeInstanceOf(CancelledFailure);
  expect(postsOf(args).map((p) => p.text)).toEqual(args.parts.slice(0, 2));
  expect(last?.parts.map((p) => p.index)).toEqual([0, 1]);

  // Attempt 2 starts with what Temporal kept: the last heartbeat details. Started at once, it is told to come back
  // after the short grace a cut-off attempt keeps the publication's lease for (a request of it may still be landing),
  // and Temporal retries it then (nextRetryDelay).
  const sentBefore = tweetsSent(args).length;
  const early = await new MockActivityEnvironment({ activityType: 'publishPost', attempt: 2, heartbeatDetails: last }).run(publishPost, args).catch((e: unknown) => e);
  expect(early).toBeInstanceOf(ApplicationFailure);
  expect((early as ApplicationFailure).type).toBe(ErrorType.PublishInProgress);
  expect((early as ApplicationFailure).nextRetryDelay).toBeLessThanOrEqual(PUBLISH_LEASE_GRACE_MS + 100);
  expect(tweetsSent(args).length).toBe(sentBefore);
  await new Promise((r) => setTimeout(r, (early as ApplicationFailure).nextRetryDelay as number));
  const second = new MockActivityEnvironment({ activityType: 'publishPost', attempt: 3, heartbeatDetails: last });
  const result = (await second.run(publishPost, args)) as PublishPostResult;

  const posts = postsOf(args);
  expect(posts.map((p) => p.text)).toEqual(args.parts);
  expect(tweetsSent(args).length - sentBefore).toBe(1);
  expect(posts[2].replyTo).toBe(posts[1].id);
  expect(result).toMatchObject({ status: 'published', externalId: posts[0].id, attempt: 3 });
});

it('cancelling the activity aborts the request in flight within seconds', async () => {
  const args = { ...thread(), format: 'post' as const, parts: [`A post whose answer never comes (${n})`] };
  x.slowAnswer(120_000);
  const env = new MockActivityEnvironment({ activityType: 'publishPost', attempt: 1 });
  const settled = env.run(publishPost, args).catch((e: unknown) => e);
  const deadline = Date.now() + 30_000;
  while (tweetsSent(args).length === 0) {
    if (Date.now() > deadline) throw new Error('X never received the post');
    await new Promise((r) => setTimeout(r, 25));
  }
  const cancelledAt = Date.now();
  env.cancel();
  const err = await settled;
  const endedAt = Date.now();

  expect(err).toBeInstanceOf(CancelledFailure);
  expect(endedAt - cancelledAt).toBeLessThan(3_000);
  const request = tweetsSent(args)[0];
  const goneBy = Date.now() + 5_000;
  while (!request.outcome && Date.now() < goneBy) await new Promise((r) => setTimeout(r, 25));
  expect(request.outcome?.kind).toBe('client-gone');
});
