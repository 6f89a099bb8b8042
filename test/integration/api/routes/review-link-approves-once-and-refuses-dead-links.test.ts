// Review links against a real Herald (API, worker, Temporal, PostgreSQL): a link approves once, through a browser form
// or JSON, and is refused with a clear page and status once used, expired, outdated by a content change, tampered
// with or pointed at another pipeline.
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
}, 120_000);
afterAll(async () => {
  await h?.stop();
});
jest.setTimeout(120_000);

const awaiting = async (extra: Record<string, unknown> = {}) => {
  const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true }, ...extra }));
  expect(res.status).toBe(202);
  return h.waitFor(res.body.id, (s) => s.status === 'awaiting_approval');
};
const makeLink = async (id: string, body: Record<string, unknown> = {}) => {
  const res = await h.api('POST', `/v1/pipelines/${id}/review-link`, body);
  if (res.status !== 201) throw new Error(`review-link answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body as { url: string; expiresAt: string };
};
const pathOf = (url: string) => new URL(url).pathname;
const escaped = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const tokenOf = (url: string) => pathOf(url).split('/').pop()!;

/** What a browser does: no API key, Accept text/html, and form posts. */
const browser = {
  get: (url: string) => fetch(url, { headers: { accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8' } }),
  post: (url: string, fields: Record<string, string>) =>
    fetch(url, { method: 'POST', headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() }),
};
/** What a script does: JSON in, JSON out, still without an API key. */
const json = async (method: string, url: string, body?: unknown) => {
  const res = await fetch(url, {
    method,
    headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
};

describe('making a link', () => {
  it('needs the API key of the pipeline’s tenant, and a pipeline awaiting approval', async () => {
    const s = await awaiting();
    expect((await h.api('POST', `/v1/pipelines/${s.id}/review-link`, {}, { key: null })).status).toBe(401);
    expect((await h.api('POST', `/v1/pipelines/${s.id}/review-link`, {}, { key: h.keys.b })).status).toBe(404);
    const bad = await h.api('POST', `/v1/pipelines/${s.id}/review-link`, { expiresIn: '0s' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/expiresIn/);

    const before = Date.now();
    const link = await makeLink(s.id);
    expect(link.url.startsWith(`${h.config.publicBaseUrl}/review/`)).toBe(true);
    for (const key of Object.values(h.keys)) expect(link.url).not.toContain(key);
    // REVIEW_LINK_TTL's default, 72 hours.
    const ttl = Date.parse(link.expiresAt) - before;
    expect(ttl).toBeGreaterThan(72 * 3_600_000 - 60_000);
    expect(ttl).toBeLessThanOrEqual(72 * 3_600_000 + 60_000);

    const done = await h.api('POST', `/v1/pipelines/${s.id}/reject`, { reason: 'test over' });
    expect(done.status).toBe(200);
    const late = await h.api('POST', `/v1/pipelines/${s.id}/review-link`, {});
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('conflict');
  });
});

describe('a link approves once', () => {
  it('approves through the page’s form, with edits, and the pipeline publishes as edited; every link of it is then refused', async () => {
    const s = await awaiting();
    const a = await makeLink(s.id);
    const b = await makeLink(s.id);
    expect(a.url).not.toBe(b.url);

    const page = await browser.get(a.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(escaped(s.content.title));

    // The form as a browser sends it: the title and body pre-filled as shown (with CRLF line breaks), one platform rewritten.
    const xText = 'Reviewed by a person: durable workflows beat cron jobs.';
    const res = await browser.post(`${a.url}/approve`, { title: s.content.title, body: s.content.body.replace(/\n/g, '\r\n'), 'variants.x': xText, 'variants.linkedin': '' });
    const answer = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(answer).toContain('Approved');

    const done = await h.waitFor(s.id, (st) => st.status === 'published');
    expect(done.approval).toMatchObject({ decision: 'approved', edited: true, by: 'review_link' });
    expect(done.variants.find((v: any) => v.platform === 'x').parts).toEqual([xText]);
    // Only what the reviewer changed: the body and title stay as they were, LinkedIn keeps its variant.
    expect(done.content.body).toBe(s.content.body);
    expect(done.variants.find((v: any) => v.platform === 'linkedin').parts).toEqual(s.variants.find((v: any) => v.platform === 'linkedin').parts);
    expect(JSON.stringify(done.publications.find((p: any) => p.platform === 'x').preview)).toContain(xText);

    // The content changed with the approval: both links are outdated (not merely "decided"), on the page and in JSON.
    for (const link of [a, b]) {
      const again = await browser.get(link.url);
      expect(again.status).toBe(410);
      expect(await again.text()).toContain('The content changed');
      const viaJson = await json('POST', `${link.url}/approve`, {});
      expect(viaJson.status).toBe(410);
      expect(viaJson.body.error).toMatchObject({ code: 'gone', details: [{ reason: 'content_changed' }] });
    }
  });

  it('approves through JSON without edits once; a second use, and any other link of it, is refused as decided', async () => {
    const s = await awaiting();
    const a = await makeLink(s.id);
    const b = await makeLink(s.id);
    const first = await json('POST', `${a.url}/approve`, {});
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ decision: 'approved', edited: false });

    const second = await json('POST', `${a.url}/approve`, {});
    expect(second.status).toBe(410);
    expect(second.body.error.details).toEqual([{ reason: 'decided' }]);
    const other = await json('POST', `${b.url}/reject`, { reason: 'too late' });
    expect(other.status).toBe(410);
    expect(other.body.error.details).toEqual([{ reason: 'decided' }]);
    const page = await browser.get(a.url);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('already approved');

    const done = await h.waitFor(s.id, (st) => st.status === 'published');
    expect(done.approval).toMatchObject({ decision: 'approved', edited: false, by: 'review_link' });
    expect(done.publications.every((p: any) => p.status === 'previewed')).toBe(true);
  });

  it('rejects with the reviewer’s reason', async () => {
    const s = await awaiting();
    const link = await makeLink(s.id);
    const empty = await browser.post(`${link.url}/reject`, { reason: '   ' });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('Give a reason');

    const res = await browser.post(`${link.url}/reject`, { reason: 'Not our tone; too salesy.' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Rejected');
    const done = await h.waitFor(s.id, (st) => st.status === 'rejected');
    expect(done.approval).toMatchObject({ decision: 'rejected', reason: 'Not our tone; too salesy.', by: 'review_link' });
    expect(done.publications.every((p: any) => p.status === 'skipped')).toBe(true);
    expect((await browser.get(link.url)).status).toBe(410);
  });
});

describe('dead links are refused', () => {
  let s: any;
  let other: any;
  beforeAll(async () => {
    [s, other] = await Promise.all([awaiting(), awaiting()]);
  });

  it('refuses an expired link (410) and leaves the pipeline waiting', async () => {
    const link = await makeLink(s.id, { expiresIn: '1s' });
    expect((await browser.get(link.url)).status).toBe(200);
    // Wait until the link's own expiry is behind us (the server's clock is this process's).
    const expiry = Date.parse(link.expiresAt);
    await new Promise<void>((resolve) => {
      const tick = () => (Date.now() > expiry ? resolve() : setTimeout(tick, 50));
      tick();
    });
    const page = await browser.get(link.url);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('This review link has expired');
    const viaJson = await json('POST', `${link.url}/approve`, {});
    expect(viaJson.status).toBe(410);
    expect(viaJson.body.error.details).toEqual([{ reason: 'expired' }]);
    expect((await h.api('GET', `/v1/pipelines/${s.id}`)).body.status).toBe('awaiting_approval');
  });

  it('refuses a tampered token, a token re-pointed at another pipeline and garbage with 404', async () => {
    const link = await makeLink(s.id);
    const token = tokenOf(link.url);
    const [payload, sig] = token.split('.');
    const flipped = `${payload}.${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    expect(claims.p).toBe(s.id);
    const repointed = `${Buffer.from(JSON.stringify({ ...claims, p: other.id })).toString('base64url')}.${sig}`;
    const base = `${h.baseUrl}/review`;
    for (const t of [flipped, repointed, 'not-a-token', `${payload}.${sig}x`]) {
      const page = await browser.get(`${base}/${t}`);
      expect(page.status).toBe(404);
      expect(await page.text()).toContain('This review link is not valid');
      const approve = await json('POST', `${base}/${t}/approve`, {});
      expect(approve.status).toBe(404);
      expect(approve.body.error).toMatchObject({ code: 'not_found', details: [{ reason: 'invalid' }] });
    }
    // Nothing was decided by any of them; the real link still works.
    for (const id of [s.id, other.id]) expect((await h.api('GET', `/v1/pipelines/${id}`)).body.approval.decision).toBeNull();
    expect((await browser.get(link.url)).status).toBe(200);
  });

  it('refuses a link whose content changed after it was made: a second link approved with edits (410 content_changed)', async () => {
    const stale = await makeLink(other.id);
    const fresh = await makeLink(other.id);
    const edited = await json('POST', `${fresh.url}/approve`, { edits: { title: 'A better title, chosen by the reviewer' } });
    expect(edited.status).toBe(200);
    expect(edited.body.edited).toBe(true);
    const page = await browser.get(stale.url);
    expect(page.status).toBe(410);
    expect(await page.text()).toContain('The content changed after this link was made');
    const viaJson = await json('POST', `${stale.url}/reject`, { reason: 'no' });
    expect(viaJson.body.error.details).toEqual([{ reason: 'content_changed' }]);
    const done = await h.waitFor(other.id, (st) => st.status === 'published');
    expect(done.content.title).toBe('A better title, chosen by the reviewer');
  });

  it('answers every refusal and page with no-store caching and a strict Content-Security-Policy', async () => {
    for (const url of [`${h.baseUrl}/review/garbage`, (await makeLink(s.id)).url]) {
      const res = await browser.get(url);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
      expect(res.headers.get('content-security-policy')).not.toMatch(/unsafe-inline|script-src/);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });
});
