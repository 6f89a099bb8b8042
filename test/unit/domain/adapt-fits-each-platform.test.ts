import { adaptForPlatform, checkVariantText, type AdaptOptions } from '../../../src/domain/adapt';
import { countFor } from '../../../src/domain/platform-rules';
import { expectAllPartsFit } from '../../helpers/adapted-text';
import { type ContentFormat, type Platform, type Variant } from '../../../src/domain/types';

const FAMILY = '👨‍👩‍👧‍👦';

function adapt(
  platform: Platform,
  body: string,
  format: ContentFormat = 'post',
  hashtags: string[] = [],
  opts?: AdaptOptions,
  title = 'A title',
): Variant {
  return adaptForPlatform({ title, body, hashtags, format, platform }, opts);
}

function sentence(i: number): string {
  return `Sentence number ${i} says something useful about durable workflows.`;
}
const longBody = (n: number) => Array.from({ length: n }, (_, i) => sentence(i + 1)).join(' ');


describe('adaptForPlatform: single posts', () => {
  test('a post that fits is returned whole with hashtags after a blank line and no adaptations', () => {
    const v = adapt('x', 'Short and sweet.', 'post', ['temporal', '#ts']);
    expect(v).toEqual({
      platform: 'x',
      parts: ['Short and sweet.\n\n#temporal #ts'],
      length: countFor('x', 'Short and sweet.\n\n#temporal #ts'),
      limit: 280,
      adaptations: [],
    });
  });

  test('an over-long X post is shortened at a sentence boundary with an ellipsis, and says so', () => {
    const v = adapt('x', longBody(10), 'post', ['temporal']);
    expect(v.parts).toHaveLength(1);
    const [part] = v.parts;
    expect(part).toMatch(/^Sentence number 1 says .*workflows\. …\n\n#temporal$/s);
    expect(v.adaptations).toContain('shortened at a sentence boundary');
    expectAllPartsFit(v);
  });

  test('a shortened CJK post puts the ellipsis straight after the full stop', () => {
    const v = adapt('x', '東京は大きな都市です。人口は多いです。'.repeat(12));
    expect(v.parts[0]).toMatch(/です。…$/);
    expect(v.adaptations).toEqual(['shortened at a sentence boundary']);
    expectAllPartsFit(v);
  });

  test('a single sentence longer than the limit is shortened at a word boundary', () => {
    const body = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
    const v = adapt('x', body);
    expect(v.parts[0]).toMatch(/ word\d+…$/);
    expect(body.startsWith(v.parts[0].slice(0, -1))).toBe(true);
    expect(v.adaptations).toContain('shortened at a word boundary');
    expectAllPartsFit(v);
  });

  test('hashtags are cut, not the text, when only the hashtags make a post too long', () => {
    const body = 'x'.repeat(260);
    const v = adapt('x', body, 'post', ['one', 'two', 'three', 'four']);
    expect(v.parts).toEqual([`${body}\n\n#one #two #three`]);
    expect(v.adaptations).toEqual(['hashtags cut to 3 to fit']);
  });

  test('an article gets its title as the first line', () => {
    const v = adapt('linkedin', 'Body text here.', 'article', [], undefined, 'Big News');
    expect(v.parts).toEqual(['Big News\n\nBody text here.']);
    expect(v.adaptations).toContain('title added as first line');
  });

  test('a post does not get the title', () => {
    expect(adapt('linkedin', 'Body text here.', 'post', [], undefined, 'Big News').parts).toEqual(['Body text here.']);
  });

  test('LinkedIn parts are not escaped: the limit counts before escaping and the publisher escapes', () => {
    expect(adapt('linkedin', 'Use (parentheses) and #tags_here.').parts).toEqual(['Use (parentheses) and #tags_here.']);
  });
});

describe('adaptForPlatform: hashtags', () => {
  const tags = ['one', 'two', 'three', 'four', 'five', 'six', 'seven'];

  test('Instagram caps hashtags at 5 by default and lists the adaptation', () => {
    const v = adapt('instagram', 'A caption.', 'post', tags);
    expect(v.parts).toEqual(['A caption.\n\n#one #two #three #four #five']);
    expect(v.adaptations).toEqual(['hashtags cut to 5']);
  });

  test('the Instagram hashtag cap is configurable', () => {
    const v = adapt('instagram', 'A caption.', 'post', tags, { instagramHashtagCap: 2 });
    expect(v.parts).toEqual(['A caption.\n\n#one #two']);
    expect(v.adaptations).toEqual(['hashtags cut to 2']);
    expect(adapt('instagram', 'A caption.', 'post', tags, { instagramHashtagCap: 30 }).adaptations).toEqual([]);
  });

  test('other platforms keep all hashtags', () => {
    expect(adapt('facebook', 'Text.', 'post', tags).parts[0]).toBe('Text.\n\n#one #two #three #four #five #six #seven');
  });

  test('hashtags are cleaned of #, spaces and repeats, and the cleaning is listed', () => {
    const v = adapt('facebook', 'Text.', 'post', ['#AI', 'machine learning', 'ai', '  ']);
    expect(v.parts).toEqual(['Text.\n\n#AI #machinelearning']);
    expect(v.adaptations).toEqual(['hashtags cleaned of spaces and punctuation', 'repeated hashtags removed']);
  });
});

describe('adaptForPlatform: threads', () => {
  const stripNumbering = (p: string) => p.replace(/^\d+\/\d+ /, '');

  test('a thread on X is split at sentence boundaries into numbered parts', () => {
    const body = longBody(12);
    const v = adapt('x', body, 'thread');
    const n = v.parts.length;
    expect(n).toBeGreaterThan(2);
    v.parts.forEach((p, i) => {
      expect(p.startsWith(`${i + 1}/${n} Sentence number `)).toBe(true);
      expect(p.endsWith('durable workflows.')).toBe(true);
    });
    expect(v.parts.map(stripNumbering).join(' ')).toBe(body);
    expect(v.adaptations).toEqual([`split into ${n} posts`, 'thread numbering added']);
    expectAllPartsFit(v);
  });

  test('thread hashtags go on the last part only', () => {
    const v = adapt('bluesky', longBody(12), 'thread', ['temporal', 'typescript']);
    expect(v.parts[v.parts.length - 1]).toMatch(/\n\n#temporal #typescript$/);
    v.parts.slice(0, -1).forEach((p) => expect(p).not.toContain('#'));
    expectAllPartsFit(v);
  });

  test('thread hashtags are cut to what fits on a part when the last sentence leaves no room', () => {
    const last = `${'y'.repeat(260)}.`;
    const v = adapt('x', `${longBody(3)} ${last}`, 'thread', ['alpha', 'beta', 'gamma', 'delta']);
    expect(v.parts[v.parts.length - 1]).toMatch(/y\.\n\n#alpha #beta$/);
    expect(v.adaptations).toContain('hashtags cut to 2 to fit');
    expectAllPartsFit(v);
  });

  test('a thread that fits in one post is not split or numbered', () => {
    const v = adapt('mastodon', 'Just one thought.', 'thread', ['t']);
    expect(v.parts).toEqual(['Just one thought.\n\n#t']);
    expect(v.adaptations).toEqual(['thread fits in one post, not split']);
  });

  test('a thread on a platform without threads becomes one shortened post', () => {
    const v = adapt('discord', longBody(60), 'thread');
    expect(v.parts).toHaveLength(1);
    expect(v.adaptations).toEqual(['thread posted as one post, discord has no threads', 'shortened at a sentence boundary']);
    expectAllPartsFit(v);
  });

  test('a sentence longer than a part is split between words, never inside one', () => {
    const words = Array.from({ length: 120 }, (_, i) => `word${i}`);
    const v = adapt('x', words.join(' '), 'thread');
    expect(v.parts.length).toBeGreaterThan(1);
    const rejoined = v.parts.map(stripNumbering).join(' ').split(' ');
    expect(rejoined).toEqual(words);
    expectAllPartsFit(v);
  });

  test('the Mastodon instance limit from options is respected', () => {
    const v = adapt('mastodon', longBody(30), 'thread', [], { mastodonMaxChars: 1000 });
    expect(v.limit).toBe(1000);
    expect(v.length).toBeGreaterThan(500);
    expectAllPartsFit(v, { mastodonMaxChars: 1000 });
  });

  test('a Bluesky thread of ZWJ emoji is split by its 3000-byte limit although its graphemes fit', () => {
    const body = FAMILY.repeat(200); // 200 graphemes, 5000 bytes
    const v = adapt('bluesky', body, 'thread');
    expect(v.parts.length).toBe(2);
    expect(v.parts.map(stripNumbering).join('')).toBe(body);
    expectAllPartsFit(v);
  });

  test('CJK text without spaces is split at sentence ends (。)', () => {
    const body = '日本語の文章です。'.repeat(40);
    const v = adapt('x', body, 'thread');
    v.parts.forEach((p) => expect(p.endsWith('。')).toBe(true));
    expect(v.parts.map(stripNumbering).join('')).toBe(body);
    expectAllPartsFit(v);
  });
});

describe('checkVariantText', () => {
  test('rejects an over-limit X edit with a reason naming x and the numbers', () => {
    const result = checkVariantText('x', 'post', 'a'.repeat(312));
    expect(result).toEqual({ ok: false, reason: 'x: 312 weighted characters, limit 280' });
  });

  test('rejects an over-byte Bluesky edit naming bytes', () => {
    expect(checkVariantText('bluesky', 'post', FAMILY.repeat(121))).toEqual({
      ok: false,
      reason: 'bluesky: 3025 UTF-8 bytes, limit 3000',
    });
  });

  test('does not shorten: a too-long LinkedIn thread is rejected because LinkedIn has no threads', () => {
    const result = checkVariantText('linkedin', 'thread', 'b'.repeat(3001));
    expect(result).toEqual({ ok: false, reason: 'linkedin: 3001 characters, limit 3000' });
  });

  test('accepts an edit that fits as one part, trimmed, with no adaptations', () => {
    const result = checkVariantText('x', 'post', '  Edited by a human 👋  ');
    expect(result).toEqual({
      ok: true,
      variant: { platform: 'x', parts: ['Edited by a human 👋'], length: 20, limit: 280, adaptations: [] },
    });
  });

  test('splits a long thread edit into numbered parts that fit', () => {
    const result = checkVariantText('x', 'thread', longBody(12));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const n = result.variant.parts.length;
    expect(n).toBeGreaterThan(1);
    expect(result.variant.parts[0].startsWith(`1/${n} `)).toBe(true);
    expect(result.variant.adaptations).toEqual([`split into ${n} posts`, 'thread numbering added']);
    expectAllPartsFit(result.variant);
  });

  test('uses the Mastodon instance limit from options', () => {
    const text = 'm'.repeat(700);
    expect(checkVariantText('mastodon', 'post', text)).toEqual({ ok: false, reason: 'mastodon: 700 characters, limit 500' });
    expect(checkVariantText('mastodon', 'post', text, { mastodonMaxChars: 1000 }).ok).toBe(true);
  });

  test('rejects too many Instagram hashtags rather than cutting them', () => {
    const text = 'Caption #a #b #c #d #e #f';
    expect(checkVariantText('instagram', 'post', text)).toEqual({ ok: false, reason: 'instagram: 6 hashtags, limit 5' });
    expect(checkVariantText('instagram', 'post', text, { instagramHashtagCap: 6 }).ok).toBe(true);
  });

  test('rejects empty or blank text', () => {
    expect(checkVariantText('x', 'post', '')).toEqual({ ok: false, reason: 'x: text is empty' });
    expect(checkVariantText('slack', 'thread', ' \n ').ok).toBe(false);
  });
});
