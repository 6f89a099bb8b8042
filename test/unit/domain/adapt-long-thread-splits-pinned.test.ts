// Pins long-thread splits exactly where a boundary is delicate: right after a URL, between ZWJ emoji and flags, inside
// CJK runs with no spaces. The expected parts were produced by the adaptation as it was before its counting was made
// faster (one exact count per candidate part), so any change in where a thread splits shows up here. Also checks the
// fast counters against the plain ones on text built to trip them.
import { createHash } from 'node:crypto';
import { adaptForPlatform, type AdaptOptions } from '../../../src/domain/adapt';
import {
  countX,
  countXBounds,
  graphemes,
  graphemesExceed,
  mastodonLength,
  mastodonLengthAtLeast,
  threadsLength,
  utf8Bytes,
} from '../../../src/domain/text-count';
import { type Platform, type Variant } from '../../../src/domain/types';

const FAMILY = '👨‍👩‍👧‍👦';
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });
const clusters = (text: string) => Array.from(segmenter.segment(text), (s) => s.segment);

function thread(platform: Platform, body: string, hashtags: string[], opts?: AdaptOptions): Variant {
  return adaptForPlatform({ title: 'T', body, hashtags, format: 'thread', platform }, opts);
}

/** First and last 14 graphemes of a part, so a moved boundary is readable in a failure. */
function excerpt(part: string): string {
  const cs = clusters(part);
  return cs.length <= 40 ? part : `${cs.slice(0, 14).join('')}…${cs.slice(-14).join('')}`;
}

const digest = (v: Variant) => createHash('sha256').update(JSON.stringify(v)).digest('hex');

describe('long threads split exactly where they did', () => {
  test('X: a part ends after the sentence holding a URL, never inside the URL', () => {
    const body = Array.from(
      { length: 6 },
      (_, i) =>
        `Step ${i + 1} of the migration is written up at https://example.com/migration/step-${i + 1}/details-and-numbers-for-the-team and it took us ${i + 2} days.`,
    ).join(' ');
    const v = thread('x', body, ['Temporal', 'SRE']);
    expect(v.parts.map(excerpt)).toEqual([
      '1/3 Step 1 of …ook us 4 days.',
      '2/3 Step 4 of …ook us 5 days.',
      '3/3 Step 5 of …#Temporal #SRE',
    ]);
    expect(v.length).toBe(267);
    expect(v.adaptations).toEqual(['split into 3 posts', 'thread numbering added']);
    expect(digest(v)).toBe('74b24f7777557e93d570a2dae4569963a7220a3f4410e5be91f5d66d78916d73');
  });

  test('Mastodon at 80 characters: URLs count 23 and a remote mention counts as @user', () => {
    const body =
      'Durable workflows https://docs.temporal.io/workflows survive restarts, say @alice@mastodon.social and @bob. ' +
      'Retries are configuration https://example.com/a/very/long/path/that/counts/only/twenty-three not code. ' +
      'Timers survive restarts too.';
    const v = thread('mastodon', body, ['durable'], { mastodonMaxChars: 80 });
    expect(v.parts.map(excerpt)).toEqual([
      '1/3 Durable wo…don.social and',
      '2/3 @bob. Retr…hree not code.',
      '3/3 Timers sur…too.\n\n#durable',
    ]);
    expect(v.length).toBe(78);
    expect(digest(v)).toBe('ce0b53de796c0a877b6cdf64d20152483d9edcf1e598795b9eef8c7f4c3c39c7');
  });

  test('Bluesky: ZWJ families and flags split between whole emoji at the 3000-byte limit', () => {
    const body = `Family photo day ${FAMILY.repeat(130)} and flags ${'🇯🇵🇨🇳🇺🇸'.repeat(60)} the end.`;
    const v = thread('bluesky', body, []);
    expect(v.parts).toHaveLength(2);
    const [first, second] = v.parts;
    expect(first.startsWith('1/2 Family photo day ')).toBe(true);
    expect(first.endsWith(FAMILY)).toBe(true);
    expect(second.startsWith(`2/2 ${FAMILY}`)).toBe(true);
    expect(second.endsWith('🇺🇸 the end.')).toBe(true);
    const families = (s: string) => clusters(s).filter((c) => c === FAMILY).length;
    expect([families(first), families(second)]).toEqual([119, 11]);
    expect(v.parts.map(utf8Bytes)).toEqual([2996, 1739]); // the first part 4 bytes under the limit;
    expect(v.length).toBe(215);
    expect(digest(v)).toBe('15519be4fce2970bd8f8fe837bd4c6eded15d9d594e400abdd19f6b7aa6bc0f0');
  });

  test('Threads: Chinese without spaces splits between dictionary words; emoji count their bytes', () => {
    const v = thread('threads', '重试策略只需声明一次不用在每个脚本里重复编写'.repeat(30) + '🧵👇'.repeat(20), ['日本語']);
    expect(v.parts.map(excerpt)).toEqual([
      '1/2 重试策略只需声明一次…编写重试策略只需声明一次不用',
      '2/2 在每个脚本里重复编写…🧵👇🧵👇🧵👇🧵👇\n\n#日本語',
    ]);
    expect(v.length).toBe(500);
    expect(digest(v)).toBe('ffdf45e80f02ea0d4f9cdefcf22c8e4316cb1994b5da2ad4943940befab4e6f2');
  });

  test('Mastodon at 120 characters: a Japanese run with no spaces splits between words', () => {
    const v = thread('mastodon', 'ワークフローは失敗しても最後のステップから再開します'.repeat(25), [], { mastodonMaxChars: 120 });
    expect(v.parts.map(excerpt)).toEqual([
      '1/6 ワークフローは失敗し…ますワークフローは失敗しても',
      '2/6 最後のステップから再…ても最後のステップから再開し',
      '3/6 ますワークフローは失…開しますワークフローは失敗し',
      '4/6 ても最後のステップか…失敗しても最後のステップから',
      '5/6 再開しますワークフロ…から再開しますワークフローは',
      '6/6 失敗しても最後のステ…最後のステップから再開します',
    ]);
    expect(v.length).toBe(120);
    expect(digest(v)).toBe('d832d0b5671bbe56afb2b2ce060b7dcf06e3eed1ce6f4a627530237e241738ea');
  });
});

describe('fast counters agree with the plain ones', () => {
  // Pieces that join across ASCII in the grapheme rules (CR LF, a combining accent, a keycap, a prepended Arabic
  // sign), regional indicators, ZWJ sequences, lone surrogates, URLs with and without a scheme, remote mentions.
  const POOL = ['a', ' ', '\n', '\r', '\r\n', '#', '1', '\ufe0f', '\u20e3', '\u200d', '\u0301', '\u0600', '🇺', '🇸', '👍', '🏽', FAMILY, '日本', 'ワーク', '한국', '\ud83d', '.', 'https://', 'example.com', 'a.co', '/p?x=1', '@bob', '@bob@mastodon.social', '例え.jp'];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const texts = Array.from({ length: 3000 }, () =>
    Array.from({ length: 1 + Math.floor(random() * 24) }, () => POOL[Math.floor(random() * POOL.length)]).join(''),
  );

  test('graphemes, graphemesExceed and threadsLength match a plain Intl.Segmenter count', () => {
    const emoji = /[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3]/u;
    for (const text of texts) {
      const cs = clusters(text);
      expect(graphemes(text)).toBe(cs.length);
      expect(graphemesExceed(text, 5)).toBe(cs.length > 5);
      expect(threadsLength(text)).toBe(cs.reduce((n, c) => n + (emoji.test(c) ? utf8Bytes(c) : c.length), 0));
    }
  });

  test('the X bounds and the Mastodon lower bound hold the exact count between them', () => {
    for (const text of texts) {
      const x = countX(text);
      const { lower, upper } = countXBounds(text.normalize('NFC'));
      expect([lower <= x, x <= upper, text]).toEqual([true, true, text]);
      expect([mastodonLengthAtLeast(text) <= mastodonLength(text), text]).toEqual([true, text]);
    }
  });
});
