import {
  countX,
  escapeLittleText,
  graphemes,
  mastodonLength,
  splitGraphemes,
  threadsLength,
  utf8Bytes,
} from '../../../src/domain/text-count';
import { countFor, overLimit, PLATFORM_RULES, ruleFor } from '../../../src/domain/platform-rules';
import { PLATFORMS } from '../../../src/domain/types';

const FAMILY = '👨‍👩‍👧‍👦'; // four people joined by ZWJ: 7 code points, 11 UTF-16 units, 25 bytes

describe('countX', () => {
  test('counts Latin letters as 1 each', () => {
    expect(countX('hello world')).toBe(11);
  });

  test('counts every emoji as 2, including ZWJ sequences, flags, keycaps and skin tones', () => {
    expect(countX('👋')).toBe(2);
    expect(countX(FAMILY)).toBe(2);
    expect(countX('🇺🇸')).toBe(2);
    expect(countX('1️⃣')).toBe(2);
    expect(countX('👍🏽')).toBe(2);
    expect(countX('hi 👋')).toBe(5);
  });

  test('counts any URL as 23, long or short', () => {
    expect(countX('https://example.com/a/very/long/path/that/goes/on/and/on/and/on')).toBe(23);
    expect(countX('https://a.co')).toBe(23);
    expect(countX('see example.com')).toBe(4 + 23);
  });

  test('counts CJK characters as 2 each', () => {
    expect(countX('日本語')).toBe(6);
    expect(countX('한국어')).toBe(6);
  });

  test('counts after NFC normalisation, so a decomposed accent is one character', () => {
    expect(countX('e\u0301')).toBe(1);
    expect(countX('caf\u00e9')).toBe(countX('cafe\u0301'));
  });
});

describe('graphemes and bytes', () => {
  test('graphemes counts what a reader sees as one character', () => {
    expect(graphemes(FAMILY)).toBe(1);
    expect(graphemes('🇺🇸🇫🇷')).toBe(2);
    expect(graphemes('e\u0301')).toBe(1);
    expect(graphemes('日本語')).toBe(3);
    expect(splitGraphemes(`a${FAMILY}b`)).toEqual(['a', FAMILY, 'b']);
  });

  test('utf8Bytes matches Buffer.byteLength for ASCII, accents, CJK, emoji and lone surrogates', () => {
    for (const s of ['abc', 'é', '日本語', FAMILY, '🇺🇸', 'x\ud800y', '\udc00', '']) {
      expect(utf8Bytes(s)).toBe(Buffer.byteLength(s, 'utf8'));
    }
    expect(utf8Bytes(FAMILY)).toBe(25);
  });
});

describe('threadsLength', () => {
  test('counts plain characters as 1 and emoji by their UTF-8 bytes', () => {
    expect(threadsLength('café')).toBe(4);
    expect(threadsLength('日本')).toBe(2);
    expect(threadsLength('hi 👍')).toBe(3 + 4);
    expect(threadsLength(FAMILY)).toBe(25);
    expect(threadsLength('🇺🇸')).toBe(8);
  });
});

describe('mastodonLength', () => {
  test('counts each URL with a scheme as 23 whatever its length', () => {
    expect(mastodonLength('see https://example.com/a/very/long/path/that/goes/on')).toBe(4 + 23);
    expect(mastodonLength('https://a.co')).toBe(23);
  });

  test('counts a bare domain as written, since Mastodon only links URLs with a scheme', () => {
    expect(mastodonLength('example.com')).toBe(11);
  });

  test('counts a remote mention as only its local part', () => {
    expect(mastodonLength('@alice@mastodon.social hi')).toBe('@alice hi'.length);
    expect(mastodonLength('hi @alice')).toBe(9);
  });

  test('counts graphemes, so a ZWJ family is 1', () => {
    expect(mastodonLength(`${FAMILY}!`)).toBe(2);
  });
});

describe('escapeLittleText', () => {
  test('backslash-escapes every LinkedIn little-text reserved character', () => {
    expect(escapeLittleText('\\|{}@[]()<>#*_~')).toBe('\\\\\\|\\{\\}\\@\\[\\]\\(\\)\\<\\>\\#\\*\\_\\~');
  });

  test('leaves ordinary text, punctuation and emoji alone', () => {
    expect(escapeLittleText('Hello, world! Ça va? 👋 日本')).toBe('Hello, world! Ça va? 👋 日本');
    expect(escapeLittleText('mail me@x.org about #ai (soon)')).toBe('mail me\\@x.org about \\#ai \\(soon\\)');
  });
});

describe('platform rules', () => {
  test('cover every platform with a positive limit and a unit', () => {
    for (const p of PLATFORMS) {
      expect(PLATFORM_RULES[p].limit).toBeGreaterThan(0);
      expect(PLATFORM_RULES[p].unit).not.toBe('');
    }
    expect(Object.keys(PLATFORM_RULES).sort()).toEqual([...PLATFORMS].sort());
  });

  test('mark exactly x, threads, mastodon and bluesky as supporting reply-threads', () => {
    expect(PLATFORMS.filter((p) => PLATFORM_RULES[p].threads).sort()).toEqual(['bluesky', 'mastodon', 'threads', 'x']);
  });

  test('apply the Mastodon instance limit and Instagram hashtag cap from options', () => {
    expect(ruleFor('mastodon').limit).toBe(500);
    expect(ruleFor('mastodon', { mastodonMaxChars: 5000 }).limit).toBe(5000);
    expect(ruleFor('instagram').maxHashtags).toBe(5);
    expect(ruleFor('instagram', { instagramHashtagCap: 3 }).maxHashtags).toBe(3);
  });

  test('Bluesky counts graphemes but also enforces 3000 bytes', () => {
    const families = FAMILY.repeat(121); // 121 graphemes, 3025 bytes
    expect(countFor('bluesky', families)).toBe(121);
    expect(overLimit('bluesky', PLATFORM_RULES.bluesky, families)).toBe('bluesky: 3025 UTF-8 bytes, limit 3000');
    expect(overLimit('bluesky', PLATFORM_RULES.bluesky, FAMILY.repeat(120))).toBeNull();
    expect(overLimit('bluesky', PLATFORM_RULES.bluesky, 'a'.repeat(301))).toBe('bluesky: 301 graphemes, limit 300');
  });

  test('countFor uses each platform its own way', () => {
    const text = `日本 ${FAMILY} https://example.com/long/path/here`;
    expect(countFor('x', text)).toBe(4 + 1 + 2 + 1 + 23);
    expect(countFor('bluesky', text)).toBe(graphemes(text));
    expect(countFor('threads', text)).toBe(threadsLength(text));
    expect(countFor('mastodon', text)).toBe(2 + 1 + 1 + 1 + 23);
    expect(countFor('linkedin', text)).toBe(text.length);
  });
});
