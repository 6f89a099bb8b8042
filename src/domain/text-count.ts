// Pure text measurement, one function per way a platform counts. No I/O: safe to import from workflows.
import { extractUrlsWithIndices, parseTweet } from 'twitter-text';

/** Characters X and Mastodon charge for any URL, whatever its real length. */
export const URL_WEIGHT = 23;

const graphemeSegmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** X weighted length: NFC, most Latin 1, CJK and every emoji (ZWJ sequences too) 2, each URL 23. */
export function countX(text: string): number {
  return parseTweet(text.normalize('NFC')).weightedLength;
}

const isAsciiSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isAsciiLetter = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** Kana, the main CJK ideograph blocks and Hangul syllables: weight 2 on X, and never part of an emoji. */
const isKanaHanOrHangul = (c: number) =>
  (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7a3);

/**
 * Bounds on `countX` of an NFC text, in one pass and without twitter-text, so that a text far from a limit needs
 * no exact count. They rest on how twitter-text weighs: an ASCII character 1, any other code point at most 2, an
 * emoji 2 (only a keycap emoji holds ASCII, its # * or digit followed by U+FE0F or U+20E3), a URL 23; a URL never
 * holds ASCII whitespace, and its domain always has a dot followed by the letter that starts its TLD.
 * - upper: every code unit at its largest weight, plus 23 for each dot followed by a letter or any non-ASCII
 *   character (a possible URL);
 * - lower: ASCII whitespace 1 each; in each run between whitespace, 1 per ASCII character not followed by a
 *   non-ASCII one and 2 per kana, CJK ideograph or Hangul syllable, and at most 23 in all for a run with a dot,
 *   since the run may be a URL.
 */
export function countXBounds(nfc: string): { lower: number; upper: number } {
  let upper = 0;
  let lower = 0;
  let run = 0;
  let runHasDot = false;
  for (let i = 0; i <= nfc.length; i++) {
    const c = nfc.charCodeAt(i); // NaN past the end, which ends the last run
    if (c >= 0x80) {
      upper += 2;
      if (isKanaHanOrHangul(c)) run += 2;
      continue;
    }
    if (!(c < 0x80) || isAsciiSpace(c)) {
      lower += runHasDot ? Math.min(run, URL_WEIGHT) : run;
      run = 0;
      runHasDot = false;
      if (c < 0x80) {
        upper += 1;
        lower += 1;
      }
      continue;
    }
    upper += 1;
    const next = nfc.charCodeAt(i + 1);
    if (c === 0x2e) {
      runHasDot = true;
      if (next >= 0x80 || isAsciiLetter(next)) upper += URL_WEIGHT;
    }
    if (!(next >= 0x80)) run += 1;
  }
  return { lower, upper };
}

/** The user-perceived characters (extended grapheme clusters) of `text`, in order. */
export function splitGraphemes(text: string): string[] {
  return Array.from(graphemeSegmenter.segment(text), (s) => s.segment);
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Whether a grapheme cluster boundary is certain at `i` (0 < i < text.length) without segmenting: between two ASCII
 * characters other than CR LF. No rule of UAX #29 joins two such characters, and the rules that look further back
 * (regional indicator pairs, emoji ZWJ sequences, Indic conjuncts) only look back over non-ASCII characters, so the
 * stretches between such boundaries segment the same on their own as inside the whole text.
 */
function certainBoundary(text: string, i: number): boolean {
  const before = text.charCodeAt(i - 1);
  const at = text.charCodeAt(i);
  return before < 0x80 && at < 0x80 && !(before === CR && at === LF);
}

/**
 * Sum of `weigh(cluster)` over the grapheme clusters of `text` (each counts 1 without `weigh`), stopping once the sum
 * passes `stopAbove`. A lone ASCII character is a cluster of its own and counts 1 without segmenting; only the
 * stretches around non-ASCII characters (and CR LF) go through Intl.Segmenter. Mostly-ASCII text is thus counted
 * in one pass over its code units, instead of allocating a segment object per character.
 */
function sumClusters(text: string, weigh?: (cluster: string) => number, stopAbove = Infinity): number {
  let sum = 0;
  let start = 0;
  for (let end = 1; end <= text.length && sum <= stopAbove; end++) {
    if (end < text.length && !certainBoundary(text, end)) continue;
    if (end - start === 1 && text.charCodeAt(start) < 0x80) sum += 1;
    else {
      for (const { segment } of graphemeSegmenter.segment(text.slice(start, end))) {
        sum += weigh ? weigh(segment) : 1;
        if (sum > stopAbove) break;
      }
    }
    start = end;
  }
  return sum;
}

/** Number of user-perceived characters (extended grapheme clusters). */
export function graphemes(text: string): number {
  return sumClusters(text);
}

/** Whether `text` has more than `max` graphemes; stops counting as soon as it knows. */
export function graphemesExceed(text: string, max: number): boolean {
  if (text.length <= max) return false;
  return sumClusters(text, undefined, max) > max;
}

/** UTF-8 byte length, computed without TextEncoder/Buffer so it runs anywhere. Lone surrogates encode as U+FFFD (3 bytes). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

const EMOJI = /[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3]/u;

/**
 * Threads length: emoji count by their UTF-8 bytes (the whole cluster, so a ZWJ family is 25).
 * Meta does not say how other characters count; UTF-16 code units are never fewer than code points,
 * so this errs on the safe side.
 */
export function threadsLength(text: string): number {
  return sumClusters(text, threadsWeight);
}

const threadsWeight = (cluster: string) => (EMOJI.test(cluster) ? utf8Bytes(cluster) : cluster.length);

// Mastodon's account mention pattern (Account::MENTION_RE), with the optional domain made mandatory.
const REMOTE_MENTION = /(^|[^/\p{L}\p{N}_])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)@[\p{L}\p{N}_.-]+[\p{L}\p{N}_]/giu;

/**
 * Mastodon length as its StatusLengthValidator counts: graphemes, where every URL with a scheme counts
 * `urlWeight` (the instance's characters_reserved_per_url) and `@user@instance` counts as `@user`.
 * Mastodon only recognises URLs that carry a scheme, so a bare `example.com` counts as written.
 */
export function mastodonLength(text: string, urlWeight = URL_WEIGHT): number {
  const urls = text.includes('://') ? extractUrlsWithIndices(text, { extractUrlsWithoutProtocol: false }) : [];
  let countable = '';
  let at = 0;
  for (const { indices } of urls) {
    countable += text.slice(at, indices[0]) + 'x'.repeat(urlWeight);
    at = indices[1];
  }
  countable += text.slice(at);
  return graphemes(countable.replace(REMOTE_MENTION, '$1@$2'));
}

/**
 * A lower bound on `mastodonLength`, in one pass, so that a text far over a limit needs no exact count. Each ASCII
 * character is a grapheme of its own (only CR LF join), URLs and remote mentions never hold ASCII whitespace, so:
 * ASCII whitespace counts 1 (CR LF once), and each run between whitespace its ASCII characters, at most 23 for a run
 * that may hold a URL (`://`), and nothing for one that may hold a remote mention (two `@`), which counts shorter.
 */
export function mastodonLengthAtLeast(text: string, urlWeight = URL_WEIGHT): number {
  let lower = 0;
  let run = 0;
  let ats = 0;
  let mayBeUrl = false;
  for (let i = 0; i <= text.length; i++) {
    const c = text.charCodeAt(i); // NaN past the end, which ends the last run
    if (c >= 0x80) continue;
    if (!(c < 0x80) || isAsciiSpace(c)) {
      if (ats < 2) lower += mayBeUrl ? Math.min(run, urlWeight) : run;
      run = 0;
      ats = 0;
      mayBeUrl = false;
      if (c < 0x80 && !(c === CR && text.charCodeAt(i + 1) === LF)) lower += 1;
      continue;
    }
    run += 1;
    if (c === 0x40) ats += 1;
    else if (c === 0x3a && text.startsWith('//', i + 1)) mayBeUrl = true;
  }
  return lower;
}

const LITTLE_TEXT_RESERVED = /[\\|{}@[\]()<>#*_~]/g;

/** LinkedIn "little text": backslash-escape every reserved character, or the post is silently cut at it. */
export function escapeLittleText(text: string): string {
  return text.replace(LITTLE_TEXT_RESERVED, '\\$&');
}
