// With a configured cap (RATE_LIMIT_INSTAGRAM=2/1d) and a real worker: a pipeline moved by "whenFull": "next_slot"
// runs its stages and then waits, scheduled, for the moved time; its timeline starts with the move.
import { startHarness, type Harness } from '../../../helpers/harness';

let h: Harness;
const ids: string[] = [];
beforeAll(async () => {
  h = await startHarness({ env: { RATE_LIMIT_INSTAGRAM: '2/1d' } });
}, 60_000);
afterAll(async () => {
  // Leave nothing waiting on the shared dev server.
  for (const id of ids) await h?.api('POST', `/v1/pipelines/${id}/cancel`).catch(() => undefined);
  await h?.stop();
});

const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

it('moves to the next free time, waits scheduled for it, and says so first in its timeline', async () => {
  const account = await h.api('POST', '/v1/accounts', { platform: 'instagram', handle: 'brand_ig', credentials: { accessToken: 'secret-token' }, settings: { igUserId: '1789' } });
  expect(account.status).toBe(201);
  const targets = [{ platform: 'instagram', accountId: account.body.id }];
  const first = Math.ceil((Date.now() + 48 * H) / 60_000) * 60_000;
  for (const at of [first, first + H]) {
    const res = await h.api('POST', '/v1/pipelines', { topic: 'Filling the day', publishAt: iso(at), targets, image: { mode: 'none' } });
    expect(res.status).toBe(202);
    ids.push(res.body.id);
  }
  const refused = await h.api('POST', '/v1/pipelines', { topic: 'One too many', publishAt: iso(first + 2 * H), targets, image: { mode: 'none' } });
  expect(refused.status).toBe(422);
  expect(refused.body.error.details[0]).toEqual(expect.objectContaining({ cap: { count: 2, window: '24 h' }, nextFreeAt: iso(first + 24 * H) }));

  const moved = await h.api('POST', '/v1/pipelines', { topic: 'One too many', publishAt: iso(first + 2 * H), targets, image: { mode: 'none' }, whenFull: 'next_slot' });
  expect(moved.status).toBe(202);
  ids.push(moved.body.id);
  const waiting = await h.waitFor(moved.body.id, (s) => s.status === 'scheduled', { timeoutMs: 60_000 });
  expect(waiting.publishAt).toBe(iso(first + 24 * H));
  expect(waiting.request.publishAt).toBe(iso(first + 2 * H));
  expect(waiting.publications).toEqual([expect.objectContaining({ platform: 'instagram', status: 'pending' })]);

  const timeline = await h.api('GET', `/v1/pipelines/${moved.body.id}/timeline`);
  expect(timeline.status).toBe(200);
  const events = timeline.body.events;
  expect(events[0]).toEqual(expect.objectContaining({ type: 'publish_time', from: iso(first + 2 * H), to: iso(first + 24 * H), reason: expect.stringContaining('daily cap full') }));
  expect(events.filter((e: any) => e.type === 'stage').map((e: any) => e.to)).toContain('scheduled');
  // The move is recorded once: the workflow's own state saves add no second publish_time event.
  expect(events.filter((e: any) => e.type === 'publish_time')).toHaveLength(1);
}, 120_000);
