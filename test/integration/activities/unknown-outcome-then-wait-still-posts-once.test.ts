// A publication whose outcome is unknown (X stored the post, the answer was lost) and whose reconciling retry is then
// told to wait (X's 429 on the lookup): after the wait, the publication is called afresh (a new activity, attempt 1),
// and it must still look before posting. X's own duplicate refusal is off, so only Herald stands between this
// sequence and a double.
import { startXFake, type XFake } from '../../fakes/x-server';
import { startHarness, type Harness } from '../../helpers/harness';

jest.setTimeout(120_000);

let h: Harness;
let x: XFake;

beforeAll(async () => {
  x = await startXFake({ clientId: 'herald-wait-client' });
  x.detectDuplicates(false);
  h = await startHarness({ env: { X_API_BASE_URL: x.url, X_CLIENT_ID: 'herald-wait-client', TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card' } });
});
afterAll(async () => {
  await h?.stop();
  await x?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('an unknown outcome, then a wait for a rate limit, still ends with one post', async () => {
  const tokens = x.issueTokens();
  const acc = await h.api('POST', '/v1/accounts', {
    platform: 'x',
    handle: x.user.username,
    credentials: { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken },
    settings: { userId: x.user.id, username: x.user.username },
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
  });
  expect(acc.status).toBe(201);

  x.acceptThenDrop(1);
  const res = await h.api('POST', '/v1/pipelines', { topic: `Wait after unknown ${Date.now()}`, targets: [{ platform: 'x', accountId: acc.body.id }], image: { mode: 'none' } });
  expect(res.status).toBe(202);
  // The post is stored and its answer dropped; the next request (the retry's lookup) gets X's 429 for 3 s.
  const deadline = Date.now() + 60_000;
  while (x.posts.length === 0 && Date.now() < deadline) await sleep(20);
  expect(x.posts).toHaveLength(1);
  x.rateLimitNext(1, 3);

  const done = await h.waitFor(res.body.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status), { timeoutMs: 90_000 });
  // The faults landed: the drop, then a 429 answered to the retry.
  const answered429 = x.requests.filter((r) => r.outcome?.kind === 'answered' && r.outcome.status === 429);
  expect(x.requests.filter((r) => r.outcome?.kind === 'dropped')).toHaveLength(1);
  expect(answered429).toHaveLength(1);
  expect(done.status).toBe('published');
  expect(x.posts.map((p) => p.text)).toHaveLength(1);
  expect(done.publications[0].externalId).toBe(x.posts[0].id);
  expect(done.publications[0].attempts).toBeGreaterThanOrEqual(3);
});
