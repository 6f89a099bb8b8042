// The rest of `herald` against a real Herald (API, worker, Temporal, PostgreSQL): paging through pipelines, a
// refused edit, the timeline, validation, recurring schedules, providers, webhooks (delivered to a receiver on
// 127.0.0.1) and accounts. Each command's text output and its --json (the API's JSON) are checked.
import { dryRunRequest, startHarness, type Harness } from '../../helpers/harness';
import { startWebhookReceiver, type WebhookReceiver } from '../../fakes/webhook-receiver';
import { herald, jsonLines } from './herald-cli';

jest.setTimeout(180_000);

let h: Harness;
let receiver: WebhookReceiver;
let env: Record<string, string>;
beforeAll(async () => {
  h = await startHarness({ env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  receiver = await startWebhookReceiver();
  env = { HERALD_API_URL: h.baseUrl, HERALD_API_KEY: h.keys.b };
});
afterAll(async () => {
  await receiver?.close();
  await h?.stop();
});

async function until<T>(what: string, get: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function json(args: string[]): Promise<any> {
  const r = await herald([...args, '--json'], env);
  if (r.code !== 0) throw new Error(`herald ${args.join(' ')} exited ${r.code}:\n${r.out}`);
  const docs = jsonLines(r.stdout);
  expect(docs).toHaveLength(1);
  return docs[0];
}

it('list pages with --limit and --cursor, filters by --platform, and shows a table', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ topic: `Paging ${i}`, targets: [{ platform: 'mastodon' }] }), { key: h.keys.b });
    ids.push(res.body.id);
  }
  for (const id of ids) await h.waitFor(id, (s) => s.status === 'published', { key: h.keys.b });
  const first = await json(['list', '--platform', 'mastodon', '--limit', '2']);
  expect(first.items.map((p: any) => p.id)).toEqual([ids[2], ids[1]]);
  expect(first.nextCursor).toEqual(expect.any(String));
  const second = await json(['list', '--platform', 'mastodon', '--limit', '2', '--cursor', first.nextCursor]);
  expect(second.items.map((p: any) => p.id)).toEqual([ids[0]]);
  expect(second.nextCursor).toBeNull();

  const text = await herald(['list', '--platform', 'mastodon', '--limit', '2'], env);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^ID\s+STATUS\s+CREATED \(UTC\)\s+TARGETS/m);
  expect(text.stdout).toMatch(new RegExp(`^${ids[2]}\\s+published\\s+.*mastodon\\s+Paging 2`, 'm'));
  expect(text.stdout).toContain(`more: herald list --cursor ${first.nextCursor}`);
});

it('approve with an edit that does not fit is refused (exit 1, 422 naming the platform) and approves nothing', async () => {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true } }), { key: h.keys.b });
  await h.waitFor(res.body.id, (s) => s.status === 'awaiting_approval', { key: h.keys.b });
  const r = await herald(['approve', res.body.id, '--edit-variant', `x=${'far too long for one post '.repeat(20)}`], env);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/422 unprocessable: .*x/);
  expect((await h.api('GET', `/v1/pipelines/${res.body.id}`, undefined, { key: h.keys.b })).body.status).toBe('awaiting_approval');
  await h.api('POST', `/v1/pipelines/${res.body.id}/cancel`, undefined, { key: h.keys.b });
});

it('timeline shows the stages oldest first, and --json is the API answer', async () => {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest(), { key: h.keys.b });
  await h.waitFor(res.body.id, (s) => s.status === 'published', { key: h.keys.b });
  const body = await until('the timeline to record the end', async () => {
    const b = await json(['timeline', res.body.id]);
    return b.events.some((e: any) => e.type === 'stage' && e.to === 'published') && b;
  });
  expect(body.pipelineId).toBe(res.body.id);
  const stages = body.events.filter((e: any) => e.type === 'stage').map((e: any) => e.to);
  expect(stages.indexOf('generating')).toBeLessThan(stages.indexOf('published'));
  const text = await herald(['timeline', res.body.id], env);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/stage\s+generating → illustrating/);
  expect(text.stdout).toMatch(/stage\s+publishing → published/);
});

it('validate: exit 0 with no problem; exit 1 naming an unknown account and a publish time in the past, with hints', async () => {
  const ok = await herald(['validate', '--title', 'Short', '--body', 'A short post that fits everywhere.', '--platform', 'x', '--platform', 'bluesky', '--dry-run'], env);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/^x\s+1 part\(s\), longest \d+\/280/m);
  expect(ok.stdout).toMatch(/ok: no problems found/);

  const bad = await herald(['validate', '--topic', 'T', '--platform', 'x', '--account', 'x=acc_nobody', '--publish-at', '2020-01-01T00:00:00Z'], env);
  expect(bad.code).toBe(1);
  expect(bad.stdout).toMatch(/targets\.0\.accountId: unknown_account: /);
  expect(bad.stdout).toMatch(/publishAt: publish_at_past: /);
  expect(bad.stdout).toMatch(/hint: /);
  const answer = jsonLines((await herald(['validate', '--topic', 'T', '--platform', 'x', '--account', 'x=acc_nobody', '--json'], env)).stdout)[0];
  expect(answer.ok).toBe(false);
  expect(answer.problems.map((p: any) => p.code)).toEqual(['unknown_account']);
});

it('schedules create, list, pause, unpause and delete', async () => {
  const created = await json(['schedules', 'create', '--every', '6h', '--topic', 'Recurring digest', '--platform', 'x', '--dry-run']);
  expect(created).toMatchObject({ every: '6h', paused: false });
  expect((await json(['schedules', 'list'])).items.map((s: any) => s.id)).toContain(created.id);
  expect(await json(['schedules', 'pause', created.id])).toMatchObject({ id: created.id, paused: true, nextRunAt: null });
  const text = await herald(['schedules', 'list'], env);
  expect(text.stdout).toMatch(new RegExp(`^${created.id}\\s+every 6h\\s+paused`, 'm'));
  expect(await json(['schedules', 'unpause', created.id])).toMatchObject({ paused: false, nextRunAt: expect.any(String) });
  expect(await json(['schedules', 'delete', created.id])).toEqual({ id: created.id, deleted: true });
  expect((await json(['schedules', 'list'])).items.map((s: any) => s.id)).not.toContain(created.id);
});

it('providers shows every provider with its breaker', async () => {
  const body = await json(['providers']);
  expect(body.items.map((p: any) => p.provider)).toContain('x');
  const text = await herald(['providers'], env);
  expect(text.stdout).toMatch(/^PROVIDER\s+BREAKER/m);
  expect(text.stdout).toMatch(/^x\s+closed\s+0\s+\d+\/\d+ requests per /m);
});

it('webhooks create (secret once), list, show, test, deliveries, redeliver, delete', async () => {
  const created = await herald(['webhooks', 'create', '--url', `${receiver.url}/hooks`, '--event', 'pipeline.failed', '--description', 'cli test'], env);
  expect(created.code).toBe(0);
  const id = created.stdout.match(/created webhook (\S+) for /)![1];
  expect(created.stdout).toMatch(/^whsec_/m);
  const listed = await json(['webhooks', 'list']);
  expect(listed.items.find((w: any) => w.id === id)).toMatchObject({ url: `${receiver.url}/hooks`, events: ['pipeline.failed'] });
  expect(JSON.stringify(listed)).not.toContain('whsec_');
  expect(await json(['webhooks', 'show', id])).toMatchObject({ id, status: 'active' });

  const test = await json(['webhooks', 'test', id]);
  const delivered = await until('the test delivery to be delivered', async () => {
    const log = await json(['webhooks', 'deliveries', id]);
    return log.items.find((d: any) => d.id === test.id && d.status === 'delivered');
  });
  expect(delivered.lastStatusCode).toBe(200);
  expect(receiver.requests.filter((r) => r.headers['webhook-id'] === test.eventId)).toHaveLength(1);

  const again = await herald(['webhooks', 'redeliver', id, test.id], env);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(`of event ${test.eventId} queued`);
  await until('the redelivery to arrive with the same webhook-id', async () => receiver.requests.filter((r) => r.headers['webhook-id'] === test.eventId).length === 2);
  const log = await herald(['webhooks', 'deliveries', id], env);
  expect(log.stdout).toMatch(/^DELIVERY\s+EVENT\s+STATUS/m);
  expect(log.stdout).toMatch(/webhook\.test\s+delivered\s+1\s+200/);

  expect(await json(['webhooks', 'delete', id])).toEqual({ id, deleted: true });
  const gone = await herald(['webhooks', 'show', id], env);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toMatch(/404 not_found/);
});

it('accounts add, show, refresh and delete; the secret is never printed', async () => {
  const added = await json(['accounts', 'add', '--platform', 'discord', '--handle', 'news-room', '--credential', 'url=https://discord.example.test/api/webhooks/1/secret-token']);
  expect(added).toMatchObject({ platform: 'discord', handle: 'news-room', status: 'active' });
  const shown = await herald(['accounts', 'show', added.id], env);
  expect(shown.stdout).toMatch(new RegExp(`^${added.id}\\s+discord\\s+news-room\\s+active`, 'm'));
  const refreshed = await herald(['accounts', 'refresh', added.id], env);
  expect(refreshed.code).toBe(0);
  expect(refreshed.stdout).toMatch(/not refreshed \(discord tokens do not expire\)/);
  expect(await json(['accounts', 'delete', added.id])).toEqual({ id: added.id, deleted: true });
  const list = await json(['accounts', 'list']);
  expect(list.items.map((a: any) => a.id)).not.toContain(added.id);
  expect(shown.out + refreshed.out + JSON.stringify(added) + JSON.stringify(list)).not.toContain('secret-token');
});
