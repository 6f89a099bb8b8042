// A publishAt at which an account's daily cap is already full: POST /v1/pipelines answers 422 naming the next free
// time, or with "whenFull": "next_slot" moves the pipeline there and its timeline says so; two requests racing for
// the last slot get it once.
import { startHarness, type Harness } from '../../../helpers/harness';

let h: Harness;
beforeAll(async () => {
  // No worker: the pipelines that fill the cap stay scheduled, as far-off posts do.
  h = await startHarness({ withWorker: false });
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function instagramAccount(handle: string): Promise<string> {
  const res = await h.api('POST', '/v1/accounts', { platform: 'instagram', handle, credentials: { accessToken: 'secret-token', igUserId: '1789' } });
  expect(res.status).toBe(201);
  return res.body.id;
}

const post = (accountId: string, publishAt: number, extra: Record<string, unknown> = {}) =>
  h.api('POST', '/v1/pipelines', { topic: `Post at ${iso(publishAt)}`, publishAt: iso(publishAt), targets: [{ platform: 'instagram', accountId }], ...extra });

/** `count` scheduled posts for the account, a minute apart from `first`, through the API (10 at a time). */
async function fill(accountId: string, first: number, count: number) {
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: Math.min(10, count - i) }, (_, j) => post(accountId, first + (i + j) * 60_000));
    for (const res of await Promise.all(batch)) expect(res.status).toBe(202);
  }
}

async function pipelineCount(accountId: string): Promise<number> {
  const { rows } = await h.pool.query(`SELECT count(*)::int AS n FROM pipelines WHERE tenant_id = $1 AND request->'targets'->0->>'accountId' = $2`, [h.tenants.a, accountId]);
  return rows[0].n;
}

describe('POST /v1/pipelines with publishAt and a full daily cap', () => {
  let ig: string;
  let first: number;
  beforeAll(async () => {
    ig = await instagramAccount('brand_ig');
    first = Math.ceil((Date.now() + 48 * H) / 60_000) * 60_000;
    await fill(ig, first, 50);
  }, 120_000);

  it('is refused with 422 naming the next free time', async () => {
    const res = await post(ig, first + 5 * H);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('unprocessable');
    expect(res.body.error.message).toContain(iso(first + 24 * H));
    expect(res.body.error.details).toEqual([
      expect.objectContaining({ path: 'publishAt', code: 'daily_cap_full', target: 0, platform: 'instagram', accountId: ig, cap: { count: 50, window: '24 h' }, nextFreeAt: iso(first + 24 * H) }),
    ]);
    expect(await pipelineCount(ig)).toBe(50);
    // A dry run publishes nowhere and is not counted against the account.
    const dry = await h.api('POST', '/v1/pipelines', { topic: 'Dry', publishAt: iso(first + 5 * H), targets: [{ platform: 'instagram', accountId: ig }], dryRun: true });
    expect(dry.status).toBe(202);
  });

  it('with "whenFull": "next_slot" moves publishAt to the next free time, and the timeline says so', async () => {
    const asked = first + 5 * H;
    const res = await post(ig, asked, { whenFull: 'next_slot' });
    expect(res.status).toBe(202);
    expect(res.body.publishAt).toBe(iso(first + 24 * H));
    expect(res.body.request.publishAt).toBe(iso(asked));
    expect(res.body.request.whenFull).toBe('next_slot');
    // The timeline as stored (GET /v1/pipelines/{id}/timeline lists these rows): read with SQL, no worker has run.
    const { rows } = await h.pool.query('SELECT type, data FROM pipeline_timeline WHERE tenant_id = $1 AND pipeline_id = $2', [h.tenants.a, res.body.id]);
    expect(rows).toEqual([
      { type: 'publish_time', data: { from: iso(asked), to: iso(first + 24 * H), reason: expect.stringContaining(`instagram account ${ig} (50 per 24 h)`) } },
    ]);
    // That slot is now taken: the next request moves further, past the second post's day.
    const again = await post(ig, asked, { whenFull: 'next_slot' });
    expect(again.status).toBe(202);
    expect(again.body.publishAt).toBe(iso(first + 60_000 + 24 * H));
  });

  it('two requests racing for the last slot: exactly one gets it', async () => {
    const other = await instagramAccount('brand_ig_2');
    await fill(other, first, 49);
    const racers = await Promise.all([post(other, first + 2 * H), post(other, first + 3 * H), post(other, first + 4 * H)]);
    expect(racers.map((r) => r.status).sort()).toEqual([202, 422, 422]);
    expect(await pipelineCount(other)).toBe(50);
  }, 120_000);
});
