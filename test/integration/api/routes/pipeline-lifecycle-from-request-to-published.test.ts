import { PNG } from 'pngjs';
import { dryRunRequest, startHarness, type Harness } from '../../../helpers/harness';

/**
 * An upper bound of each platform's own count, written from the platforms' documentation rather than taken from
 * Herald (an oracle must not import what it checks). X: a URL weighs 23, code points up to U+10FF and some general
 * punctuation weigh 1, everything else 2 (an emoji sequence weighs 2 on X, at least 2 here). Mastodon: a URL is 23.
 * Threads: emoji count as their UTF-8 bytes. Bluesky: graphemes. The rest: UTF-16 code units.
 */
function platformCountBound(platform: string, text: string): number {
  const URL = /https?:\/\/\S+/g;
  const urls = (text.match(URL) ?? []).length;
  const rest = text.replace(URL, '');
  const cps = [...rest].map((c) => c.codePointAt(0) ?? 0);
  switch (platform) {
    case 'x':
      return 23 * urls + cps.reduce((n, cp) => n + (cp <= 0x10ff || (cp >= 0x2000 && cp <= 0x200d) || (cp >= 0x2010 && cp <= 0x201f) || (cp >= 0x2032 && cp <= 0x2037) ? 1 : 2), 0);
    case 'mastodon':
      return 23 * urls + cps.length;
    case 'threads':
      return [...text].reduce((n, c) => n + ((c.codePointAt(0) ?? 0) < 0x2000 ? 1 : Buffer.byteLength(c, 'utf8')), 0);
    case 'bluesky':
      return [...new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(text)].length;
    default:
      return text.length;
  }
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const LONG_BRIEF = Array.from(
  { length: 14 },
  (_, i) =>
    `Point ${i + 1}: durable execution keeps every step of the pipeline recorded, so a crash at step ${i + 1} resumes exactly there instead of starting over.`,
).join(' ');

describe('a dry-run thread to six platforms', () => {
  let state: any;
  beforeAll(async () => {
    const res = await h.api(
      'POST',
      '/v1/pipelines',
      dryRunRequest({
        format: 'thread',
        brief: LONG_BRIEF,
        targets: ['x', 'linkedin', 'instagram', 'mastodon', 'bluesky', 'threads'].map((platform) => ({ platform })),
      }),
    );
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('queued');
    state = await h.waitFor(res.body.id, (s) => ['published', 'failed', 'partially_published'].includes(s.status));
  });

  it('ends published with every publication previewed and its exact request stored', () => {
    expect(state.status).toBe('published');
    expect(state.publications).toHaveLength(6);
    for (const p of state.publications) {
      expect(p.status).toBe('previewed');
      expect(Array.isArray(p.preview)).toBe(true);
      expect(p.preview.length).toBeGreaterThan(0);
      expect(p.preview[0]).toHaveProperty('method');
      expect(p.preview[0]).toHaveProperty('url');
    }
    expect(state.content.provider).toBe('offline');
  });

  it('keeps every part within its platform limit, counted the platform way', () => {
    for (const v of state.variants) {
      // The platforms' published limits (Mastodon: the default instance's), not Herald's table.
      const published: Record<string, number> = { x: 280, linkedin: 3000, facebook: 63206, instagram: 2200, threads: 500, mastodon: 500, bluesky: 300 };
      if (published[v.platform] !== undefined) expect(v.limit).toBe(published[v.platform]);
      for (const part of v.parts) expect(platformCountBound(v.platform, part)).toBeLessThanOrEqual(v.limit);
      if (v.platform === 'bluesky') for (const part of v.parts) expect(Buffer.byteLength(part, 'utf8')).toBeLessThanOrEqual(3000);
    }
  });

  it('splits the long brief into numbered parts where threads exist, and not elsewhere', () => {
    const by = (p: string) => state.variants.find((v: any) => v.platform === p);
    for (const p of ['x', 'mastodon', 'bluesky', 'threads']) {
      expect(by(p).parts.length).toBeGreaterThan(1);
      expect(by(p).parts[0]).toMatch(/1\/\d+/);
      expect(by(p).adaptations.join(' ')).toMatch(/split into \d+/);
    }
    for (const p of ['linkedin', 'instagram']) expect(by(p).parts).toHaveLength(1);
    const xPreview = state.publications.find((x: any) => x.platform === 'x').preview;
    expect(xPreview.filter((r: any) => String(r.url).endsWith('/2/tweets'))).toHaveLength(by('x').parts.length);
  });

  it('serves the card image as a PNG at its public URL without authentication', async () => {
    expect(state.images.length).toBeGreaterThan(0);
    const img = state.images[0];
    expect(img.source).toBe('card');
    const res = await fetch(`${h.baseUrl}${img.url}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const png = PNG.sync.read(Buffer.from(await res.arrayBuffer()));
    expect([png.width, png.height]).toEqual([1200, 675]);
  });

  it('records every stage in PostgreSQL for lists and history', async () => {
    const { rows } = await h.pool.query('SELECT status, version FROM pipelines WHERE id = $1', [state.id]);
    expect(rows[0].status).toBe('published');
    expect(rows[0].version).toBeGreaterThanOrEqual(6);
    const pubs = await h.pool.query('SELECT platform, status FROM publications WHERE pipeline_id = $1 ORDER BY idx', [state.id]);
    expect(pubs.rows.map((r) => r.status)).toEqual(Array(6).fill('previewed'));
  });
});

describe('approval', () => {
  const start = async (extra: Record<string, unknown> = {}) => {
    const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ approval: { required: true }, ...extra }));
    expect(res.status).toBe(202);
    return h.waitFor(res.body.id, (s) => s.status === 'awaiting_approval');
  };

  it('refuses an edit that breaks X limit with 422 naming the platform, then publishes a valid edit as edited', async () => {
    const s = await start();
    const tooLong = 'word '.repeat(80).trim();
    const bad = await h.api('POST', `/v1/pipelines/${s.id}/approve`, { edits: { variants: { x: tooLong } } });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('unprocessable');
    expect(bad.body.error.message).toMatch(/\bx\b/);
    expect(bad.body.error.message).toMatch(/280/);

    const good = await h.api('POST', `/v1/pipelines/${s.id}/approve`, { edits: { variants: { x: 'Edited by a human: durable beats cron.' } } });
    expect(good.status).toBe(200);
    const done = await h.waitFor(s.id, (st) => st.status === 'published');
    const x = done.variants.find((v: any) => v.platform === 'x');
    expect(x.parts).toEqual(['Edited by a human: durable beats cron.']);
    const xPub = done.publications.find((p: any) => p.platform === 'x');
    expect(JSON.stringify(xPub.preview)).toContain('Edited by a human: durable beats cron.');
    expect(done.approval.decision).toBe('approved');
    expect(done.approval.edited).toBe(true);

    const twice = await h.api('POST', `/v1/pipelines/${s.id}/approve`, {});
    expect(twice.status).toBe(409);
    expect(twice.body.error.code).toBe('conflict');
  });

  it('answers 409 to a second approval while the first is being applied', async () => {
    const s = await start();
    const [a, b] = await Promise.all([
      h.api('POST', `/v1/pipelines/${s.id}/approve`, {}),
      h.api('POST', `/v1/pipelines/${s.id}/approve`, {}),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
  });

  it('ends rejected when rejected, with nothing published', async () => {
    const s = await start();
    const res = await h.api('POST', `/v1/pipelines/${s.id}/reject`, { reason: 'off brand' });
    if (res.status !== 200) throw new Error(`reject answered ${res.status}: ${JSON.stringify(res.body)}; logs: ${h.logs.filter((l) => l.includes('"level":50')).join('\n')}`);
    const done = await h.waitFor(s.id, (st) => st.status === 'rejected');
    expect(done.approval.reason).toBe('off brand');
    expect(done.publications.every((p: any) => p.status === 'skipped')).toBe(true);
  });

  it('ends expired when nobody decides within the timeout and onTimeout is reject', async () => {
    const s = await start({ approval: { required: true, timeout: '3s', onTimeout: 'reject' } });
    const done = await h.waitFor(s.id, (st) => st.status === 'expired', { timeoutMs: 20_000 });
    expect(done.approval.decision).toBe('timed_out');
  });

  it('publishes when the timeout passes and onTimeout is publish', async () => {
    const s = await start({ approval: { required: true, timeout: '2s', onTimeout: 'publish' } });
    const done = await h.waitFor(s.id, (st) => st.status === 'published', { timeoutMs: 20_000 });
    expect(done.approval.decision).toBe('timed_out');
  });
});

describe('scheduling and cancelling', () => {
  it('does not publish before publishAt, and a reschedule moves it', async () => {
    const publishAt = new Date(Date.now() + 60_000).toISOString();
    const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ publishAt }));
    const s = await h.waitFor(res.body.id, (st) => st.status === 'scheduled');
    expect(s.publishAt).toBe(publishAt);
    const sooner = new Date(Date.now() + 2_000).toISOString();
    const moved = await h.api('PUT', `/v1/pipelines/${s.id}/publish-at`, { publishAt: sooner });
    expect(moved.status).toBe(200);
    const done = await h.waitFor(s.id, (st) => st.status === 'published', { timeoutMs: 20_000 });
    expect(Date.parse(done.updatedAt)).toBeGreaterThanOrEqual(Date.parse(sooner));
    const late = await h.api('PUT', `/v1/pipelines/${s.id}/publish-at`, { publishAt: new Date(Date.now() + 60_000).toISOString() });
    expect(late.status).toBe(409);
  });

  it('cancels a scheduled pipeline cleanly', async () => {
    const res = await h.api('POST', '/v1/pipelines', dryRunRequest({ publishAt: new Date(Date.now() + 120_000).toISOString() }));
    await h.waitFor(res.body.id, (st) => st.status === 'scheduled');
    const c = await h.api('POST', `/v1/pipelines/${res.body.id}/cancel`);
    expect(c.status).toBe(202);
    const done = await h.waitFor(res.body.id, (st) => st.status === 'cancelled');
    expect(done.publications.every((p: any) => p.status === 'skipped')).toBe(true);
    const again = await h.api('POST', `/v1/pipelines/${res.body.id}/cancel`);
    expect(again.status).toBe(409);
  });
});

describe('server-sent events', () => {
  it('streams a state event on every change and ends after the terminal status', async () => {
    const res = await h.api('POST', '/v1/pipelines', dryRunRequest());
    const stream = await fetch(`${h.baseUrl}/v1/pipelines/${res.body.id}/events`, { headers: { authorization: `Bearer ${h.keys.a}` } });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await stream.text(); // resolves only because the server ends the stream
    const statuses = [...text.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]).status);
    expect(statuses[statuses.length - 1]).toBe('published');
    expect(statuses.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^event: state$/m);
  });
});
