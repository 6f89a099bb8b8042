// POST /v1/validate reports, without storing or starting anything: text over a platform's limit, unknown (or another
// tenant's) and reauth_required accounts, a publish time in the past, and an Instagram daily cap already full.
import { startHarness, type Harness } from '../../../helpers/harness';

let h: Harness;
beforeAll(async () => {
  // No worker: pipelines made to fill the cap stay scheduled (queued), exactly as far-off scheduled posts would.
  h = await startHarness({ withWorker: false });
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

const H = 3_600_000;
const longBody = 'Durable workflows keep every step on record. '.repeat(8).trim(); // 359 characters

async function connect(platform: string, handle: string, key = h.keys.a): Promise<string> {
  const res = await h.api('POST', '/v1/accounts', { platform, handle, credentials: { accessToken: 'secret-token' } }, { key });
  expect(res.status).toBe(201);
  return res.body.id;
}

async function validate(body: unknown) {
  const res = await h.api('POST', '/v1/validate', body);
  expect(res.status).toBe(200);
  return res.body;
}

async function pipelineRows(): Promise<number> {
  const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM pipelines WHERE tenant_id = $1', [h.tenants.a]);
  return rows[0].n;
}

async function workflowCount(): Promise<number> {
  return (await h.client.workflow.count(`HeraldTenant = "${h.tenants.a}"`)).count;
}

describe('POST /v1/validate', () => {
  it('finds an X variant over its limit in exact content, and previews the thread Herald would make instead', async () => {
    const x = await connect('x', 'brand_x');
    const post = await validate({ content: { title: 'Durable', body: longBody, hashtags: [] }, format: 'post', targets: [{ platform: 'x', accountId: x }] });
    expect(post.ok).toBe(false);
    expect(post.targets).toEqual([{ platform: 'x', accountId: x, variant: null, note: 'x: the body is 359 weighted characters, limit 280' }]);
    expect(post.problems).toEqual([
      {
        target: 0,
        platform: 'x',
        path: 'content.body',
        code: 'text_too_long',
        message: 'x: the body is 359 weighted characters, limit 280',
        hint: 'shorten the x body by 79 weighted characters, use "format": "thread", or give variants.x its own text',
      },
    ]);

    const thread = await validate({ content: { title: 'Durable', body: longBody, hashtags: ['durable'] }, format: 'thread', targets: [{ platform: 'x', accountId: x }] });
    expect(thread.ok).toBe(true);
    expect(thread.problems).toEqual([]);
    const variant = thread.targets[0].variant;
    expect(variant.parts.length).toBeGreaterThan(1);
    expect(variant.limit).toBe(280);
    expect(variant.adaptations).toContain(`split into ${variant.parts.length} posts`);
    for (const part of variant.parts) expect(part.length).toBeLessThanOrEqual(280); // ASCII: one weighted character each

    // A platform's own text is used as it is: over the limit, it is the problem, at variants.x.
    const own = await validate({ content: { title: 'T', body: 'Short.', hashtags: [] }, variants: { x: 'y'.repeat(290) }, targets: [{ platform: 'x', accountId: x }] });
    expect(own.problems).toEqual([expect.objectContaining({ path: 'variants.x', code: 'text_too_long', hint: 'shorten the x variant by 10 weighted characters' })]);
  });

  it('finds unknown accounts (another tenant\'s included) and one that needs re-authorisation', async () => {
    const theirs = await connect('linkedin', 'their_page', h.keys.b);
    const stale = await connect('mastodon', 'brand_social');
    // The account's token was refused at its last refresh: what the refresh workflow records.
    await h.pool.query("UPDATE accounts SET status = 'reauth_required', last_error = 'invalid_grant' WHERE id = $1", [stale]);
    const res = await validate({
      topic: 'Launch notes',
      targets: [
        { platform: 'x', accountId: 'acc_does_not_exist' },
        { platform: 'linkedin', accountId: theirs },
        { platform: 'mastodon', accountId: stale },
      ],
    });
    expect(res.ok).toBe(false);
    expect(res.problems.map((p: any) => [p.target, p.path, p.code])).toEqual([
      [0, 'targets.0.accountId', 'unknown_account'],
      [1, 'targets.1.accountId', 'unknown_account'],
      [2, 'targets.2.accountId', 'account_reauth_required'],
    ]);
    expect(res.problems[2].hint).toContain('reconnect mastodon account brand_social');
    expect(res.problems[2].message).toContain('invalid_grant');
    // With a topic, the text does not exist yet: counts come after generation.
    expect(res.targets.map((t: any) => [t.platform, t.variant, t.note])).toEqual([
      ['x', null, expect.stringContaining('counts come after generation')],
      ['linkedin', null, expect.stringContaining('counts come after generation')],
      ['mastodon', null, expect.stringContaining('counts come after generation')],
    ]);
  });

  it('finds a publish time in the past (a problem in the answer, where POST /v1/pipelines says 400)', async () => {
    const x = await connect('x', 'brand_x_2');
    const body = { topic: 'Yesterday', publishAt: new Date(Date.now() - H).toISOString(), targets: [{ platform: 'x', accountId: x }] };
    const res = await validate(body);
    expect(res.problems).toEqual([expect.objectContaining({ target: null, path: 'publishAt', code: 'publish_at_past' })]);
    const create = await h.api('POST', '/v1/pipelines', body);
    expect(create.status).toBe(400);
  });

  it('finds an Instagram cap already full at publishAt, naming the next free time', async () => {
    const ig = await connect('instagram', 'brand_ig');
    const first = Math.ceil((Date.now() + 48 * H) / 60_000) * 60_000;
    // 50 scheduled Instagram posts for this account, a minute apart, made through the API.
    for (let i = 0; i < 50; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) =>
        h.api('POST', '/v1/pipelines', { topic: `Post ${i + j}`, publishAt: new Date(first + (i + j) * 60_000).toISOString(), targets: [{ platform: 'instagram', accountId: ig }] }),
      );
      for (const res of await Promise.all(batch)) expect(res.status).toBe(202);
    }
    const res = await validate({ content: { title: 'One more', body: 'A photo caption.', hashtags: ['brand'] }, publishAt: new Date(first + 3 * H).toISOString(), targets: [{ platform: 'instagram', accountId: ig }] });
    expect(res.ok).toBe(false);
    expect(res.problems).toEqual([
      expect.objectContaining({ target: 0, platform: 'instagram', path: 'publishAt', code: 'daily_cap_full', nextFreeAt: new Date(first + 24 * H).toISOString() }),
    ]);
    expect(res.problems[0].hint).toContain('"whenFull": "next_slot"');
    // The caption itself is fine and previewed.
    expect(res.targets[0].variant).toEqual(expect.objectContaining({ platform: 'instagram', parts: ['A photo caption.\n\n#brand'], limit: 2200 }));
    // A day after the first post there is room again.
    const later = await validate({ topic: 'Tomorrow', publishAt: new Date(first + 24 * H).toISOString(), targets: [{ platform: 'instagram', accountId: ig }] });
    expect(later).toEqual(expect.objectContaining({ ok: true, problems: [] }));
  }, 120_000);

  it('stores and starts nothing', async () => {
    const x = await connect('x', 'brand_x_3');
    const request = { topic: 'Counted', publishAt: new Date(Date.now() + 5 * H).toISOString(), targets: [{ platform: 'x', accountId: x }] };
    const rowsBefore = await pipelineRows();
    const deadline = Date.now() + 30_000;
    // Visibility lags a little behind starts: wait for the count of what earlier tests started to settle on the rows.
    while ((await workflowCount()) !== rowsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await workflowCount()).toBe(rowsBefore);

    for (let i = 0; i < 3; i++) expect((await validate(request)).ok).toBe(true);
    expect(await pipelineRows()).toBe(rowsBefore);
    // A real start after the validations: once visibility shows it, the count is exactly one more than before.
    expect((await h.api('POST', '/v1/pipelines', request)).status).toBe(202);
    while ((await workflowCount()) < rowsBefore + 1 && Date.now() < deadline + 30_000) await new Promise((r) => setTimeout(r, 200));
    expect(await workflowCount()).toBe(rowsBefore + 1);
    expect(await pipelineRows()).toBe(rowsBefore + 1);
  }, 90_000);

  it('refuses a body that is neither a pipeline request nor content with 400 naming the field', async () => {
    const res = await h.api('POST', '/v1/validate', { topic: 'Both', content: { body: 'x' }, targets: [{ platform: 'x', dryRun: true }] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    const both = await h.api('POST', '/v1/validate', { topic: 'Both', content: { body: 'x' }, targets: [{ platform: 'x' }], dryRun: true });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toContain('topic');
  });
});
