// Turns generated content into what each platform accepts. Pure and deterministic: workflows may call it.
import type { ContentFormat, Platform, Variant } from './types';
import { fits, longestCount, overLimit, ruleFor, type PlatformRule } from './platform-rules';
import { splitGraphemes } from './text-count';

export interface AdaptOptions {
  instagramHashtagCap?: number;
  mastodonMaxChars?: number;
}

export interface AdaptInput {
  title: string;
  body: string;
  hashtags: string[];
  format: ContentFormat;
  platform: Platform;
}

const ELLIPSIS = '…';

// A fixed locale: segmentation must not depend on the machine a worker runs on.
const sentenceSegmenter = new Intl.Segmenter('en', { granularity: 'sentence' });
const wordSegmenter = new Intl.Segmenter('en', { granularity: 'word' });

type Fits = (text: string) => boolean;

/**
 * `fits` for one platform and rule, remembering its answers: splitting a thread asks about the same candidate text
 * more than once (a piece alone, then as a group of one; again when the numbering widens), and an exact count can
 * cost tens of microseconds.
 */
function fitsRule(platform: Platform, rule: PlatformRule): Fits {
  const answers = new Map<string, boolean>();
  return (text) => {
    let answer = answers.get(text);
    if (answer === undefined) answers.set(text, (answer = fits(platform, rule, text)));
    return answer;
  };
}

/** Segments with whitespace-only segments folded into the one before, so every unit carries text. */
function segmentsWithText(text: string, segmenter: Intl.Segmenter): string[] {
  const out: string[] = [];
  for (const { segment } of segmenter.segment(text)) {
    if (out.length > 0 && segment.trim() === '') out[out.length - 1] += segment;
    else out.push(segment);
  }
  return out;
}

const sentences = (text: string) => segmentsWithText(text, sentenceSegmenter);
const words = (text: string) => text.match(/\s*\S+\s*/g) ?? [text];
const wordPieces = (text: string) => segmentsWithText(text, wordSegmenter);
const codePoints = (text: string) => Array.from(text);

/**
 * Boundaries from coarsest to finest. Level 0 is a sentence (or line), 1 a space-separated word,
 * 2 a dictionary word (how CJK text without spaces still breaks between words), then graphemes and,
 * for a single grapheme too long to fit (absurd, but possible), code points.
 */
const LEVELS = [sentences, words, wordPieces, splitGraphemes, codePoints];

interface Piece {
  text: string;
  level: number;
}

type Units = (level: number, text: string) => string[];

/** LEVELS with every answer kept, for a caller that breaks the same text again (a thread repacked for wider numbering). */
function rememberedUnits(): Units {
  const kept = LEVELS.map(() => new Map<string, string[]>());
  return (level, text) => {
    let units = kept[level].get(text);
    if (units === undefined) kept[level].set(text, (units = LEVELS[level](text)));
    return units;
  };
}

/** Breaks `text` into pieces that each fit alone, using a finer boundary only inside a unit that is too long. */
function piecesThatFit(text: string, fit: Fits, unitsAt: Units, level = 0): Piece[] {
  const out: Piece[] = [];
  for (const unit of unitsAt(level, text)) {
    if (level === LEVELS.length - 1 || unit.trim() === '' || fit(unit.trim())) out.push({ text: unit, level });
    else out.push(...piecesThatFit(unit, fit, unitsAt, level + 1));
  }
  return out;
}

const join = (pieces: readonly string[]) => pieces.join('').trim();

/**
 * Largest `end` in (start, count] for which `fit(end)` holds (`start` if none), found by galloping then
 * bisecting, which needs far fewer counts than adding one unit at a time. Counts are only nearly
 * monotonic (a URL completing can lower an X count), so the answer may be a unit short of the best,
 * but it is always one that was tested and fits.
 */
function longestRun(count: number, start: number, fit: (end: number) => boolean): number {
  let good = start;
  let step = 1;
  while (good + step <= count && fit(good + step)) {
    good += step;
    step *= 2;
  }
  let bad = Math.min(good + step, count + 1);
  while (bad - good > 1) {
    const mid = (good + bad) >> 1;
    if (fit(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

/** Packs pieces, in order, into as few groups as fit; every piece fits alone. */
function pack(pieces: readonly string[], fit: Fits): string[][] {
  const groups: string[][] = [];
  let start = 0;
  while (start < pieces.length) {
    if (pieces[start].trim() === '') {
      start++;
      continue;
    }
    // A piece always fits alone, so a group never comes back empty.
    const end = Math.max(start + 1, longestRun(pieces.length, start, (e) => fit(join(pieces.slice(start, e)))));
    groups.push(pieces.slice(start, end));
    start = end;
  }
  return groups;
}

function renderTags(tags: readonly string[]): string {
  return tags.map((t) => `#${t}`).join(' ');
}

function withTags(text: string, tags: readonly string[]): string {
  if (tags.length === 0) return text;
  return text === '' ? renderTags(tags) : `${text}\n\n${renderTags(tags)}`;
}

function hashtagsCut(kept: number, why = ''): string {
  return kept === 0 ? `hashtags removed${why}` : `hashtags cut to ${kept}${why}`;
}

/** Strips `#`, spaces and punctuation that would end a hashtag early; drops empty and repeated tags. */
function cleanTags(raw: readonly string[]): { tags: string[]; adaptations: string[] } {
  const tags: string[] = [];
  const seen = new Set<string>();
  let altered = false;
  let repeated = false;
  for (const tag of raw) {
    const bare = tag.trim().replace(/^[#＃]+/, '');
    const clean = bare.replace(/[^\p{L}\p{N}\p{M}_]/gu, '');
    if (clean !== bare) altered = true;
    if (clean === '') continue;
    const key = clean.toLowerCase();
    if (seen.has(key)) {
      repeated = true;
      continue;
    }
    seen.add(key);
    tags.push(clean);
  }
  const adaptations: string[] = [];
  if (altered) adaptations.push('hashtags cleaned of spaces and punctuation');
  if (repeated) adaptations.push('repeated hashtags removed');
  return { tags, adaptations };
}

const numbering = (i: number, n: number) => `${i}/${n} `;

/**
 * Splits `body` into numbered parts ("1/3 ...") at sentence boundaries, finer only inside a sentence
 * that cannot fit a part alone. Hashtags go on the last part, as many as fit there.
 */
function splitThread(
  body: string,
  tags: readonly string[],
  fit: Fits,
): { parts: string[]; tagsKept: number; finestBreak: number } {
  // Pack against the widest numbering for an assumed number of digits; repack if the thread turns out longer.
  const unitsAt = rememberedUnits();
  for (let digits = 1; digits <= 6; digits++) {
    const widest = numbering(10 ** digits - 1, 10 ** digits - 1);
    const fitNumbered: Fits = (text) => fit(widest + text);
    const pieces = piecesThatFit(body, fitNumbered, unitsAt);
    const finestBreak = pieces.reduce((finest, p) => Math.max(finest, p.level), 0);
    const groups = pack(pieces.map((p) => p.text), fitNumbered);

    let texts: string[] = groups.map(join);
    let tagsKept = 0;
    for (let k = tags.length; k > 0; k--) {
      const withLast = tagsOnLastPart(groups, tags.slice(0, k), fitNumbered);
      if (withLast) {
        texts = withLast;
        tagsKept = k;
        break;
      }
    }

    const n = texts.length;
    if (n === 1) return { parts: texts, tagsKept, finestBreak };
    if (n >= 10 ** digits) {
      digits = String(n).length - 1;
      continue;
    }
    const parts = texts.map((t, i) => numbering(i + 1, n) + t);
    // Real numbering is never wider than the one packed against, so this holds; checked because a wrong part must never leave here.
    if (parts.every(fit)) return { parts, tagsKept, finestBreak };
  }
  throw new Error('thread could not be split within the limit');
}

/** Adds the tags to the last group, moving its leading pieces into a part of their own if that makes room. */
function tagsOnLastPart(groups: string[][], tags: readonly string[], fit: Fits): string[] | null {
  const before = groups.slice(0, -1).map(join);
  const last = [...(groups[groups.length - 1] ?? [])];
  while (last.length > 0 && last[last.length - 1].trim() === '') last.pop();
  const tail = (n: number) => withTags(join(last.slice(last.length - n)), tags);
  // A last part holding nothing but hashtags would read as noise, so at least one piece stays with them.
  const kept = longestRun(last.length, 0, (n) => fit(tail(n)));
  if (kept === 0) return null;
  if (kept === last.length) return [...before, tail(kept)];
  // Part of a URL can count more than the whole URL, so the head left behind is checked too.
  const head = join(last.slice(0, last.length - kept));
  return fit(head) ? [...before, head, tail(kept)] : null;
}

function ellipsize(text: string, level: number): string {
  const trimmed = text.trimEnd();
  // "Done. …" reads as more to come; "Done.…" reads as a typo. Full-width punctuation (。) carries its own space.
  const spaced = level === 0 && /\p{P}$/u.test(trimmed) && !/[\u3000-\u303f\uff00-\uffef]$/u.test(trimmed);
  return spaced ? `${trimmed} ${ELLIPSIS}` : `${trimmed}${ELLIPSIS}`;
}

/** Longest start of `text` ending at the coarsest boundary possible, with an ellipsis, that fits. */
function shorten(text: string, fit: Fits, level = 0): { text: string; level: number } {
  const units = LEVELS[level](text);
  const kept = longestRun(units.length, 0, (end) => fit(ellipsize(units.slice(0, end).join(''), level)));
  if (kept === 0 && level < LEVELS.length - 1) return shorten(units[0] ?? '', fit, level + 1);
  return { text: ellipsize(units.slice(0, kept).join(''), level), level };
}

const SHORTENED_AT = ['a sentence boundary', 'a word boundary', 'a word boundary', 'mid-word', 'mid-character'];
const SPLIT_AT = [
  '',
  'a sentence too long for one post split between words',
  'a sentence too long for one post split between words',
  'a word too long for one post split',
  'a character too long for one post split',
];

/** One part: the full text if it fits; otherwise hashtags go first, then the text is shortened. */
function onePart(text: string, tags: readonly string[], fit: Fits, platform: Platform, rule: PlatformRule) {
  const adaptations: string[] = [];
  if (fit(withTags(text, tags))) return { part: withTags(text, tags), adaptations };

  if (text === '' || fit(text)) {
    let k = tags.length - 1;
    while (k > 0 && !fit(withTags(text, tags.slice(0, k)))) k--;
    adaptations.push(hashtagsCut(k, ' to fit'));
    return { part: withTags(text, tags.slice(0, k)), adaptations };
  }

  // The text must be shortened; hashtags may keep at most half the room.
  const half = { ...rule, limit: rule.limit / 2, maxBytes: rule.maxBytes && rule.maxBytes / 2 };
  let k = tags.length;
  while (k > 0 && !fits(platform, half, renderTags(tags.slice(0, k)))) k--;
  if (k < tags.length) adaptations.push(hashtagsCut(k, ' to fit'));
  const kept = tags.slice(0, k);
  const short = shorten(text, (t) => fit(withTags(t, kept)));
  adaptations.push(`shortened at ${SHORTENED_AT[short.level]}`);
  return { part: withTags(short.text, kept), adaptations };
}

function variant(platform: Platform, rule: PlatformRule, parts: string[], adaptations: string[]): Variant {
  const length = longestCount(platform, parts);
  return { platform, parts, length, limit: rule.limit, adaptations };
}

export function adaptForPlatform(input: AdaptInput, opts: AdaptOptions = {}): Variant {
  const { platform, format } = input;
  const rule = ruleFor(platform, opts);
  const fit = fitsRule(platform, rule);
  const adaptations: string[] = [];

  const cleaned = cleanTags(input.hashtags);
  adaptations.push(...cleaned.adaptations);
  let tags = cleaned.tags;
  if (rule.maxHashtags !== undefined && tags.length > rule.maxHashtags) {
    tags = tags.slice(0, Math.max(0, rule.maxHashtags));
    adaptations.push(hashtagsCut(tags.length));
  }

  const title = input.title.trim();
  let text = input.body.trim();
  if (text === '' && title !== '') {
    text = title;
    adaptations.push('title used as the text, the body being empty');
  } else if (format === 'article' && title !== '' && !text.startsWith(title)) {
    text = `${title}\n\n${text}`;
    adaptations.push('title added as first line');
  }

  if (format === 'thread' && rule.threads) {
    if (fit(withTags(text, tags))) {
      adaptations.push('thread fits in one post, not split');
      return variant(platform, rule, [withTags(text, tags)], adaptations);
    }
    const thread = splitThread(text, tags, fit);
    if (thread.parts.length > 1) adaptations.push(`split into ${thread.parts.length} posts`, 'thread numbering added');
    if (thread.finestBreak > 0) adaptations.push(SPLIT_AT[thread.finestBreak]);
    if (thread.tagsKept < tags.length) adaptations.push(hashtagsCut(thread.tagsKept, ' to fit'));
    return variant(platform, rule, thread.parts, adaptations);
  }

  if (format === 'thread') adaptations.push(`thread posted as one post, ${platform} has no threads`);
  const one = onePart(text, tags, fit, platform, rule);
  adaptations.push(...one.adaptations);
  return variant(platform, rule, [one.part], adaptations);
}

const HASHTAG = /(^|[^\p{L}\p{N}_&/])[#＃][\p{L}\p{N}\p{M}_]+/gu;

export function checkVariantText(
  platform: Platform,
  format: ContentFormat,
  text: string,
  opts: AdaptOptions = {},
): { ok: true; variant: Variant } | { ok: false; reason: string } {
  const rule = ruleFor(platform, opts);
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: `${platform}: text is empty` };

  if (rule.maxHashtags !== undefined) {
    const count = trimmed.match(HASHTAG)?.length ?? 0;
    if (count > rule.maxHashtags) return { ok: false, reason: `${platform}: ${count} hashtags, limit ${rule.maxHashtags}` };
  }

  const fit = fitsRule(platform, rule);
  if (fit(trimmed)) return { ok: true, variant: variant(platform, rule, [trimmed], []) };

  if (format === 'thread' && rule.threads) {
    const { parts, finestBreak } = splitThread(trimmed, [], fit);
    const adaptations = [`split into ${parts.length} posts`, 'thread numbering added'];
    if (finestBreak > 0) adaptations.push(SPLIT_AT[finestBreak]);
    return { ok: true, variant: variant(platform, rule, parts, adaptations) };
  }
  return { ok: false, reason: overLimit(platform, rule, trimmed) ?? `${platform}: does not fit` };
}
