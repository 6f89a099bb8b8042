// Instagram containers that end in ERROR, through the whole stack. Meta fetches a post's images from Herald's public
// media URL when a container is made; while Herald's database is down that URL answers 503, the container ends in
// ERROR, and a fresh container after the outage publishes the post. Here a gate in front of Herald's API refuses the
// first media fetches with the 503 Herald gives during an outage (the imitation Graph server really fetches the URL),
// and the imitation's switch makes containers end in ERROR with Meta's reasons, one that may pass and one that never will.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startMetaGraphFake } from '../../fakes/meta-graph-server';
import { META_FETCH_FAILED_STATUS } from '../../fakes/meta-fake-control';
import { startHarness, type Harness } from '../../helpers/harness';
import { createPublishers } from '../../../src/providers/publishers';
import { createInstagramPublisher } from '../../../src/providers/publishers/instagram';

jest.setTimeout(240_000);

const IG_USER = '17841400000000000';
let h: Harness;
let fake: Awaited<ReturnType<typeof startMetaGraphFake>>;
let gate: Awaited<ReturnType<typeof startMediaGate>>;
let accountId: string;

/**
 * Herald's public base URL as the platforms see it: forwards to the API, except that the next `refuse` media fetches
 * are answered 503 with Retry-After in the contract's shape, the way Herald answers them while PostgreSQL is down.
 */
async function startMediaGate() {
  const state = { target: '', refuse: 0, refused: [] as string[], served: [] as string[] };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (req.method === 'GET' && path.startsWith('/v1/media/') && state.refuse > 0) {
      state.refuse -= 1;
      state.refused.push(path);
      res.writeHead(503, { 'Content-Type': 'application/json', 'Retry-After': '5' });
      res.end(JSON.stringify({ error: { code: 'unavailable', message: 'the database is unavailable', details: {} } }));
      return;
    }
    fetch(`${state.target}${path}`, { method: req.method })
      .then(async (r) => {
        const body = Buffer.from(await r.arrayBuffer());
        if (path.startsWith('/v1/media/')) state.served.push(`${r.status} ${path}`);
        res.writeHead(r.status, { 'Content-Type': r.headers.get('content-type') ?? 'application/octet-stream' });
        res.end(body);
      })
      .catch(() => {
        res.writeHead(502);
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

beforeAll(async () => {
  fake = await startMetaGraphFake();
  gate = await startMediaGate();
  h = await startHarness({
    env: { META_GRAPH_BASE_URL: `${fake.url}/v21.0`, TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card', PUBLIC_BASE_URL: gate.url },
  });
  gate.state.target = h.baseUrl;
  const account = await h.api('POST', '/v1/accounts', {
    platform: 'instagram',
    handle: 'herald',
    credentials: { accessToken: fake.issueToken('instagram') },
    settings: { igUserId: IG_USER },
  });
  expect(account.status).toBe(201);
  accountId = account.body.id;
});
afterAll(async () => {
  await h?.stop();
  await gate?.close();
  await fake?.close();
});

/** Runs one pipeline to its end; returns it with the containers and posts the imitation made meanwhile. */
async function runPipeline(topic: string) {
  const containersBefore = fake.containers.length;
  const postsBefore = fake.posts.length;
  const res = await h.api('POST', '/v1/pipelines', { topic, targets: [{ platform: 'instagram', accountId }] });
  expect(res.status).toBe(202);
  const done = await h.waitFor(res.body.id, (s) => ['published', 'failed'].includes(s.status), { timeoutMs: 180_000 });
  return { done, containers: fake.containers.slice(containersBefore), posts: fake.posts.slice(postsBefore) };
}

it('media URLs refused with 503 (a database outage): the containers in ERROR are replaced and the post is published once', async () => {
  gate.state.refuse = 3;
  const refusedBefore = gate.state.refused.length;
  const { done, containers, posts } = await runPipeline(`Instagram outage ${Date.now()}`);
  expect(done.publications[0].error).toBeNull();
  expect(done.status).toBe('published');
  // The fault landed: Meta's fetches were refused and containers ended in ERROR for it.
  expect(gate.state.refused.length - refusedBefore).toBe(3);
  const errored = containers.filter((c) => c.errorStatus !== null);
  expect(errored.length).toBeGreaterThanOrEqual(1);
  for (const c of errored) expect(c.imageProblem).toMatch(/HTTP 503/);
  expect(done.publications[0].attempts).toBeGreaterThanOrEqual(2);
  // Published once, as a carousel of the two card images, made of containers that did not fail.
  expect(posts).toHaveLength(1);
  expect(posts[0].platform).toBe('instagram');
  expect(done.images).toHaveLength(2);
  expect(posts[0].media).toHaveLength(2);
  const published = containers.find((c) => c.publishedAs === posts[0].id);
  expect(published?.mediaType).toBe('CAROUSEL');
  for (const child of published!.children) expect(containers.find((c) => c.id === child)?.errorStatus).toBeNull();
  // Only the failed items were made again: two good items, one per refused fetch, and one carousel.
  expect(containers.filter((c) => c.isCarouselItem)).toHaveLength(2 + errored.length);
  expect(containers.filter((c) => c.mediaType === 'CAROUSEL')).toHaveLength(1);
});

it('media URLs refused while Meta refuses the container request itself (code 9004 / 2207052): fresh requests, published once', async () => {
  fake.mediaFetchFailures('request');
  try {
    gate.state.refuse = 2;
    const refusedBefore = gate.state.refused.length;
    const requestsBefore = fake.requests.length;
    const { done, containers, posts } = await runPipeline(`Instagram outage, refused requests ${Date.now()}`);
    expect(done.publications[0].error).toBeNull();
    expect(done.status).toBe('published');
    expect(gate.state.refused.length - refusedBefore).toBe(2);
    const refusedCreates = fake.requests.slice(requestsBefore).filter((r) => r.method === 'POST' && r.path === `/${IG_USER}/media` && r.status === 400);
    expect(refusedCreates.length).toBeGreaterThanOrEqual(1);
    expect(posts).toHaveLength(1);
    expect(containers.every((c) => c.errorStatus === null)).toBe(true);
    expect(containers.filter((c) => c.isCarouselItem)).toHaveLength(2);
    expect(done.publications[0].attempts).toBeGreaterThanOrEqual(2);
  } finally {
    fake.mediaFetchFailures('container');
  }
});

it('the carousel container itself in ERROR: a fresh carousel with fresh items is made, and published once', async () => {
  fake.containerErrorNext(1, `${META_FETCH_FAILED_STATUS}: an upstream timeout`, 'CAROUSEL');
  const { done, containers, posts } = await runPipeline(`Instagram carousel error ${Date.now()}`);
  expect(done.publications[0].error).toBeNull();
  expect(done.status).toBe('published');
  const errored = containers.filter((c) => c.errorStatus !== null);
  expect(errored.map((c) => c.mediaType)).toEqual(['CAROUSEL']);
  expect(posts).toHaveLength(1);
  expect(containers.filter((c) => c.mediaType === 'CAROUSEL')).toHaveLength(2);
  expect(containers.filter((c) => c.isCarouselItem)).toHaveLength(4);
  const published = containers.find((c) => c.publishedAs === posts[0].id);
  expect(published?.id).not.toBe(errored[0].id);
});

it('a container Meta refuses for good (aspect ratio, 2207009) fails at once, naming the error, with no fresh container', async () => {
  const reason = 'Error: The aspect ratio is not supported. (2207009)';
  fake.containerErrorNext(1, reason);
  const { done, containers, posts } = await runPipeline(`Instagram bad ratio ${Date.now()}`);
  expect(done.status).toBe('failed');
  const error = String(done.publications[0].error?.message);
  expect(error).toMatch(/aspect ratio is not supported/);
  expect(error).toMatch(/2207009/);
  expect(error).toContain(containers[0].id);
  expect(done.publications[0].attempts).toBe(1);
  expect(containers.filter((c) => c.errorStatus === reason)).toHaveLength(1);
  // Two items made once, no carousel, nothing published.
  expect(containers).toHaveLength(2);
  expect(posts).toHaveLength(0);
});

it('containers that keep ending in ERROR: a bounded number of fresh ones, then a failure naming the error', async () => {
  // A worker whose Instagram adapter gives up after 2 fresh rounds (the default is 5), to keep the test short.
  await h.stopWorker();
  const publishers = createPublishers(h.config.publishers);
  await h.startWorker({ publishers: { ...publishers, instagram: createInstagramPublisher({ graphBaseUrl: `${fake.url}/v21.0`, containerErrorRetries: 2 }) } });
  try {
    fake.containerErrorNext(6); // 3 rounds of 2 items
    const { done, containers, posts } = await runPipeline(`Instagram keeps failing ${Date.now()}`);
    expect(done.status).toBe('failed');
    const error = String(done.publications[0].error?.message);
    expect(error).toMatch(/gave up after 3 rounds/);
    expect(error).toMatch(/2207052/);
    expect(containers.filter((c) => c.isCarouselItem)).toHaveLength(6);
    expect(containers.every((c) => c.errorStatus !== null)).toBe(true);
    expect(posts).toHaveLength(0);
  } finally {
    fake.containerErrorNext(0);
    await h.stopWorker();
    await h.startWorker();
  }
});
