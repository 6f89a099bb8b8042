// Credentials at rest and in logs: accounts connected through the API are read back straight from PostgreSQL, where
// only AES-256-GCM ciphertext may be found (decrypted here with node:crypto and the test key, not with Herald's code,
// to show it really is the credentials, sealed). Then accounts are used, one of them by a platform that echoes the
// token back in its errors, and every log line of the API and worker (debug level), every API answer and the stored
// pipelines are searched for every secret in every form. (Worker CHILD processes, whose Temporal SDK lines carry
// activity errors, are searched by the exactly-once kill test.)
import { createDecipheriv } from 'node:crypto';
import { startFakeWebhookServer, type FakeWebhookServer } from '../../fakes/webhook-server';
import { startXFake, type XFake } from '../../fakes/x-server';
import { startHarness, TEST_ENCRYPTION_KEY, type Harness } from '../../helpers/harness';
import { describeFindings, SecretScan } from '../../helpers/secret-scan';

jest.setTimeout(120_000);

let h: Harness;
let x: XFake;
let hooks: FakeWebhookServer;
const scan = new SecretScan();
/** Every API answer of this file, searched like the logs. */
const answers: string[] = [];

const rnd = (n = 24) => Buffer.from(Array.from({ length: n }, () => Math.floor(Math.random() * 256))).toString('base64url');

beforeAll(async () => {
  const clientSecret = `x-client-secret-${rnd()}`;
  x = await startXFake({ clientId: 'herald-at-rest-client', clientSecret });
  hooks = await startFakeWebhookServer();
  h = await startHarness({
    env: { X_API_BASE_URL: x.url, X_CLIENT_ID: 'herald-at-rest-client', X_CLIENT_SECRET: clientSecret, TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card', LOG_LEVEL: 'debug' },
  });
  scan.add('x client secret', clientSecret);
  scan.source('api+worker logs', () => h.logs);
  scan.source('api answers', () => answers);
  scan.add('encryption key', TEST_ENCRYPTION_KEY.toString('base64'));
  scan.add('encryption key (base64url)', TEST_ENCRYPTION_KEY.toString('base64url'));
  scan.add('api key b', h.keys.b);
});
afterAll(async () => {
  await h?.stop();
  await x?.close();
  await hooks?.close();
});

async function api(method: string, path: string, body?: unknown, key?: string) {
  const res = await h.api(method, path, body, key ? { key } : {});
  answers.push(JSON.stringify(res.body));
  return res;
}

/** Credential fields that identify rather than authenticate (a Bluesky handle or DID): not searched for. */
const PUBLIC_FIELDS = ['identifier', 'did'];

interface Connected {
  id: string;
  platform: string;
  credentials: Record<string, unknown>;
}

async function connect(platform: string, credentials: Record<string, unknown>, settings: Record<string, unknown> = {}): Promise<Connected> {
  scan.addAll(`${platform} credentials`, credentials, { public: PUBLIC_FIELDS });
  const res = await api('POST', '/v1/accounts', { platform, handle: `${platform}-at-rest`, credentials, settings, expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString() });
  expect(res.status).toBe(201);
  expect(JSON.stringify(res.body)).not.toContain(JSON.stringify(credentials).slice(1, -1));
  return { id: res.body.id, platform, credentials };
}

/** Opens a "v1:<keyId>:<iv>:<tag>:<ciphertext>" envelope with AES-256-GCM and the test key: independent of Herald. */
function openEnvelope(envelope: string): unknown {
  const [, , iv, tag, data] = envelope.split(':');
  const d = createDecipheriv('aes-256-gcm', TEST_ENCRYPTION_KEY, Buffer.from(iv, 'base64url'));
  d.setAuthTag(Buffer.from(tag, 'base64url'));
  return JSON.parse(Buffer.concat([d.update(Buffer.from(data, 'base64url')), d.final()]).toString('utf8'));
}

let accounts: Connected[] = [];

it('the accounts table holds only ciphertext: no token, no secret, no JSON of them, in any column', async () => {
  const xt = x.issueTokens();
  accounts = [
    await connect('x', { accessToken: xt.accessToken, refreshToken: xt.refreshToken }, { userId: x.user.id, username: x.user.username }),
    await connect('linkedin', { accessToken: `AQV-li-access-${rnd()}`, refreshToken: `AQW-li-refresh-${rnd()}` }, { personId: 'abc123' }),
    await connect('mastodon', { accessToken: `masto-${rnd()}` }, { instanceUrl: 'https://mastodon.example' }),
    await connect('bluesky', { identifier: 'herald.test', appPassword: `abcd-${rnd(6)}-efgh`, accessJwt: `eyJhbGciOiJIUzI1NiJ9.${rnd(40)}.${rnd()}`, refreshJwt: `eyJhbGciOiJIUzI1NiJ9.${rnd(40)}.${rnd()}` }),
    await connect('facebook', { accessToken: `EAAG${rnd(40)}`, appSecret: `fb-app-secret-${rnd()}` }, { pageId: '1234567890' }),
    await connect('slack', { url: `${hooks.url}/slack/T000/B000/${rnd()}` }),
    await connect('discord', { url: `${hooks.url}/discord/123456/${rnd(40)}` }),
    await connect('webhook', { url: `${hooks.url}/hook/${rnd()}?token=${rnd()}`, apiKey: `whk_${rnd()}` }),
  ];
  // Two accounts with the very same credentials: random IVs make their ciphertexts differ.
  const twin = await connect('mastodon', accounts[2].credentials, { instanceUrl: 'https://mastodon.example' });

  const ids = [...accounts, twin].map((a) => a.id);
  const { rows } = await h.pool.query<{ id: string; credentials: string; everything: string }>(
    'SELECT id, credentials, row_to_json(a)::text AS everything FROM accounts a WHERE id = ANY($1)',
    [ids],
  );
  expect(rows).toHaveLength(ids.length);

  const rowScan = new SecretScan().source('accounts rows', () => rows.map((r) => r.everything));
  for (const a of accounts) rowScan.addAll(`${a.platform} credentials`, a.credentials, { public: PUBLIC_FIELDS });
  expect(rowScan.secretCount).toBeGreaterThanOrEqual(14);
  expect(describeFindings(rowScan.findings())).toEqual([]);

  for (const r of rows) {
    // The envelope format: v1, an 8-character key id, a 12-byte IV, a 16-byte tag, then the ciphertext.
    expect(r.credentials).toMatch(/^v1:[A-Za-z0-9_-]{8}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    expect(() => JSON.parse(r.credentials)).toThrow();
    expect(r.credentials).not.toMatch(/accessToken|refreshToken|appPassword|"url"|apiKey/);
    // It really is these credentials, sealed: AES-256-GCM with the configured key opens it (and checks its tag).
    const owner = [...accounts, twin].find((a) => a.id === r.id)!;
    expect(openEnvelope(r.credentials)).toEqual(owner.credentials);
  }
  const byId = new Map(rows.map((r) => [r.id, r.credentials]));
  expect(byId.get(twin.id)).not.toBe(byId.get(accounts[2].id));

  // Nothing the API answers about them carries a secret either.
  await api('GET', '/v1/accounts');
  for (const a of accounts) await api('GET', `/v1/accounts/${a.id}`);
  expect(describeFindings(scan.findings())).toEqual([]);
});

it('using the accounts (a post, webhooks, an error echoing the token) logs no secret anywhere', async () => {
  const [xAcc, , , , , slack, discord, hook] = accounts;
  // X answers once with the token echoed back in its error body: Herald must not repeat it in logs or answers.
  const echoed = String(xAcc.credentials.accessToken);
  x.respondNext({ status: 503, body: { title: 'Service Unavailable', detail: `upstream said: Bearer ${echoed}`, status: 503 } });
  const res = await api('POST', '/v1/pipelines', {
    topic: `Credentials at rest ${rnd(4)}`,
    targets: [
      { platform: 'x', accountId: xAcc.id },
      { platform: 'slack', accountId: slack.id },
      { platform: 'discord', accountId: discord.id },
      { platform: 'webhook', accountId: hook.id },
    ],
    image: { mode: 'none' },
  });
  expect(res.status).toBe(202);
  const done = await h.waitFor(res.body.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status), { timeoutMs: 90_000 });
  answers.push(JSON.stringify(done));
  expect(done.status).toBe('published');
  // The faults and uses landed: X refused once then took the post; every webhook received its message.
  expect(x.requests.filter((r) => r.method === 'POST' && r.path === '/2/tweets').length).toBeGreaterThanOrEqual(2);
  expect(x.posts).toHaveLength(1);
  expect(hooks.received.map((r) => r.path.split('/')[1]).sort()).toEqual(['discord', 'hook', 'slack']);
  // A refusal for good, echoing the token it was sent: the publication fails and shows X's reason, scrubbed.
  x.respondNext({ status: 403, body: { title: 'Forbidden', detail: `token ${echoed} may not post here`, type: 'about:blank', status: 403 } });
  const refused = await api('POST', '/v1/pipelines', { topic: `Refused ${rnd(4)}`, targets: [{ platform: 'x', accountId: xAcc.id }], image: { mode: 'none' } });
  expect(refused.status).toBe(202);
  const failed = await h.waitFor(refused.body.id, (s) => ['published', 'failed'].includes(s.status), { timeoutMs: 60_000 });
  answers.push(JSON.stringify(failed));
  expect(failed.status).toBe('failed');
  expect(failed.publications[0].error?.message).toMatch(/may not post here/);

  // Nothing of it is stored in the pipelines either (their state is plain JSON).
  const { rows } = await h.pool.query<{ everything: string }>('SELECT row_to_json(p)::text AS everything FROM pipelines p WHERE id = ANY($1)', [[res.body.id, refused.body.id]]);
  expect(rows).toHaveLength(2);
  answers.push(...rows.map((r) => r.everything));

  // A refresh too (the refresh token and the client secret travel to X): nothing of it in the logs.
  const refreshed = await api('POST', `/v1/accounts/${xAcc.id}/refresh`);
  expect(refreshed.status).toBe(200);
  expect(x.requests.some((r) => r.path === '/2/oauth2/token')).toBe(true);
  // The rotated pair is a secret too: read it from the sealed row and search for it as well.
  const sealed = await h.pool.query<{ credentials: string }>('SELECT credentials FROM accounts WHERE id = $1', [xAcc.id]);
  const rotated = openEnvelope(sealed.rows[0].credentials) as Record<string, unknown>;
  expect(rotated.accessToken).not.toBe(xAcc.credentials.accessToken);
  scan.add('x rotated access token', rotated.accessToken as string).add('x rotated refresh token', rotated.refreshToken as string);

  // The logs were really written (debug level, API and worker), and none holds a secret in any form.
  const coverage = scan.coverage();
  expect(coverage['api+worker logs'].lines).toBeGreaterThan(20);
  expect(h.logs.some((l) => /"published"/.test(l))).toBe(true);
  expect(describeFindings(scan.findings())).toEqual([]);
});
