// The platform previews' own decisions: where a feed folds a long post, how thread parts are numbered and counted,
// which image each platform shows, what a webhook gets, and that the drawn previews carry them.
import { render } from 'preact-render-to-string';
import { PlatformPreview } from '../../../src/console/previews';
import { carriesNumbering, foldText, imageFor, mastodonContentWarning, threadParts, webhookPayload } from '../../../src/console/previews/logic';
import type { ImageRef, Variant } from '../../../src/domain/types';

const LINKEDIN = { chars: 210, lines: 3 };
const wide: ImageRef = { id: 'w', url: '/v1/media/w', source: 'card', alt: 'wide card', attribution: null, fallbackReason: null, width: 1200, height: 675 };
const square: ImageRef = { ...wide, id: 's', url: '/v1/media/s', alt: 'square card', width: 1080, height: 1080 };
const variant = (platform: Variant['platform'], parts: string[], limit: number): Variant => ({ platform, parts, length: 0, limit, adaptations: [] });

describe('the feed fold', () => {
  it('leaves a short post whole', () => {
    expect(foldText('Short and sweet.', LINKEDIN)).toEqual({ shown: 'Short and sweet.', folded: false });
  });

  it('cuts a long post at the last space within 210 characters', () => {
    const text = 'abcdefghi '.repeat(40); // words of 9 letters: a space every 10th character
    const { shown, folded } = foldText(text, LINKEDIN);
    expect(folded).toBe(true);
    expect(shown).toBe('abcdefghi '.repeat(21).trimEnd()); // 209 characters; the 210th is a space
    expect(shown.length).toBe(209);
  });

  it('folds after the third line however short the lines are', () => {
    expect(foldText('one\ntwo\nthree\nfour', LINKEDIN)).toEqual({ shown: 'one\ntwo\nthree', folded: true });
    expect(foldText('one\ntwo\nthree', LINKEDIN)).toEqual({ shown: 'one\ntwo\nthree', folded: false });
  });

  it('never splits an emoji, and cuts a single long word where the room ends', () => {
    const thumbs = '👍🏽'.repeat(300); // skin-tone thumbs: 4 UTF-16 units each
    expect(foldText(thumbs, LINKEDIN).shown).toBe('👍🏽'.repeat(210));
    expect(foldText('x'.repeat(500), LINKEDIN).shown).toBe('x'.repeat(210));
  });
});

describe('thread parts', () => {
  it('are numbered 1/3, 2/3, 3/3 and counted the platform’s way against its limit', () => {
    const parts = threadParts(variant('x', ['1/3 one', '2/3 😀', `3/3 ${'a'.repeat(300)}`], 280));
    expect(parts.map((p) => p.position)).toEqual(['1/3', '2/3', '3/3']);
    expect(parts.map((p) => p.count)).toEqual([7, 6, 304]); // an emoji weighs 2 on X
    expect(parts.map((p) => p.over)).toEqual([false, false, true]);
    expect(parts.every(carriesNumbering)).toBe(true);
    expect(threadParts(variant('bluesky', ['😀'], 300))[0]).toMatchObject({ position: '1/1', count: 1 });
  });
});

describe('images, content warnings and webhook bodies', () => {
  it('gives Instagram the square image and the others the wide one', () => {
    expect(imageFor('instagram', [wide, square])?.id).toBe('s');
    expect(imageFor('x', [square, wide])?.id).toBe('w');
    expect(imageFor('linkedin', [])).toBeNull();
  });

  it('reads a Mastodon content warning from the request that would be sent', () => {
    const preview = [{ method: 'POST', url: 'https://m.example/api/v1/statuses', headers: {}, body: { status: 'hi', spoiler_text: 'Spoilers: the finale' } }];
    expect(mastodonContentWarning({ preview })).toBe('Spoilers: the finale');
    expect(mastodonContentWarning({ preview: [{ body: { status: 'hi' } }] })).toBeNull();
    expect(mastodonContentWarning(null)).toBeNull();
  });

  it('shows a webhook the recorded body of a dry run, else the same fields built from the variant', () => {
    expect(webhookPayload({ title: 'T', variant: { parts: ['a'] }, images: [], publication: { preview: [{ body: { recorded: true } }] } })).toEqual({ recorded: true });
    expect(webhookPayload({ title: 'T', variant: { parts: [' a ', 'b'] }, images: [wide] })).toEqual({
      platform: 'webhook',
      title: 'T',
      parts: [' a ', 'b'],
      text: 'a\n\nb',
      images: [{ id: 'w', url: '/v1/media/w', alt: 'wide card' }],
    });
  });
});

describe('the drawn previews', () => {
  const draw = (v: Variant, extra: Partial<Parameters<typeof PlatformPreview>[0]> = {}) => render(PlatformPreview({ variant: v, title: 'T', images: [wide, square], ...extra }));

  it('draw an X thread as a numbered list, each post counted against 280', () => {
    const html = draw(variant('x', ['1/3 a', '2/3 b', '3/3 c'], 280));
    expect(html).toContain('data-testid="preview-x"');
    expect(html).toContain('<h3 id="v-x">X (3 posts)</h3>');
    expect(html).toContain('<ol aria-label="X: 3 posts"><li>');
    expect(html.match(/>5 of 280 counted</g)).toHaveLength(3);
    expect(html.match(/<img /g)).toHaveLength(1); // the image goes with the first post only
    expect(html).toContain('>3/3<');
  });

  it('fold a long LinkedIn post behind “…see more” and keep the whole text for when it opens', () => {
    const long = 'Durable workflows keep every step on record. '.repeat(10).trim();
    const html = draw(variant('linkedin', [long], 3000));
    expect(html).toContain('…see more');
    expect(html).toContain(`<p class="pv-text">${long}</p>`);
    expect(draw(variant('linkedin', ['Short.'], 3000))).not.toContain('see more');
  });

  it('hide a Mastodon post behind its content warning, and mark an over-limit post', () => {
    const publication = { platform: 'mastodon', preview: [{ body: { spoiler_text: 'Finale spoilers' } }] } as any;
    const html = draw(variant('mastodon', ['x'.repeat(501)], 500), { publication });
    expect(html).toMatch(/<details class="pv-cw"><summary>.*Finale spoilers/);
    expect(html).toContain('501 of 500 counted (1 over)');
    expect(html).toContain('pv-over');
  });

  it('put Instagram’s square image above the caption, and say when there is none', () => {
    const html = draw(variant('instagram', ['caption'], 2200));
    expect(html.indexOf('src="/v1/media/s"')).toBeGreaterThan(-1);
    expect(html.indexOf('src="/v1/media/s"')).toBeLessThan(html.indexOf('caption'));
    expect(html).toContain('<p class="pv-text"><span class="pv-name pv-lead">Your account</span> caption</p>'); // name first, as Instagram does
    expect(draw(variant('instagram', ['caption'], 2200), { images: [] })).toContain('Instagram needs an image');
  });
});
