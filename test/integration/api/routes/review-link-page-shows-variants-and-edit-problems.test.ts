// The reviewer's page against a real Herald: what it shows (content, images, every platform's variant with numbered
// thread parts and counts), what it hides, and how a bad edit comes back (422, the reason next to the field, the link
// still usable).
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

let h: Harness;
beforeAll(async () => {
  // Request logging on, to check that the link (the reviewer's credential) stays out of the logs.
  h = await startHarness({ env: { LOG_LEVEL: 'info' } });
}, 120_000);
afterAll(async () => {
  await h?.stop();
});
jest.setTimeout(120_000);

const escaped = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const awaiting = async (extra: Record<string, unknown>) => {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true, timeout: '2h' }, ...extra }));
  expect(res.status).toBe(202);
  return h.waitFor(res.body.id, (s) => s.status === 'awaiting_approval');
};
const makeLink = async (id: string) => {
  const res = await h.api('POST', `/v1/pipelines/${id}/review-link`, {});
  expect(res.status).toBe(201);
  return res.body.url as string;
};
const getPage = (url: string) => fetch(url, { headers: { accept: 'text/html' } });
const postForm = (url: string, fields: Record<string, string>) =>
  fetch(url, { method: 'POST', headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });

it('shows title, body, hashtags, images and every platform’s variant, thread parts numbered with counts, and no internals', async () => {
  const brief = Array.from({ length: 14 }, (_, i) => `Durable workflows keep step ${i + 1} of every run on record, so nothing is lost when a worker dies.`).join(' ');
  const s = await awaiting({ format: 'thread', brief, image: { mode: 'auto', sources: ['card'] }, targets: [{ platform: 'x' }, { platform: 'linkedin' }, { platform: 'mastodon' }] });
  const x = s.variants.find((v: any) => v.platform === 'x');
  expect(x.parts.length).toBeGreaterThan(1);
  expect(s.images.length).toBeGreaterThan(0);

  const res = await getPage(await makeLink(s.id));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  const html = await res.text();
  expect(html).toMatch(/^<!doctype html>/);
  expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  expect(html).toContain(escaped(s.content.title));
  expect(html).toContain(escaped(s.content.body));
  for (const tag of s.content.hashtags) expect(html).toContain(`#${escaped(tag.replace(/^#/, ''))}`);
  for (const img of s.images) expect(html).toContain(`<img src="${escaped(img.url)}" alt="${escaped(img.alt)}"`);
  for (const heading of ['X', 'LinkedIn', 'Mastodon']) expect(html).toMatch(new RegExp(`<h3 id="v-[a-z]+">${heading}`));
  // X's thread: an ordered list with every part, each with its count against 280.
  expect(html).toContain(`<ol aria-label="X: ${x.parts.length} posts">`);
  for (const part of s.variants.flatMap((v: any) => v.parts)) expect(html).toContain(escaped(part));
  expect(html.match(/ of 280 counted/g)?.length).toBe(x.parts.length);
  expect(html).toMatch(/ of 3000 counted/);
  // Every control has a label; both forms post to the link.
  for (const id of ['title', 'body', 'variant-x', 'variant-linkedin', 'variant-mastodon', 'reason']) {
    expect(html).toContain(`<label for="${id}">`);
    expect(html).toMatch(new RegExp(`id="${id}"`));
  }
  expect(html).toMatch(/<form method="post" action="\/review\/[^"]+\/approve">/);
  expect(html).toMatch(/<form method="post" action="\/review\/[^"]+\/reject">/);
  // No script, no inline style attribute the CSP would block, nothing internal.
  expect(html).not.toMatch(/<script|style="/);
  for (const secret of [h.tenants.a, h.keys.a, `pipeline-${h.tenants.a}`, '8233']) expect(html).not.toContain(secret);
});

it('shows an X edit over 280 next to its field with 422, as /approve words it, and the link still approves afterwards', async () => {
  const s = await awaiting({ format: 'post' });
  const url = await makeLink(s.id);
  const tooLong = 'Durable workflows beat cron jobs because every step is recorded and retried. '.repeat(5).trim();

  const viaApi = await h.api('POST', `/v1/pipelines/${s.id}/approve`, { edits: { variants: { x: tooLong } } });
  expect(viaApi.status).toBe(422);

  const res = await postForm(`${url}/approve`, { title: s.content.title, body: s.content.body, 'variants.x': tooLong, 'variants.linkedin': '' });
  expect(res.status).toBe(422);
  const html = await res.text();
  // The reason is the one POST /v1/pipelines/{id}/approve gives, shown under the X field, which is marked invalid and keeps the text.
  expect(viaApi.body.error.message).toMatch(/^x: .*280/);
  expect(html).toContain(`<p class="error" id="variant-x-error">${escaped(viaApi.body.error.message)}</p>`);
  expect(html).toMatch(/<textarea id="variant-x" name="variants.x" rows="4" aria-invalid="true" aria-describedby="variant-x-error">/);
  expect(html).toContain(escaped(tooLong));
  expect(html).toContain('role="alert"');

  const viaJson = await fetch(`${url}/approve`, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({ edits: { variants: { x: tooLong } } }),
  });
  expect(viaJson.status).toBe(422);
  expect(await viaJson.json()).toEqual(viaApi.body);

  // Nothing was decided: the page still opens and approves, and the pipeline publishes the variants it showed.
  expect((await h.api('GET', `/v1/pipelines/${s.id}`)).body.approval.decision).toBeNull();
  expect((await getPage(url)).status).toBe(200);
  const ok = await postForm(`${url}/approve`, { title: s.content.title, body: s.content.body, 'variants.x': '', 'variants.linkedin': '' });
  expect(ok.status).toBe(200);
  const done = await h.waitFor(s.id, (st) => st.status === 'published');
  expect(done.approval).toMatchObject({ decision: 'approved', edited: false, by: 'review_link' });
  expect(done.variants.map((v: any) => v.parts)).toEqual(s.variants.map((v: any) => v.parts));

  // Requests are logged (the API's own routes are there), the review link's token is not; the decision is, by link id.
  const token = new URL(url).pathname.split('/').pop()!;
  expect(h.logs.some((l) => l.includes(`/v1/pipelines/${s.id}/review-link`))).toBe(true);
  expect(h.logs.filter((l) => l.includes(token))).toEqual([]);
  const decided = h.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'approved through a review link' && l.pipelineId === s.id);
  expect(decided).toMatchObject({ edited: false, linkId: expect.any(String) });
});
