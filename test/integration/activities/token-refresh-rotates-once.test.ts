// Token refresh through the whole stack against the X imitation server, whose refresh tokens rotate and work once.
import { startXFake, type XFake } from '../../fakes/x-server';
import { startHarness, type Harness } from '../../helpers/harness';

jest.setTimeout(120_000);

let h: Harness;
let x: XFake;

beforeAll(async () => {
  x = await startXFake({ clientId: 'herald-test-client' });
  h = await startHarness({ env: { X_API_BASE_URL: x.url, X_CLIENT_ID: 'herald-test-client', TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card', LOG_LEVEL: 'debug' } });
});
afterAll(async () => {
  await h?.stop();
  await x?.close();
});

async function connectX(expiresInMs: number) {
  const tokens = x.issueTokens();
  const res = await h.api('POST', '/v1/accounts', {
    platform: 'x',
    handle: x.user.username,
    credentials: { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken },
    settings: { userId: x.user.id, username: x.user.username },
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  });
  expect(res.status).toBe(201);
  return { account: res.body, tokens };
}

/** Refresh tokens X received, in order; each must appear once. */
const refreshTokensUsed = () =>
  x.requests.filter((r) => r.path === '/2/oauth2/token').map((r) => (r.body as Record<string, string>).refresh_token);

it('the refresh workflow renews accounts expiring within the window, and leaves the others alone', async () => {
  const soon = await connectX(5 * 60_000);
  const later = await connectX(5 * 3_600_000);
  const outcomes = await h.client.workflow.execute('refreshExpiringTokens', {
    taskQueue: h.taskQueue,
    workflowId: `test-refresh-${Date.now()}`,
    args: [{ aheadMs: 30 * 60_000, spreadMs: 0 }],
  });
  const mine = (outcomes as any[]).filter((o) => [soon.account.id, later.account.id].includes(o.accountId));
  expect(mine).toEqual([{ accountId: soon.account.id, platform: 'x', refreshed: true, error: null }]);
  const after = (await h.api('GET', `/v1/accounts/${soon.account.id}`)).body;
  expect(after.status).toBe('active');
  expect(after.lastRefreshedAt).toEqual(expect.any(String));
  expect(Date.parse(after.expiresAt)).toBeGreaterThan(Date.now() + 60 * 60_000);
  expect(JSON.stringify(after)).not.toContain(soon.tokens.refreshToken);
});

it('a publish racing a scheduled refresh and an API refresh uses each rotating refresh token once and posts once', async () => {
  const { account } = await connectX(60_000);
  x.expireTokens(); // the stored access token now answers 401
  const posted = x.posts.length;
  const used = refreshTokensUsed().length;
  const [pipeline, apiRefresh] = await Promise.all([
    h.api('POST', '/v1/pipelines', { topic: `Race ${Date.now()}`, targets: [{ platform: 'x', accountId: account.id }], image: { mode: 'none' } }),
    h.api('POST', `/v1/accounts/${account.id}/refresh`),
    h.client.workflow.execute('refreshExpiringTokens', { taskQueue: h.taskQueue, workflowId: `test-race-${Date.now()}`, args: [{ aheadMs: 30 * 60_000, spreadMs: 0 }] }),
  ]);
  expect(apiRefresh.status).toBe(200);
  const done = await h.waitFor(pipeline.body.id, (s) => ['published', 'failed'].includes(s.status), { timeoutMs: 60_000 });
  expect(done.status).toBe('published');
  expect(x.posts.length - posted).toBe(1);
  const tokens = refreshTokensUsed();
  expect(tokens.length).toBeGreaterThan(used);
  expect(new Set(tokens).size).toBe(tokens.length); // no refresh token was ever sent twice
  expect((await h.api('GET', `/v1/accounts/${account.id}`)).body.status).toBe('active');
});

it('a revoked token marks the account reauth_required and the publication fails saying so', async () => {
  const { account } = await connectX(60_000);
  x.revoke();
  const refresh = await h.api('POST', `/v1/accounts/${account.id}/refresh`);
  expect(refresh.status).toBe(409);
  expect(refresh.body.error.message).toMatch(/reconnect/);
  const view = (await h.api('GET', `/v1/accounts/${account.id}`)).body;
  expect(view.status).toBe('reauth_required');
  expect(view.lastError).toEqual(expect.any(String));
  const res = await h.api('POST', '/v1/pipelines', { topic: `Revoked ${Date.now()}`, targets: [{ platform: 'x', accountId: account.id }], image: { mode: 'none' } });
  const done = await h.waitFor(res.body.id, (s) => ['published', 'failed'].includes(s.status));
  expect(done.status).toBe('failed');
  expect(done.publications[0].error?.code).toBe('ReauthRequired');
  expect(done.publications[0].error?.message).toMatch(/reauth_required/);
});

it('publishes an image post to X, uploading the card from its public media URL', async () => {
  {
    const { account } = await connectX(2 * 3_600_000);
    const res = await h.api('POST', '/v1/pipelines', { topic: `Image ${Date.now()}`, targets: [{ platform: 'x', accountId: account.id }] });
    const done = await h.waitFor(res.body.id, (s) => ['published', 'failed'].includes(s.status), { timeoutMs: 60_000 });
    expect(done.images.length).toBeGreaterThan(0);
    expect(done.status).toBe('published');
    expect(x.media.size).toBeGreaterThan(0);
  }
});

it('no access or refresh token ever appears in a log line or an account response', async () => {
  const tokens = new Set<string>();
  for (const r of x.requests) {
    const auth = String(r.headers.authorization ?? '');
    if (auth.startsWith('Bearer ')) tokens.add(auth.slice(7));
    const body = r.body as Record<string, unknown> | null;
    if (body && typeof body === 'object' && typeof body.refresh_token === 'string') tokens.add(body.refresh_token);
  }
  expect(tokens.size).toBeGreaterThan(3);
  expect(h.logs.length).toBeGreaterThan(0);
  const accounts = JSON.stringify((await h.api('GET', '/v1/accounts')).body);
  for (const t of tokens) {
    expect(h.logs.filter((l) => l.includes(t))).toEqual([]);
    expect(accounts).not.toContain(t);
  }
});
