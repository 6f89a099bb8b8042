// Account lifecycle events in the outbox (read with SQL): a publish that meets dead credentials (the access token
// refused, the refresh token revoked) marks the account reauth_required and adds one account.reauth_required event,
// however often it is met again; account.token_expiring comes once per account and expiry, ACCOUNT_EXPIRY_WARNING
// ahead, only for tokens Herald cannot renew by itself.
import { startXFake, type XFake } from '../../fakes/x-server';
import { startHarness, type Harness } from '../../helpers/harness';

jest.setTimeout(120_000);

let h: Harness;
let x: XFake;

beforeAll(async () => {
  x = await startXFake({ clientId: 'herald-events-client' });
  h = await startHarness({ env: { X_API_BASE_URL: x.url, X_CLIENT_ID: 'herald-events-client', TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card' } });
});
afterAll(async () => {
  await h?.stop();
  await x?.close();
});

async function events(type: string, accountId: string) {
  const { rows } = await h.pool.query(`SELECT id, tenant_id, data FROM lifecycle_events WHERE type = $1 AND data->>'accountId' = $2`, [type, accountId]);
  return rows;
}

async function connect(platform: string, credentials: Record<string, unknown>, expiresInMs: number, settings: Record<string, unknown> = {}) {
  const res = await h.api('POST', '/v1/accounts', { platform, handle: `${platform}-events`, credentials, settings, expiresAt: new Date(Date.now() + expiresInMs).toISOString() });
  expect(res.status).toBe(201);
  return res.body as { id: string; expiresAt: string };
}

it('a publish that finds the credentials dead marks the account and adds one account.reauth_required event', async () => {
  const tokens = x.issueTokens();
  const account = await connect('x', { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }, 3_600_000, { userId: x.user.id, username: x.user.username });
  x.revoke();
  for (const n of [1, 2]) {
    const res = await h.api('POST', '/v1/pipelines', { topic: `Dead credentials ${n} ${Date.now()}`, targets: [{ platform: 'x', accountId: account.id }], image: { mode: 'none' } });
    const done = await h.waitFor(res.body.id, (s) => ['published', 'failed'].includes(s.status), { timeoutMs: 60_000 });
    expect(done.publications[0].error?.code).toBe('ReauthRequired');
  }
  // The fault landed: the publish was refused and the refresh tried with the revoked refresh token.
  expect(x.requests.filter((r) => r.path === '/2/oauth2/token').length).toBeGreaterThanOrEqual(1);
  expect((await h.api('GET', `/v1/accounts/${account.id}`)).body.status).toBe('reauth_required');
  const rows = await events('account.reauth_required', account.id);
  expect(rows).toHaveLength(1);
  expect(rows[0].tenant_id).toBe(h.tenants.a);
  expect(rows[0].data).toMatchObject({ accountId: account.id, platform: 'x', handle: 'x-events' });
  expect(rows[0].data.hint).toContain('reconnect the x account x-events');
});

it('warns once per expiry, ahead by the warning window, only about tokens Herald cannot renew', async () => {
  // LinkedIn has no OAuth app here: Herald cannot renew it. X can (an app is configured), unless it fails.
  const soon = await connect('linkedin', { accessToken: 'li-soon' }, 2 * 86_400_000);
  const later = await connect('linkedin', { accessToken: 'li-later' }, 20 * 86_400_000);
  const tokens = x.issueTokens();
  const renewable = await connect('x', { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }, 2 * 86_400_000, { userId: x.user.id });
  for (const run of [1, 2, 3]) {
    await h.client.workflow.execute('refreshExpiringTokens', {
      taskQueue: h.taskQueue,
      workflowId: `expiry-warning-${soon.id}-${run}`,
      args: [{ aheadMs: 60_000, spreadMs: 0, warningMs: 7 * 86_400_000 }],
    });
  }
  const warned = await events('account.token_expiring', soon.id);
  expect(warned).toHaveLength(1);
  expect(warned[0].data).toMatchObject({ accountId: soon.id, platform: 'linkedin', expiresAt: soon.expiresAt });
  expect(warned[0].data.hint).toContain(soon.expiresAt);
  expect(await events('account.token_expiring', later.id)).toHaveLength(0);
  expect(await events('account.token_expiring', renewable.id)).toHaveLength(0);

  // A new expiry is a new warning.
  await h.pool.query(`UPDATE accounts SET expires_at = expires_at + interval '1 day' WHERE id = $1`, [soon.id]);
  await h.client.workflow.execute('refreshExpiringTokens', { taskQueue: h.taskQueue, workflowId: `expiry-warning-${soon.id}-renewed`, args: [{ aheadMs: 60_000, spreadMs: 0, warningMs: 7 * 86_400_000 }] });
  expect(await events('account.token_expiring', soon.id)).toHaveLength(2);
});
