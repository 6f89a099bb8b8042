// Two attempts of one publication at the same time. On a busy machine Temporal starts attempt 2 when attempt 1's
// heartbeats reach it late, while attempt 1 is alive and its post is still on its way; attempt 2's look-up ("is the post
// there already?") then finds nothing, and both post. Here the two attempts run side by side as two workers would: each
// through its own publishPost, resilience layer and Redis connection, sharing a real Redis (a private redis-server),
// against the Mastodon imitation server over real HTTP with its Idempotency-Key refusal OFF, and the account read from
// PostgreSQL. The imitation holds attempt 1's POST before storing it for as long as the test needs, so attempt 2 runs
// from start to end while attempt 1's post is in flight: exactly one post must land, and the publication's later
// attempt must take it as its own. Also: an attempt whose last request got no answer keeps others out for a grace
// period only, and with Redis gone the lease falls back to the worker's own memory without blocking anything.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Pool } from 'pg';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createPublishPost, PUBLISH_LEASE_GRACE_MS, type PublishPostArgs, type PublishPostResult } from '../../../src/activities/publish-post';
import { createAccountRepository } from '../../../src/db/accounts-repo';
import { createPool } from '../../../src/db/pool';
import { createSecretBox } from '../../../src/db/secret-box';
import { createTenantRepository } from '../../../src/db/tenants-repo';
import { createWebhookRepository } from '../../../src/db/webhooks-repo';
import { ErrorType } from '../../../src/domain/error-types';
import type { Platform } from '../../../src/domain/types';
import { createMastodonPublisher } from '../../../src/providers/publishers/mastodon';
import type { Publisher } from '../../../src/providers/publishers/types';
import { createRedisClient, createResilience, type Resilience } from '../../../src/resilience';
import { startMastodonFake, type MastodonFake } from '../../fakes/mastodon-server';
import type { SocialRequest } from '../../fakes/social-fake-control';
import { testDatabaseUrl } from '../../helpers/env';
import { startPrivateRedis, type PrivateRedis } from '../../helpers/private-redis';

jest.setTimeout(120_000);

const KEY = Buffer.alloc(32, 9);
const TENANT = `t_overlap_${process.pid}`;
/** What Temporal gives publishPost (src/workflows/publish-target.ts). */
const HEARTBEAT_TIMEOUT_MS = 8_000;

let pool: Pool;
let redis: PrivateRedis;
let mastodon: MastodonFake;
let accountId: string;
/** Two workers: each its own Redis connection, resilience layer and publishPost. */
const workers: { resilience: Resilience; publishPost: ReturnType<typeof createPublishPost>; close(): Promise<void> }[] = [];

function startWorker() {
  const client = createRedisClient(redis.url);
  const logger = pino({ level: 'silent' });
  const resilience = createResilience({
    redis: client,
    config: { limits: {}, breakers: {}, defaultBreaker: { failures: 50, cooldownMs: 60_000 }, cacheTtlMs: 60_000, keyPrefix: `herald-overlap-${process.pid}:`, redisRetryMs: 500 },
    logger,
    metrics: new Registry(),
  });
  const box = createSecretBox(KEY);
  const publishPost = createPublishPost({
    publishers: { mastodon: createMastodonPublisher({ timeoutMs: 60_000 }) } as Record<Platform, Publisher>,
    accounts: createAccountRepository(pool, box),
    publicBaseUrl: 'http://127.0.0.1:1',
    logger,
    refreshers: {},
    guard: { execute: (provider, opts, fn) => resilience.execute(provider, opts, fn) },
    webhooks: createWebhookRepository(pool, box),
    leases: resilience.leases,
  });
  return {
    resilience,
    publishPost,
    async close() {
      await resilience.close();
      client.disconnect();
    },
  };
}

beforeAll(async () => {
  pool = createPool(testDatabaseUrl(), 2);
  redis = await startPrivateRedis();
  mastodon = await startMastodonFake();
  // The platform's own refusal of a repeated Idempotency-Key is off: only Herald stands between two attempts and a double.
  mastodon.detectDuplicates(false);
  await createTenantRepository(pool).ensure(TENANT);
  const account = await createAccountRepository(pool, createSecretBox(KEY)).create({
    tenantId: TENANT,
    platform: 'mastodon',
    handle: mastodon.account.acct,
    credentials: { accessToken: mastodon.issueTokens().accessToken },
    settings: { instanceUrl: mastodon.url },
  });
  accountId = account.id;
  workers.push(startWorker(), startWorker());
});
afterAll(async () => {
  for (const w of workers) await w.close();
  await mastodon?.close();
  await redis?.stop();
  await pool?.end();
});

let n = 0;
function publication(): PublishPostArgs {
  n++;
  return {
    tenantId: TENANT,
    pipelineId: `pl_overlap_${process.pid}_${n}_${Date.now()}`,
    index: 0,
    target: { platform: 'mastodon', accountId },
    parts: [`Two attempts, one post (${process.pid}-${n}).`],
    title: 'Overlapping attempts',
    format: 'post',
    images: [],
    dryRun: false,
  };
}

/** One attempt of the publication's activity, as Temporal would run it on a worker. */
function attempt(worker: number, a: number, args: PublishPostArgs): Promise<PublishPostResult> {
  const env = new MockActivityEnvironment({ activityType: 'publishPost', activityId: '1', attempt: a, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS });
  return env.run(workers[worker].publishPost, args) as Promise<PublishPostResult>;
}
const settle = <T>(p: Promise<T>) => p.then((value) => ({ value, error: undefined }), (error: unknown) => ({ value: undefined, error }));
const isPost = (req: SocialRequest) => req.method === 'POST' && req.path === '/api/v1/statuses';
const postsOf = (args: PublishPostArgs) => mastodon.posts.filter((p) => p.text === args.parts[0]);
const postRequestsOf = (args: PublishPostArgs) => mastodon.requests.filter((r) => isPost(r) && (r.body as { status?: string })?.status === args.parts[0]);
const lookupsSince = (at: number) => mastodon.requests.filter((r) => r.method === 'GET' && /\/statuses$/.test(r.path) && r.at >= at);

/**
 * Temporal's retries of a PublishInProgress failure: each one after its nextRetryDelay, until an attempt ends
 * otherwise (bounded). Returns that attempt's outcome and how many were refused before it.
 */
async function retryLikeTemporal(worker: number, from: number, args: PublishPostArgs): Promise<{ result: PublishPostResult; refused: number; attempt: number }> {
  const deadline = Date.now() + 60_000;
  for (let a = from, refused = 0; ; a++) {
    const r = await settle(attempt(worker, a, args));
    if (r.value) return { result: r.value, refused, attempt: a };
    const f = r.error;
    if (!(f instanceof ApplicationFailure) || f.type !== ErrorType.PublishInProgress || Date.now() > deadline) throw f;
    refused++;
    await new Promise((resolve) => setTimeout(resolve, f.nextRetryDelay as number));
  }
}

it('attempt 2 starting while attempt 1 posts (on another worker) does not post: one post, taken by the retry', async () => {
  const args = publication();
  // Attempt 1's post is on its way: held at the platform before it is stored, for as long as attempt 2 takes.
  const hold = mastodon.holdNext((r) => isPost(r) && (r.body as { status?: string })?.status === args.parts[0]);
  const first = settle(attempt(0, 1, args));
  const held = await hold.reached;

  // Attempt 2 on the other worker, from start to end, while attempt 1's request is still held (nothing stored yet).
  const secondStarted = Date.now();
  const second = await settle(attempt(1, 2, args));
  expect(held.outcome).toBeUndefined();
  expect(held.stored).toEqual([]);
  // It did not post: it was told another attempt may still be posting, and when to try again (the lease's end).
  expect(second.value).toBeUndefined();
  expect(second.error).toBeInstanceOf(ApplicationFailure);
  const refusal = second.error as ApplicationFailure;
  expect(refusal.type).toBe(ErrorType.PublishInProgress);
  expect(refusal.nonRetryable).toBe(false);
  expect(refusal.nextRetryDelay).toBeGreaterThan(0);
  expect(refusal.nextRetryDelay as number).toBeLessThanOrEqual(HEARTBEAT_TIMEOUT_MS + 1_000);
  expect(postRequestsOf(args)).toHaveLength(1); // attempt 1's, held

  hold.release();
  const one = await first;
  expect(one.error).toBeUndefined();
  expect(one.value).toMatchObject({ status: 'published', attempt: 1 });

  // Temporal retries attempt 2's failure: the retry looks first, finds attempt 1's post and takes it as its own.
  const retried = await retryLikeTemporal(1, 3, args);
  expect(retried.result).toMatchObject({ status: 'published', externalId: one.value!.externalId });
  expect(lookupsSince(secondStarted).length).toBeGreaterThan(0);
  expect(postsOf(args)).toHaveLength(1);
  expect(postRequestsOf(args)).toHaveLength(1);
});

it('an attempt whose post got no answer keeps the next one out for a short grace only, and the next one finds the post', async () => {
  const args = publication();
  // The platform stores the post and drops the connection: attempt 1's outcome is unknown to it.
  mastodon.acceptThenDrop(1);
  const first = await settle(attempt(0, 1, args));
  expect(first.error).toBeDefined();
  expect(postsOf(args)).toHaveLength(1);

  // Attempt 2 at once (on the other worker): held back for at most the grace, not the whole lease.
  const t = Date.now();
  const retried = await retryLikeTemporal(1, 2, args);
  expect(retried.refused).toBeLessThanOrEqual(1);
  expect(Date.now() - t).toBeLessThan(PUBLISH_LEASE_GRACE_MS + 5_000);
  expect(retried.result).toMatchObject({ status: 'published', externalId: postsOf(args)[0].id });
  expect(postsOf(args)).toHaveLength(1);
});

it('with Redis gone the lease falls back to the worker itself: nothing blocks, attempts on that worker still post once', async () => {
  await redis.kill();
  try {
    const args = publication();
    const hold = mastodon.holdNext((r) => isPost(r) && (r.body as { status?: string })?.status === args.parts[0]);
    const t = Date.now();
    const first = settle(attempt(0, 1, args));
    await hold.reached;
    // Within a few seconds (Redis's command timeout is 500 ms), not stuck waiting for Redis.
    expect(Date.now() - t).toBeLessThan(10_000);
    expect(workers[0].resilience.fallbackActive).toBe(true);
    const second = await settle(attempt(0, 2, args));
    expect((second.error as ApplicationFailure | undefined)?.type).toBe(ErrorType.PublishInProgress);
    hold.release();
    expect((await first).value).toMatchObject({ status: 'published' });
    const retried = await retryLikeTemporal(0, 3, args);
    expect(retried.result.externalId).toBe(postsOf(args)[0].id);
    expect(postsOf(args)).toHaveLength(1);
  } finally {
    await redis.restart();
  }
});
