// Shared by the adaptation tests (test/unit/domain/adapt-*.test.ts): what a fitting variant is, and generated text.
import type { AdaptOptions } from '../../src/domain/adapt';
import { countFor, ruleFor } from '../../src/domain/platform-rules';
import { utf8Bytes } from '../../src/domain/text-count';
import type { Variant } from '../../src/domain/types';

export /** Every part fits the platform's count and, for Bluesky, its byte limit; the variant reports the longest part. */
function expectAllPartsFit(v: Variant, opts?: AdaptOptions): void {
  const rule = ruleFor(v.platform, opts);
  expect(v.limit).toBe(rule.limit);
  expect(v.parts.length).toBeGreaterThan(0);
  for (const part of v.parts) {
    expect(countFor(v.platform, part)).toBeLessThanOrEqual(rule.limit);
    if (rule.maxBytes !== undefined) expect(utf8Bytes(part)).toBeLessThanOrEqual(rule.maxBytes);
  }
  expect(v.length).toBe(Math.max(...v.parts.map((p) => countFor(v.platform, p))));
}

const FAMILY = '👨‍👩‍👧‍👦';

// Deterministic generator, so a failure reproduces.
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TOKENS = [
  'durable',
  'workflow',
  'Temporal',
  'ça',
  'naïve',
  'e\u0301te\u0301',
  '日本語の文章です',
  '中文字符',
  '한국어',
  'مرحبا',
  '👋',
  '👍🏽',
  FAMILY,
  '🏳️‍🌈',
  '🇺🇸🇫🇷',
  '1️⃣',
  'https://example.com/a/rather/long/path?with=query&and=more',
  'https://a.co',
  'example.org/path',
  '@alice@mastodon.social',
  '@bob',
  '#tag',
  'Donaudampfschifffahrtsgesellschaftskapitän',
  // Single words longer than some limits, so parts must break inside them.
  `https://example.com/${'segment/'.repeat(40)}`,
  '長い日本語の文章'.repeat(19),
  // Kept short: twitter-text's URL pattern takes quadratic time over a long emoji run ending in a dot.
  FAMILY.repeat(12),
];
const ENDINGS = [' ', ' ', ' ', '. ', '! ', '? ', '。', '\n', '\n\n', ', '];

export function randomText(rand: () => number, maxTokens: number): string {
  const n = Math.floor(rand() * maxTokens);
  let text = '';
  for (let i = 0; i < n; i++) {
    text += TOKENS[Math.floor(rand() * TOKENS.length)] + ENDINGS[Math.floor(rand() * ENDINGS.length)];
  }
  return text;
}

/**
 * The property tests' inputs: every third body long (300 tokens, split into many parts), the rest 100 tokens, with
 * titles and hashtags of the same mix. 24 cases keep the unit tier within its minute on a busy 2-core machine (each
 * long thread costs tens of milliseconds of grapheme counting per platform); the seed is fixed, so a failure reproduces.
 */
export function generatedCases(count = 24): { i: number; body: string; title: string; hashtags: string[] }[] {
  const rand = mulberry32(20240601);
  return Array.from({ length: count }, (_, i) => ({
    i,
    body: randomText(rand, i % 3 === 0 ? 300 : 100),
    title: randomText(rand, 8),
    hashtags: randomText(rand, 10).split(/\s+/).filter(Boolean),
  }));
}
