// Text limits per platform and how each one counts. Limits change: keep them here and nowhere else.
import type { Platform } from './types';
import {
  countX,
  countXBounds,
  graphemes,
  graphemesExceed,
  mastodonLength,
  mastodonLengthAtLeast,
  threadsLength,
  URL_WEIGHT,
  utf8Bytes,
} from './text-count';

export interface PlatformRule {
  limit: number;
  /** What `limit` counts, in words fit for a message to a person. */
  unit: string;
  /** The platform can publish a reply-thread. */
  threads: boolean;
  /** Default hashtag cap, where the platform has one. */
  maxHashtags?: number;
  /** A second limit in UTF-8 bytes, checked as well as `limit`. */
  maxBytes?: number;
}

export const DEFAULT_MASTODON_MAX_CHARS = 500;
export const DEFAULT_INSTAGRAM_HASHTAG_CAP = 5;

export const PLATFORM_RULES: Record<Platform, PlatformRule> = {
  x: { limit: 280, unit: 'weighted characters', threads: true },
  linkedin: { limit: 3000, unit: 'characters', threads: false },
  facebook: { limit: 63206, unit: 'characters', threads: false },
  instagram: { limit: 2200, unit: 'characters', threads: false, maxHashtags: DEFAULT_INSTAGRAM_HASHTAG_CAP },
  threads: { limit: 500, unit: 'characters (emoji count as UTF-8 bytes)', threads: true },
  mastodon: { limit: DEFAULT_MASTODON_MAX_CHARS, unit: 'characters', threads: true },
  bluesky: { limit: 300, unit: 'graphemes', threads: true, maxBytes: 3000 },
  slack: { limit: 40000, unit: 'characters', threads: false },
  discord: { limit: 2000, unit: 'characters', threads: false },
  // No practical limit; a bound keeps a runaway body from being sent whole.
  webhook: { limit: 100000, unit: 'characters', threads: false },
};

export interface CountOptions {
  /** Mastodon instance's `characters_reserved_per_url` (default 23). */
  mastodonCharsPerUrl?: number;
}

/**
 * Length of `text` counted the platform's own way. Plain "characters" are UTF-16 code units, which
 * are never fewer than code points, so a text that passes here passes however the platform counts.
 * LinkedIn counts before little-text escaping, so pass the unescaped text.
 */
export function countFor(platform: Platform, text: string, opts: CountOptions = {}): number {
  switch (platform) {
    case 'x':
      return countX(text);
    case 'threads':
      return threadsLength(text);
    case 'mastodon':
      return mastodonLength(text, opts.mastodonCharsPerUrl ?? URL_WEIGHT);
    case 'bluesky':
      return graphemes(text);
    default:
      return text.length;
  }
}

export interface LimitOptions {
  mastodonMaxChars?: number;
  instagramHashtagCap?: number;
}

/** The rule for `platform` with per-deployment settings (Mastodon instance limit, Instagram hashtag cap) applied. */
export function ruleFor(platform: Platform, opts: LimitOptions = {}): PlatformRule {
  const rule = PLATFORM_RULES[platform];
  if (platform === 'mastodon' && opts.mastodonMaxChars !== undefined) return { ...rule, limit: opts.mastodonMaxChars };
  if (platform === 'instagram' && opts.instagramHashtagCap !== undefined) {
    return { ...rule, maxHashtags: opts.instagramHashtagCap };
  }
  return rule;
}

/** Why `text` breaks `rule` on `platform`, e.g. "x: 312 weighted characters, limit 280"; null when it fits. */
export function overLimit(platform: Platform, rule: PlatformRule, text: string): string | null {
  const n = countFor(platform, text);
  if (n > rule.limit) return `${platform}: ${n} ${rule.unit}, limit ${rule.limit}`;
  if (rule.maxBytes !== undefined) {
    const bytes = utf8Bytes(text);
    if (bytes > rule.maxBytes) return `${platform}: ${bytes} UTF-8 bytes, limit ${rule.maxBytes}`;
  }
  return null;
}

/** Same answer as `overLimit(...) === null`, but settles most texts with a cheap bound before counting exactly. */
export function fits(platform: Platform, rule: PlatformRule, text: string): boolean {
  if (rule.maxBytes !== undefined && utf8Bytes(text) > rule.maxBytes) return false;
  const quick = quickFit(platform, rule.limit, text);
  return quick ?? countFor(platform, text) <= rule.limit;
}

const occurrences = (text: string, needle: string) => text.split(needle).length - 1;

/**
 * Bounds on `countFor(platform, text)`, found in one pass, for the platforms whose exact count costs more (X and
 * Mastodon run twitter-text's URL scan, Threads segments graphemes); undefined for the others.
 */
function countBounds(platform: Platform, text: string): { lower: number; upper: number } | undefined {
  switch (platform) {
    case 'x':
      return countXBounds(text.normalize('NFC'));
    case 'threads':
      // Each grapheme counts between its UTF-16 length and its UTF-8 bytes.
      return { lower: text.length, upper: utf8Bytes(text) };
    case 'mastodon':
      // Graphemes are never more than code units; a URL counts 23 and has a scheme; mentions only get shorter.
      return { lower: mastodonLengthAtLeast(text), upper: text.length + URL_WEIGHT * occurrences(text, '://') };
    default:
      return undefined;
  }
}

/** true or false when a bound settles it, undefined when only an exact count can. */
function quickFit(platform: Platform, limit: number, text: string): boolean | undefined {
  switch (platform) {
    case 'x':
    case 'threads':
    case 'mastodon': {
      const { lower, upper } = countBounds(platform, text)!;
      if (upper <= limit) return true;
      return lower > limit ? false : undefined;
    }
    case 'bluesky':
      return text.length <= limit ? true : !graphemesExceed(text, limit);
    default:
      return text.length <= limit;
  }
}

/**
 * `Math.max(0, ...texts.map((t) => countFor(platform, t)))`, counting exactly only the texts whose bounds do not
 * rule them out of being the longest.
 */
export function longestCount(platform: Platform, texts: readonly string[]): number {
  const bounds = texts.map((t) => countBounds(platform, t));
  const atLeast = Math.max(0, ...bounds.map((b) => b?.lower ?? 0));
  let longest = 0;
  for (let i = 0; i < texts.length; i++) {
    const upper = bounds[i]?.upper ?? Infinity;
    if (upper >= atLeast && upper > longest) longest = Math.max(longest, countFor(platform, texts[i]));
  }
  return longest;
}
