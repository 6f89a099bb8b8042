// Tenant isolation beyond pipelines: another tenant's event stream, account refresh, account delete and account list.
// Each refusal is checked next to the owner's own success (so a route that refuses everyone cannot pass), and against
// what the X imitation server received (a refused refresh reaches no platform).
import { startXFake, type XFake } from '../../../fakes/x-server';
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

jest.setTimeout(120_000);

let h: Harness;
let x: XFake;

beforeAll(async () => {
  x = await startXFake({ clientId: 'herald-tenancy-client' });
  h = await startHarness({ env: { X_API_BASE_URL: x.url, X_CLIENT_ID: 'herald-tenancy-client', TEXT_PROVIDERS: 'offline', IMAGE_SOURCES: 'card' } });
});
afterAll(async () => {
  await h?.stop();
  await x?.close();
});

function expectNotFound(res: { status: number; body: any }): void {
  expect(res.status).toBe(404);
  expect(res.body).toEqual({ error: { code: 'not_found', message: expect.any(String), details: expect.anything() } });
}

async function connectX(key: string): Promise<{ id: string; handle: string; tokens: { accessToken: string; refreshToken: string } }> {
  const tokens = x.issueTokens();
  const handle = `tenancy_${Math.random().toString(36).slice(2, 8)}`;
  const res = await h.api(
    'POST',
    '/v1/accounts',
    {
      platform: 'x',
      handle,
      credentials: { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken },
      settings: { userId: x.user.id, username: x.user.username },
      expiresAt: new Date(Date.now() + 10 * 60_000).toISOString(),
    },
    { key },
  );
  expect(res.status).toBe(201);
  return { id: res.body.id, handle, tokens };
}

const tokenRequests = () => x.requests.filter((r) => r.path === '/2/oauth2/token').length;

describe('event streams', () => {
  it("another tenant's GET /v1/pipelines/{id}/events is 404 with no event in it; the owner's streams events", async () => {
    const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true } }), { key: h.keys.a });
    expect(res.status).toBe(202);
    const id = res.body.id;
    await h.waitFor(id, (s) => s.status === 'awaiting_approval');

    const asB = await fetch(`${h.baseUrl}/v1/pipelines/${id}/events`, { headers: { authorization: `Bearer ${h.keys.b}`, accept: 'text/event-stream' } });
    expect(asB.status).toBe(404);
    expect(asB.headers.get('content-type')).not.toMatch(/event-stream/);
    const text = await asB.text();
    expect(text).not.toMatch(/^(event|data):/m);
    expect(text).not.toContain('awaiting_approval');
    expect(JSON.parse(text)).toEqual({ error: { code: 'not_found', message: expect.any(String), details: expect.anything() } });

    // The owner's stream: events, up to the terminal status once A rejects it.
    const controller = new AbortController();
    const asA = await fetch(`${h.baseUrl}/v1/pipelines/${id}/events`, { headers: { authorization: `Bearer ${h.keys.a}` }, signal: controller.signal });
    expect(asA.status).toBe(200);
    expect(asA.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect((await h.api('POST', `/v1/pipelines/${id}/reject`, { reason: 'tenancy test' })).status).toBe(200);
    const stream = await asA.text(); // ends after the terminal status
    const statuses = [...stream.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]).status);
    expect(statuses).toContain('awaiting_approval');
    expect(statuses[statuses.length - 1]).toBe('rejected');
  });

  it('an unknown pipeline id is the same 404 as another tenant\'s: nothing tells the two apart', async () => {
    const res = await fetch(`${h.baseUrl}/v1/pipelines/pl_doesnotexist000/events`, { headers: { authorization: `Bearer ${h.keys.b}` } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe('accounts', () => {
  it("another tenant's POST /v1/accounts/{id}/refresh is 404 and reaches no platform; the owner's refresh does", async () => {
    const acc = await connectX(h.keys.a);
    const before = tokenRequests();
    expectNotFound(await h.api('POST', `/v1/accounts/${acc.id}/refresh`, undefined, { key: h.keys.b }));
    // Nothing refreshed: X saw no token request, and A's account is as it was.
    expect(tokenRequests()).toBe(before);
    const untouched = (await h.api('GET', `/v1/accounts/${acc.id}`)).body;
    expect(untouched.lastRefreshedAt ?? null).toBeNull();

    // The owner's refresh goes through to X (so the route does refresh, and the 404 above was isolation).
    const own = await h.api('POST', `/v1/accounts/${acc.id}/refresh`);
    expect(own.status).toBe(200);
    expect(tokenRequests()).toBe(before + 1);
    expect(own.body.lastRefreshedAt).toEqual(expect.any(String));
  });

  it("another tenant's DELETE /v1/accounts/{id} is 404 and the account stays its owner's", async () => {
    const acc = await connectX(h.keys.a);
    expectNotFound(await h.api('DELETE', `/v1/accounts/${acc.id}`, undefined, { key: h.keys.b }));
    const still = await h.api('GET', `/v1/accounts/${acc.id}`);
    expect(still.status).toBe(200);
    expect(still.body.id).toBe(acc.id);
    expect((await h.api('GET', '/v1/accounts')).body.items.map((a: any) => a.id)).toContain(acc.id);
    // A publication to it still works for A (dry run: the account is found and used).
    const p = await h.api('POST', '/v1/pipelines', dryRunRequest({ targets: [{ platform: 'x', accountId: acc.id }] }));
    expect(p.status).toBe(202);
    const done = await h.waitFor(p.body.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status));
    expect(done.status).toBe('published');

    // The owner's delete works, and then the account is gone for the owner too.
    expect((await h.api('DELETE', `/v1/accounts/${acc.id}`)).status).toBe(204);
    expectNotFound(await h.api('GET', `/v1/accounts/${acc.id}`));
  });

  it("tenant B never sees A's accounts: not in its list, not by id; and A never sees B's", async () => {
    const a1 = await connectX(h.keys.a);
    const a2 = await connectX(h.keys.a);
    const b1 = await connectX(h.keys.b);
    const listA = await h.api('GET', '/v1/accounts', undefined, { key: h.keys.a });
    const listB = await h.api('GET', '/v1/accounts', undefined, { key: h.keys.b });
    expect(listA.status).toBe(200);
    expect(listB.status).toBe(200);
    const idsA = listA.body.items.map((a: any) => a.id);
    const idsB = listB.body.items.map((a: any) => a.id);
    expect(idsA).toEqual(expect.arrayContaining([a1.id, a2.id]));
    expect(idsB).toContain(b1.id);
    expect(idsB).not.toContain(a1.id);
    expect(idsB).not.toContain(a2.id);
    expect(idsA).not.toContain(b1.id);
    // Nothing of A's accounts anywhere in B's answer (handles included).
    const textB = JSON.stringify(listB.body);
    for (const a of [a1, a2]) {
      expect(textB).not.toContain(a.id);
      expect(textB).not.toContain(a.handle);
    }
    expectNotFound(await h.api('GET', `/v1/accounts/${a1.id}`, undefined, { key: h.keys.b }));
    expectNotFound(await h.api('GET', `/v1/accounts/${b1.id}`, undefined, { key: h.keys.a }));
    // A pipeline of B's naming A's account is refused or fails without touching it: it must not publish with it.
    const before = x.posts.length;
    const p = await h.api('POST', '/v1/pipelines', { topic: 'Cross-tenant account', targets: [{ platform: 'x', accountId: a1.id }], image: { mode: 'none' } }, { key: h.keys.b });
    if (p.status === 202) {
      const done = await h.waitFor(p.body.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status), { key: h.keys.b, timeoutMs: 60_000 });
      expect(done.status).toBe('failed');
    } else {
      expect(p.status).toBeGreaterThanOrEqual(400);
      expect(p.status).toBeLessThan(500);
    }
    expect(x.posts.length).toBe(before);
  });
});
