// Review-link tokens: signed with a key of their own, bound to one pipeline, tenant and content version, expiring.
import { createHmac, hkdfSync } from 'node:crypto';
import { contentVersion, reviewLinkKey, signReviewToken, verifyReviewToken, type ReviewClaims } from '../../../src/domain/review-token';
import type { PipelineState } from '../../../src/domain/types';

const master = Buffer.alloc(32, 7);
const key = reviewLinkKey(master);
const claims: ReviewClaims = { pipelineId: 'p_1', tenantId: 't_1', contentVersion: 'cv', expiresAt: 2_000_000_000_000, linkId: 'l1' };
const now = 1_900_000_000_000;

const seen = (over: Partial<{ title: string; body: string; hashtags: string[]; parts: string[] }> = {}) =>
  ({
    content: { title: over.title ?? 'T', body: over.body ?? 'B', hashtags: over.hashtags ?? ['a'], provider: 'offline', model: 'm', cached: false },
    images: [{ id: 'img1', url: '/v1/media/img1', source: 'card', alt: '', attribution: null, fallbackReason: null }],
    variants: [{ platform: 'x', parts: over.parts ?? ['B #a'], length: 4, limit: 280, adaptations: [] }],
  }) as unknown as Pick<PipelineState, 'content' | 'variants' | 'images'>;

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('review-link tokens', () => {
  it('round-trips its claims and carries no key material', () => {
    const token = signReviewToken(key, claims);
    expect(verifyReviewToken(key, token, now)).toEqual({ ok: true, claims });
    expect(token).not.toContain(master.toString('base64url'));
    expect(token).not.toContain(key.toString('base64url'));
  });

  it('uses a key derived for this purpose only (HKDF-SHA256, its own label), not the encryption key itself', () => {
    const expected = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'herald/review-link/v1', 32));
    expect(key.equals(expected)).toBe(true);
    expect(key.equals(master)).toBe(false);
    // An independent signature over the documented format verifies: the format is what docs/api.md says.
    const payload = b64({ p: 'p_9', t: 't_9', c: 'v', e: claims.expiresAt, n: 'x' });
    const sig = createHmac('sha256', expected).update(`v1.${payload}`).digest('base64url');
    expect(verifyReviewToken(key, `${payload}.${sig}`, now)).toMatchObject({ ok: true, claims: { pipelineId: 'p_9', tenantId: 't_9' } });
  });

  it('refuses a token whose pipeline id was swapped (signature no longer matches)', () => {
    const token = signReviewToken(key, claims);
    const [, sig] = token.split('.');
    const swapped = `${b64({ p: 'p_2', t: 't_1', c: 'cv', e: claims.expiresAt, n: 'l1' })}.${sig}`;
    expect(verifyReviewToken(key, swapped, now)).toEqual({ ok: false, reason: 'forged' });
  });

  it('refuses a token with a later expiry written in, one bit of signature flipped, or another key', () => {
    const token = signReviewToken(key, claims);
    const [, sig] = token.split('.');
    expect(verifyReviewToken(key, `${b64({ p: 'p_1', t: 't_1', c: 'cv', e: 9e12, n: 'l1' })}.${sig}`, now).ok).toBe(false);
    const flipped = Buffer.from(sig, 'base64url');
    flipped[0] ^= 1;
    expect(verifyReviewToken(key, `${token.split('.')[0]}.${flipped.toString('base64url')}`, now)).toEqual({ ok: false, reason: 'forged' });
    expect(verifyReviewToken(reviewLinkKey(Buffer.alloc(32, 8)), token, now)).toEqual({ ok: false, reason: 'forged' });
  });

  it('says malformed for what is not a token at all', () => {
    for (const t of ['', 'abc', 'a.b', `${'x'.repeat(10)}.${'y'.repeat(42)}`, 'a..b', '../../etc']) {
      expect(verifyReviewToken(key, t, now)).toEqual({ ok: false, reason: 'malformed' });
    }
  });

  it('is refused from its expiry on, and says whose it was', () => {
    const token = signReviewToken(key, claims);
    expect(verifyReviewToken(key, token, claims.expiresAt - 1).ok).toBe(true);
    expect(verifyReviewToken(key, token, claims.expiresAt)).toEqual({ ok: false, reason: 'expired', claims });
  });
});

describe('content version', () => {
  it('is the same for the same content whatever the key order', () => {
    const a = seen();
    const b = { variants: a.variants, images: a.images, content: { ...a.content! } };
    expect(contentVersion(b)).toBe(contentVersion(a));
  });

  it('changes with the title, the body, the hashtags, any variant part or the images', () => {
    const base = contentVersion(seen());
    const changed = [
      seen({ title: 'T2' }),
      seen({ body: 'B2' }),
      seen({ hashtags: ['b'] }),
      seen({ parts: ['B #a', 'more'] }),
      seen({ parts: ['B  #a'] }),
      { ...seen(), images: [] },
    ].map(contentVersion);
    for (const v of changed) expect(v).not.toBe(base);
    expect(new Set(changed).size).toBe(changed.length);
  });

  it('ignores what the reviewer does not see (provider, model, adaptations, counts)', () => {
    const s = seen();
    const other = {
      ...s,
      content: { ...s.content!, provider: 'openai', model: 'gpt', cached: true },
      variants: s.variants.map((v) => ({ ...v, adaptations: ['x'], length: 99 })),
    };
    expect(contentVersion(other)).toBe(contentVersion(s));
  });
});
