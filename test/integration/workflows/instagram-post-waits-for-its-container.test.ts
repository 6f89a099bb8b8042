// Instagram through the whole stack: the imitation Graph API fetches the card from Herald's public media URL, the
// container processes slowly, and the publication waits on durable timers, never in the worker, publishing once.
import { startMetaGraphFake } from '../../fakes/meta-graph-server';
import { startHarness, type Harness } from '../../helpers/harness';

jest.setTimeout(120_000);

const IG_USER = '17841400000000000';
let h: Harness;
let fake: Awaited<ReturnType<typeof startMetaGraphFake>>;

beforeAll(async () => {
  fake = await startMetaGraphFake();
  h = await startHarness({ env: { META_GRAPH_BASE_URL: `${fake.url}/v21.0`, TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card' } });
});
afterAll(async () => {
  await h?.stop();
  await fake?.close();
});

it('publishes an image post once while its container takes a few polls, with no container made twice', async () => {
  const account = await h.api('POST', '/v1/accounts', {
    platform: 'instagram',
    handle: 'herald',
    credentials: { accessToken: fake.issueToken('instagram') },
    settings: { igUserId: IG_USER },
  });
  expect(account.status).toBe(201);
  fake.containerDelay(1);
  const res = await h.api('POST', '/v1/pipelines', { topic: `Instagram ${Date.now()}`, targets: [{ platform: 'instagram', accountId: account.body.id }] });
  const done = await h.waitFor(res.body.id, (s) => ['published', 'failed'].includes(s.status), { timeoutMs: 90_000 });
  expect(done.publications[0].error).toBeNull();
  expect(done.status).toBe('published');
  expect(done.publications[0].attempts).toBeGreaterThanOrEqual(2); // at least one "not ready yet"
  expect(fake.posts.filter((p) => p.platform === 'instagram')).toHaveLength(1);
  // The two card sizes make a carousel: one container per image plus the carousel, none made twice across the polls.
  expect(done.images).toHaveLength(2);
  expect(fake.containers.length).toBe(3);
});
