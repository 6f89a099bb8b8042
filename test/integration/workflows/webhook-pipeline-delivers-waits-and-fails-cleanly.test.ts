import { startFakeWebhookServer } from '../../fakes/webhook-server';
import { startHarness, type Harness } from '../../helpers/harness';

type Fake = Awaited<ReturnType<typeof startFakeWebhookServer>>;
let h: Harness;
let fake: Fake;

beforeAll(async () => {
  fake = await startFakeWebhookServer();
  h = await startHarness({ env: { LOG_LEVEL: 'debug', RATE_LIMIT_WEBHOOK: '2/3s' } });
});
afterAll(async () => {
  await h?.stop();
  await fake?.close();
});

async function connect(platform: 'slack' | 'discord' | 'webhook', path: string) {
  const res = await h.api('POST', '/v1/accounts', { platform, handle: `${platform}-test`, credentials: { url: `${fake.url}${path}` } });
  expect(res.status).toBe(201);
  return res.body;
}

describe('Slack, Discord and webhooks publish for real through the pipeline', () => {
  it('delivers each post exactly once and ends published, with no secret returned', async () => {
    const slack = await connect('slack', '/slack/T000/B000/secret-slack-path');
    const discord = await connect('discord', '/discord/123/secret-discord-token');
    const hook = await connect('webhook', '/hook/secret-hook-path');
    for (const a of [slack, discord, hook]) {
      expect(JSON.stringify(a)).not.toContain('secret-');
      expect(a.status).toBe('active');
    }
    const listed = await h.api('GET', '/v1/accounts');
    expect(JSON.stringify(listed.body)).not.toContain('secret-');

    const before = fake.received.length;
    const res = await h.api('POST', '/v1/pipelines', {
      topic: 'Release notes for Herald 0.1',
      brief: 'Herald publishes everywhere exactly once. It waits for approval when asked.',
      targets: [
        { platform: 'slack', accountId: slack.id },
        { platform: 'discord', accountId: discord.id },
        { platform: 'webhook', accountId: hook.id },
      ],
    });
    expect(res.status).toBe(202);
    const done = await h.waitFor(res.body.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status));
    expect(done.status).toBe('published');
    expect(done.publications.map((p: any) => p.status)).toEqual(['published', 'published', 'published']);
    const got = fake.received.slice(before);
    expect(got.filter((r) => r.path.startsWith('/slack'))).toHaveLength(1);
    expect(got.filter((r) => r.path.startsWith('/discord'))).toHaveLength(1);
    expect(got.filter((r) => r.path.startsWith('/hook'))).toHaveLength(1);
    const slackBody = got.find((r) => r.path.startsWith('/slack'))!.body as any;
    expect(slackBody.text).toContain(done.content.title.split(' ')[0]);
    expect(JSON.stringify(done)).not.toContain('secret-');
  });

  it('waits as long as a Discord 429 asks, then publishes once', async () => {
    const discord = await connect('discord', '/discord/456/secret-token-2');
    fake.failNext(429, { message: 'You are being rate limited.', retry_after: 1.5, global: false });
    const before = fake.received.length;
    const started = Date.now();
    const res = await h.api('POST', '/v1/pipelines', { topic: 'Rate limits honoured', targets: [{ platform: 'discord', accountId: discord.id }] });
    const done = await h.waitFor(res.body.id, (s) => ['published', 'failed'].includes(s.status), { timeoutMs: 30_000 });
    expect(done.status).toBe('published');
    // The 429, then (Discord is paced at its 30 a minute) possibly one wait for its reserved slot, then the post.
    expect(done.publications[0].attempts).toBeGreaterThanOrEqual(2);
    const accepted = fake.received.slice(before).filter((r) => r.path.startsWith('/discord/456'));
    expect(accepted).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
  });

  it('fails a publication with a clear error when the webhook is gone (404), without retrying', async () => {
    const hook = await connect('webhook', '/hook/secret-gone');
    fake.failNext(404, { error: 'no_such_hook' });
    const res = await h.api('POST', '/v1/pipelines', { topic: 'A dead hook', targets: [{ platform: 'webhook', accountId: hook.id }] });
    const done = await h.waitFor(res.body.id, (s) => ['published', 'failed'].includes(s.status));
    expect(done.status).toBe('failed');
    expect(done.publications[0].status).toBe('failed');
    expect(done.publications[0].error?.message).toMatch(/404/);
    expect(JSON.stringify(done.publications[0].error)).not.toContain('secret-gone');
    expect(done.publications[0].attempts).toBe(1);
  });

  it('never writes a webhook URL or credential to a log line', () => {
    // Debug-level logs of the API (requests) and the worker (publishes) were captured for this whole file.
    expect(h.logs.some((l) => l.includes('"msg":"published"'))).toBe(true);
    expect(h.logs.some((l) => l.includes('/v1/accounts'))).toBe(true);
    const leaked = h.logs.filter((l) => l.includes('secret-'));
    expect(leaked).toEqual([]);
  });

  it('retries a 500 from the webhook and publishes once', async () => {
    const hook = await connect('webhook', '/hook/secret-flaky');
    fake.failNext(500, { error: 'boom' });
    const before = fake.received.length;
    const res = await h.api('POST', '/v1/pipelines', { topic: 'A flaky hook', targets: [{ platform: 'webhook', accountId: hook.id }] });
    const done = await h.waitFor(res.body.id, (s) => ['published', 'failed'].includes(s.status), { timeoutMs: 30_000 });
    expect(done.status).toBe('published');
    expect(done.publications[0].attempts).toBe(2);
    expect(fake.received.slice(before).filter((r) => r.path.startsWith('/hook/secret-flaky'))).toHaveLength(1);
  });

  it('a publication over the account\'s quota waits (status waiting, retryAt) instead of failing, then publishes', async () => {
    const hook = await connect('webhook', '/hook/secret-quota');
    const before = fake.received.length;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await h.api('POST', '/v1/pipelines', { topic: `Quota ${i}`, targets: [{ platform: 'webhook', accountId: hook.id }], image: { mode: 'none' } });
      ids.push(res.body.id);
    }
    let sawWaiting: any = null;
    const deadline = Date.now() + 30_000;
    while (!sawWaiting && Date.now() < deadline) {
      for (const id of ids) {
        const s = (await h.api('GET', `/v1/pipelines/${id}`)).body;
        const p = s.publications[0];
        if (p.status === 'waiting') sawWaiting = p;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(sawWaiting).toMatchObject({ status: 'waiting', retryAt: expect.any(String) });
    expect(Date.parse(sawWaiting.retryAt)).toBeGreaterThan(Date.now() - 5000);
    const done = await Promise.all(ids.map((id) => h.waitFor(id, (s) => ['published', 'failed'].includes(s.status), { timeoutMs: 30_000 })));
    expect(done.map((d) => d.status)).toEqual(['published', 'published', 'published']);
    const got = fake.received.slice(before).filter((r) => r.path === '/hook/secret-quota');
    expect(got).toHaveLength(3);
    const times = got.map((r: any) => r.at ?? 0);
    if (times.every((t: number) => t > 0)) expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(3000);
  });

  it('an account of another tenant cannot be used or seen', async () => {
    const hook = await connect('webhook', '/hook/secret-tenant-a');
    const asB = { key: h.keys.b };
    expect((await h.api('GET', `/v1/accounts/${hook.id}`, undefined, asB)).status).toBe(404);
    const res = await h.api('POST', '/v1/pipelines', { topic: 'x', targets: [{ platform: 'webhook', accountId: hook.id }] }, asB);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/no connected account/);
  });
});
