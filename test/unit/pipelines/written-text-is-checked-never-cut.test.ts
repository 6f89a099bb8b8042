// A person's words (approval edits, content given to POST /v1/validate) are adapted but never shortened.
import { exactVariant } from '../../../src/pipelines/exact-text';
import { publishAtProblem } from '../../../src/pipelines/publish-time';

const sentence = 'Durable workflows keep every step on record. ';
const long = sentence.repeat(8).trim(); // plain ASCII: 359 characters, which X counts one each

describe('written text', () => {
  it('over the X limit in a post is refused with its counted length, not shortened', () => {
    const r = exactVariant({ platform: 'x', format: 'post', title: 'T', body: long, hashtags: [], bodyWritten: true });
    expect(r).toEqual(expect.objectContaining({ ok: false, field: 'body', length: long.length, limit: 280, reason: `x: the body is ${long.length} weighted characters, limit 280` }));
  });

  it('the same body as a thread is split, every part within the limit', () => {
    const r = exactVariant({ platform: 'x', format: 'thread', title: 'T', body: long, hashtags: [], bodyWritten: true });
    if (!r.ok) throw new Error(r.reason);
    expect(r.variant.parts.length).toBeGreaterThan(1);
    expect(r.variant.parts.every((p) => p.length <= 280)).toBe(true);
    expect(r.variant.parts.join(' ')).toContain('keep every step on record');
  });

  it('generated text (bodyWritten false) may be shortened, as adaptation always did', () => {
    const r = exactVariant({ platform: 'x', format: 'post', title: 'T', body: long, hashtags: [], bodyWritten: false });
    if (!r.ok) throw new Error(r.reason);
    expect(r.variant.adaptations.some((a) => a.startsWith('shortened'))).toBe(true);
  });

  it("a platform's own text over its limit is refused naming the numbers", () => {
    const own = 'a'.repeat(301);
    const r = exactVariant({ platform: 'bluesky', format: 'post', title: 'T', body: 'short', hashtags: [], own, bodyWritten: true });
    expect(r).toEqual(expect.objectContaining({ ok: false, field: 'own', length: 301, limit: 300, reason: 'bluesky: 301 graphemes, limit 300' }));
  });

  it('a publish time in the past (beyond a few seconds of skew) or over a year ahead is a problem', () => {
    const now = Date.parse('2026-12-03T06:00:00Z');
    expect(publishAtProblem('2026-12-03T05:59:00Z', now)?.code).toBe('publish_at_past');
    expect(publishAtProblem('2026-12-03T05:59:58Z', now)).toBeNull();
    expect(publishAtProblem('2028-01-01T00:00:00Z', now)?.code).toBe('publish_at_too_far');
  });
});
