// Pure text measurement, one function per way a platform counts. No I/O: safe to import from workflows.
import { extractUrlsWithIndices, parseTweet } from 'twitter-text';

/** Characters X and Mastodon charge for any URL, whatever its real length. */
export const URL_WEIGHT = 23;

const graphemeSegmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** X weighted length: NFC, most Latin 1, CJK and every emoji (ZWJ sequences too) 2, each URL 23. */
export function countX(text: string): number {
  return parseTweet(text.normalize('NFC')).weightedLength;
}

/** The user-perceived characters (extended grapheme clusters) of `text`, in order. */
export function splitGraphemes(text: string): string[] {
  return Array.from(graphemeSegmenter.segment(text), (s) => s.segment);
}

/** Number of user-perceived characters (extended grapheme clusters). */
export function graphemes(text: string): number {
  let n = 0;
  for (const _ of graphemeSegmenter.segment(text)) n++;
  return n;
}

/** Whether `text` has more than `max` graphemes; stops counting as soon as it knows. */
export function graphemesExceed(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let n = 0;
  for (const _ of graphemeSegmenter.segment(text)) if (++n > max) return true;
  return false;
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
  let n = 0;
  for (const { segment } of graphemeSegmenter.segment(text)) {
    n += EMOJI.test(segment) ? utf8Bytes(segment) : segment.length;
  }
  return n;
}

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

const LITTLE_TEXT_RESERVED = /[\\|{}@[\]()<>#*_~]/g;

/** LinkedIn "little text": backslash-escape every reserved character, or the post is silently cut at it. */
export function escapeLittleText(text: string): string {
  return text.replace(LITTLE_TEXT_RESERVED, '\\$&');
}
