// A deterministic writer that needs no model and no network: the same input always gives the same post.
// It builds the title from the topic and the body from the brief's most informative sentences, framed by
// an opening addressed to the audience and a closing in the requested voice. Variety between topics comes
// from a hash of the input, never from randomness or the clock.

import type { ContentFormat } from '../../domain/types';
import type { GeneratedText, GenerateTextInput, TextGenerator } from './types';

export const OFFLINE_MODEL = 'offline-v1';

/** Post bodies stay under this many characters. */
const POST_MAX_CHARS = 600;
/** Sentences of the brief a thread uses at most (plus opening and closing). */
const THREAD_MAX_SENTENCES = 10;
/** Sentences a thread has in total, opening and closing included. */
const THREAD_MIN_TOTAL = 6;
const ARTICLE_MAX_SENTENCES = 30;

export function createOfflineTextGenerator(): TextGenerator {
  return {
    name: 'offline',
    model: OFFLINE_MODEL,
    async generate(input: GenerateTextInput): Promise<GeneratedText> {
      return writeOffline(input);
    },
  };
}

/** The writer itself, synchronous and pure. */
export function writeOffline(input: GenerateTextInput): GeneratedText {
  const topic = deShout(clipAtWord(oneLine(input.topic) || 'Untitled', 160));
  const audience = clipAtWord(oneLine(input.audience ?? '').replace(/[.!?;:,]+$/, ''), 80);
  const voice = voiceFor(input.voice);
  const seed = hash(`${topic.toLowerCase()}|${input.format}`);
  const sentences = briefSentences(input.brief ?? '', topic);

  const title = titleFromTopic(topic);
  const ctx: Ctx = { topic, topicInline: inlineTopic(topic), audience, voice, seed, sentences };
  const body = composeBody(input.format, ctx);
  const hashtags = hashtagsFor(topic, input.brief ?? '', audience);

  const inputChars = [input.topic, input.brief, input.voice, input.audience, input.format].filter(Boolean).join('\n').length;
  const outputChars = title.length + body.length + hashtags.join(' ').length;
  const inputTokens = Math.ceil(inputChars / 4);
  const outputTokens = Math.ceil(outputChars / 4);
  return {
    title,
    body,
    hashtags,
    provider: 'offline',
    model: OFFLINE_MODEL,
    usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
  };
}

// ---------------------------------------------------------------------------------------------
// Voices

type VoiceKey = 'neutral' | 'playful' | 'formal' | 'friendly' | 'bold' | 'technical' | 'inspiring';

interface Voice {
  key: VoiceKey;
  /** Openings when the audience is known; {audience}, {Audience}, {topic} are filled in. */
  openings: string[];
  /** Openings without an audience. */
  openingsNoAudience: string[];
  closings: string[];
  /** Appended to a thread's first post. */
  threadCue: string;
  /** Leads into the last paragraph of an article. */
  conclusion: string;
}

// Templates only use the topic where any phrase reads well ("about {topic}", "on {topic}"), so a topic
// that is a clause ("why Rust is eating the world") works as well as a noun phrase.
const VOICES: Record<VoiceKey, Voice> = {
  neutral: {
    key: 'neutral',
    openings: [
      '{Audience}, here is what you need to know about {topic}.',
      'For {audience}: a clear look at {topic}.',
      '{Audience}, let’s take a closer look at {topic}.',
    ],
    openingsNoAudience: [
      'Here is what you need to know about {topic}.',
      'A clear look at {topic}.',
      'Let’s take a closer look at {topic}.',
    ],
    closings: ['What is your take? Share your thoughts below.', 'Worth keeping an eye on. What do you think?', 'How are you approaching this? Let us know.'],
    threadCue: 'A thread 🧵',
    conclusion: 'In short,',
  },
  playful: {
    key: 'playful',
    openings: [
      'Hey {audience}! Let’s talk about {topic} 👀',
      'Calling all {audience}: we need to talk about {topic} ✨',
      'Psst, {audience}… got a minute for {topic}? 🍿',
    ],
    openingsNoAudience: ['Let’s talk about {topic} 👀', 'Okay, we need to talk about {topic} ✨', 'Got a minute for {topic}? 🍿'],
    closings: [
      'That’s the scoop! Got a hot take? Drop it below 👇',
      'Go on, give it a spin, then come back and tell us everything 🎉',
      'Tag a friend who needs this in their life 😄',
    ],
    threadCue: '🧵👇',
    conclusion: 'The short version:',
  },
  formal: {
    key: 'formal',
    openings: [
      'For {audience}: the key points on {topic}.',
      'This note sets out the key points on {topic} for {audience}.',
      'The following summary on {topic} has been prepared for {audience}.',
    ],
    openingsNoAudience: [
      'The key points on {topic}.',
      'This note sets out the key points on {topic}.',
      'The following is a summary on {topic}.',
    ],
    closings: [
      'We welcome your perspective on these developments.',
      'We will continue to monitor developments and share further updates.',
      'Further detail is available on request.',
    ],
    threadCue: 'A brief thread follows.',
    conclusion: 'In summary,',
  },
  friendly: {
    key: 'friendly',
    openings: [
      'Hi {audience}! Here is a quick look at {topic}.',
      'Hello {audience}, let’s chat about {topic}.',
      '{Audience}, we put together a few thoughts on {topic} for you.',
    ],
    openingsNoAudience: ['Here is a quick look at {topic}.', 'Let’s chat about {topic}.', 'We put together a few thoughts on {topic}.'],
    closings: [
      'Thanks for reading! We would love to hear what you think.',
      'Hope this helps. Questions are always welcome!',
      'Have a story about this? We are all ears.',
    ],
    threadCue: '🧵',
    conclusion: 'All in all,',
  },
  bold: {
    key: 'bold',
    openings: [
      '{Audience}, stop scrolling. This is about {topic}.',
      'Straight talk for {audience} on {topic}.',
      '{Audience}: it is time to get serious about {topic}.',
    ],
    openingsNoAudience: ['Stop scrolling. This is about {topic}.', 'Straight talk on {topic}.', 'It is time to get serious about {topic}.'],
    closings: ['The time to act is now.', 'Don’t wait for the perfect moment. Start today.', 'Make the call. Then make it happen.'],
    threadCue: 'Thread 👇',
    conclusion: 'Bottom line:',
  },
  technical: {
    key: 'technical',
    openings: [
      'For {audience}: a technical rundown of {topic}.',
      '{Audience}, a practical breakdown of {topic}.',
      'Notes for {audience} on {topic}.',
    ],
    openingsNoAudience: ['A technical rundown of {topic}.', 'A practical breakdown of {topic}.', 'Notes on {topic}.'],
    closings: [
      'Questions, edge cases or counterexamples? Reply with details.',
      'Measure before and after, and share what you find.',
      'Corrections and benchmarks welcome in the replies.',
    ],
    threadCue: 'Thread:',
    conclusion: 'To sum up,',
  },
  inspiring: {
    key: 'inspiring',
    openings: [
      '{Audience}, here is some inspiration on {topic}.',
      '{Audience}, this one is for you: a fresh look at {topic}.',
      '{Audience}, big things start with small steps. Today: {topic}.',
    ],
    openingsNoAudience: ['Some inspiration on {topic}.', 'A fresh look at {topic}.', 'Big things start with small steps. Today: {topic}.'],
    closings: ['Small steps add up. Take yours today.', 'The best time to start is now.', 'Keep going. The work matters.'],
    threadCue: '🧵',
    conclusion: 'Remember:',
  },
};

const VOICE_WORDS: [VoiceKey, string[]][] = [
  ['playful', ['playful', 'fun', 'funny', 'humorous', 'humor', 'humour', 'witty', 'cheeky', 'quirky', 'lighthearted', 'silly', 'whimsical', 'sassy', 'irreverent', 'jokey']],
  ['formal', ['formal', 'professional', 'corporate', 'academic', 'authoritative', 'serious', 'business', 'official', 'institutional', 'diplomatic']],
  ['technical', ['technical', 'expert', 'analytical', 'precise', 'engineering', 'nerdy', 'scientific', 'detailed', 'data']],
  ['bold', ['bold', 'confident', 'punchy', 'direct', 'provocative', 'urgent', 'assertive', 'edgy', 'blunt', 'energetic']],
  ['inspiring', ['inspiring', 'inspirational', 'motivational', 'motivating', 'uplifting', 'optimistic', 'visionary', 'hopeful', 'empowering']],
  ['friendly', ['friendly', 'warm', 'casual', 'conversational', 'approachable', 'empathetic', 'kind', 'chatty', 'relaxed', 'informal', 'personal']],
];

function voiceFor(raw: string | undefined): Voice {
  const words = (raw ?? '').toLowerCase().split(/[^a-z]+/).filter(Boolean);
  // The first word of the voice that names a family wins ("friendly but professional" is friendly).
  for (const w of words) {
    for (const [key, list] of VOICE_WORDS) if (list.includes(w)) return VOICES[key];
  }
  return VOICES.neutral;
}

// ---------------------------------------------------------------------------------------------
// Body

interface Ctx {
  topic: string;
  /** The topic as it reads mid-sentence. */
  topicInline: string;
  audience: string;
  voice: Voice;
  seed: number;
  sentences: Sentence[];
}

function composeBody(format: ContentFormat, ctx: Ctx): string {
  if (format === 'thread') return composeThread(ctx);
  if (format === 'article') return composeArticle(ctx);
  return composePost(ctx);
}

function opening(ctx: Ctx): string {
  const list = ctx.audience ? ctx.voice.openings : ctx.voice.openingsNoAudience;
  return fill(pick(list, ctx.seed), ctx);
}

function closing(ctx: Ctx): string {
  return pick(ctx.voice.closings, ctx.seed >>> 3);
}

/** 1-3 short paragraphs: opening, the key point or two, closing. */
function composePost(ctx: Ctx): string {
  const open = opening(ctx);
  const close = closing(ctx);
  const budget = POST_MAX_CHARS - open.length - close.length - 4;
  let middle: string;
  if (ctx.sentences.length) {
    const chosen: Sentence[] = [];
    let used = 0;
    for (const s of byScore(ctx.sentences)) {
      if (chosen.length === 3) break;
      const cost = s.text.length + (chosen.length ? 1 : 0);
      if (used + cost > Math.min(budget, 380)) continue;
      chosen.push(s);
      used += cost;
    }
    middle = chosen.length
      ? inOrder(chosen).map((s) => s.text).join(' ')
      : truncateWords(byScore(ctx.sentences)[0].text, Math.min(budget, 300));
  } else {
    middle = genericSentences(ctx, 2).join(' ');
  }
  return [open, middle, close].join('\n\n');
}

/** Several sentences, one per paragraph, so each can become a numbered post. */
function composeThread(ctx: Ctx): string {
  const open = `${opening(ctx)} ${ctx.voice.threadCue}`;
  let content = ctx.sentences.map((s) => s.text);
  if (ctx.sentences.length > THREAD_MAX_SENTENCES) {
    content = inOrder(byScore(ctx.sentences).slice(0, THREAD_MAX_SENTENCES)).map((s) => s.text);
  }
  const missing = THREAD_MIN_TOTAL - 2 - content.length;
  if (missing > 0) content = [...content, ...genericSentences(ctx, missing, content)];
  return [open, ...content, closing(ctx)].join('\n\n');
}

/** Introduction, the brief in paragraphs, why it matters to the audience, conclusion. */
function composeArticle(ctx: Ctx): string {
  const paragraphs: string[] = [];
  const intro = [opening(ctx), fill(pick(ARTICLE_FRAMES, ctx.seed >>> 5), ctx)];
  paragraphs.push(intro.join(' '));

  let content = ctx.sentences.map((s) => s.text);
  if (ctx.sentences.length > ARTICLE_MAX_SENTENCES) {
    content = inOrder(byScore(ctx.sentences).slice(0, ARTICLE_MAX_SENTENCES)).map((s) => s.text);
  }
  paragraphs.push(...groupIntoParagraphs(content, 3, 420));
  // A thin brief is filled out with general guidance, in paragraphs of its own, so the piece still reads as an article.
  const missing = 6 - content.length;
  if (missing > 0) paragraphs.push(...groupIntoParagraphs(genericSentences(ctx, missing), 3, 420));

  const who = ctx.audience || 'readers';
  paragraphs.push(
    [
      `Why does this matter for ${who}?`,
      fill(pick(WHY_IT_MATTERS, ctx.seed >>> 7), ctx),
      fill(pick(WHY_IT_MATTERS, (ctx.seed >>> 7) + 1), ctx),
    ].join(' '),
  );

  const best = byScore(ctx.sentences)[0];
  const recap = best
    ? `${ctx.voice.conclusion} ${lowerFirst(best.text)}`
    : `${ctx.voice.conclusion} a steady, practical approach beats chasing every headline.`;
  paragraphs.push(`${recap} ${closing(ctx)}`);
  return paragraphs.join('\n\n');
}

const ARTICLE_FRAMES = [
  'In this piece we look at what is involved, why it matters, and what to do next.',
  'Below, we walk through the essentials and the questions worth asking.',
  'Here is an overview: the main points, the context, and the practical takeaways.',
];

const WHY_IT_MATTERS = [
  'The practical question is how all of this fits into existing work and priorities.',
  'Decisions made early shape what is possible later, so it pays to understand the trade-offs now.',
  'Those who engage early are better placed to adapt as things change.',
  'Clear goals and honest measurement make it easier to tell what is working.',
];

// General guidance for a thin brief. It makes no claims about the topic, so it is never wrong about it.
const GENERIC = [
  'Start with the problem you are trying to solve, not the hype around it.',
  'Look at who benefits first, and what changes for them day to day.',
  'The trade-offs matter as much as the benefits, so weigh both.',
  'Small, well-measured experiments beat big, untested bets.',
  'Good results usually come from clear goals and honest measurement.',
  'Share what works and what does not: others are learning too.',
  'The conversation about {topic} is moving fast, so revisit your assumptions regularly.',
  'The basics are worth getting right before chasing the details.',
];

/** n general sentences about the topic, rotated by the seed, none repeating `avoid`. */
function genericSentences(ctx: Ctx, n: number, avoid: readonly string[] = []): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n && i < GENERIC.length; i++) {
    const s = fill(GENERIC[(ctx.seed + i) % GENERIC.length], ctx);
    if (!avoid.includes(s)) out.push(s);
  }
  return out;
}

/** Consecutive sentences in paragraphs of at most maxSentences, sized evenly (3 + 3 + 2, not 3 + 3 + 1 + 1). */
function groupIntoParagraphs(sentences: readonly string[], maxSentences: number, maxChars: number): string[] {
  const groups = Math.ceil(sentences.length / maxSentences);
  const per = Math.ceil(sentences.length / Math.max(groups, 1));
  const out: string[] = [];
  let current: string[] = [];
  let len = 0;
  for (const s of sentences) {
    if (current.length && (current.length >= per || len + s.length > maxChars)) {
      out.push(current.join(' '));
      current = [];
      len = 0;
    }
    current.push(s);
    len += s.length + 1;
  }
  if (current.length) out.push(current.join(' '));
  return out;
}

function fill(template: string, ctx: Ctx): string {
  return template
    .replace(/\{audience\}/g, ctx.audience)
    .replace(/\{Audience\}/g, upperFirst(ctx.audience))
    .replace(/\{topic\}/g, ctx.topicInline)
    .replace(/\{Topic\}/g, upperFirst(ctx.topicInline));
}

// ---------------------------------------------------------------------------------------------
// The brief

interface Sentence {
  text: string;
  index: number;
  score: number;
}

const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });
const ABBREVIATION = /\b(?:mr|mrs|ms|dr|prof|sr|jr|st|vs|etc|inc|ltd|co|corp|approx|no|fig|e\.g|i\.e)\.$/i;

/** The brief's sentences, cleaned, de-duplicated and scored by how much they say. */
function briefSentences(brief: string, topic: string): Sentence[] {
  const raw: string[] = [];
  for (const block of brief.split(/\n+/)) {
    const line = block.replace(/^\s*(?:[-*•‣◦·]|\d+[.)])\s+/, '').replace(/\s+/g, ' ').trim();
    if (!line) continue;
    let pending = '';
    for (const { segment } of segmenter.segment(line)) {
      const piece = segment.trim();
      if (!piece) continue;
      pending = pending ? `${pending} ${piece}` : piece;
      // "Dr." or "e.g." at the end of a segment did not end the sentence.
      if (ABBREVIATION.test(pending)) continue;
      raw.push(pending);
      pending = '';
    }
    if (pending) raw.push(pending);
  }

  const topicWords = new Set(contentWords(topic).map(stem));
  const freq = new Map<string, number>();
  for (const s of raw) for (const w of new Set(contentWords(s).map(stem))) freq.set(w, (freq.get(w) ?? 0) + 1);

  const out: Sentence[] = [];
  const seen: Set<string>[] = [];
  raw.forEach((r, index) => {
    const text = tidySentence(r);
    const words = wordsOf(text);
    if (words.length < 3 && raw.length > 1) return;
    const content = new Set(contentWords(text).map(stem));
    // Skip near-repeats of a sentence already taken.
    if (seen.some((prev) => jaccard(prev, content) > 0.7)) return;
    seen.push(content);
    out.push({ text, index, score: scoreSentence(text, words, content, topicWords, freq) });
  });
  return out;
}

function scoreSentence(
  text: string,
  words: string[],
  content: Set<string>,
  topicWords: Set<string>,
  freq: Map<string, number>,
): number {
  let score = content.size;
  for (const w of content) {
    if (topicWords.has(w)) score += 1.5;
    if ((freq.get(w) ?? 0) > 1) score += 0.5;
  }
  if (/\d/.test(text)) score += 2; // figures, dates, versions
  const properNouns = words.slice(1).filter((w) => /^\p{Lu}/u.test(w)).length;
  score += Math.min(properNouns, 3) * 0.75;
  if (words.length < 6) score *= 0.6;
  if (words.length > 40) score *= 0.75;
  if (/\?$/.test(text)) score *= 0.8;
  return score;
}

function byScore(sentences: readonly Sentence[]): Sentence[] {
  return [...sentences].sort((a, b) => b.score - a.score || a.index - b.index);
}

function inOrder(sentences: readonly Sentence[]): Sentence[] {
  return [...sentences].sort((a, b) => a.index - b.index);
}

function tidySentence(s: string): string {
  let t = s.replace(/\s+/g, ' ').trim();
  t = upperFirst(t);
  if (!/[.!?…]["'”’)\]]*$/u.test(t)) t = `${t.replace(/[,;:\s-]+$/, '')}.`;
  return t;
}

function truncateWords(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:.-]+$/, '')}…`;
}

// ---------------------------------------------------------------------------------------------
// Title

const SMALL_WORDS = new Set([
  'a', 'an', 'the', 'and', 'but', 'or', 'nor', 'for', 'so', 'yet', 'as', 'at', 'by', 'in', 'of', 'off', 'on', 'per', 'to', 'up', 'via', 'vs', 'with', 'from', 'into', 'over',
]);

/** Title case for the topic: small words stay lower case, acronyms and brand casing ("iPhone") are kept. */
export function titleFromTopic(topic: string): string {
  const cleaned = topic
    .replace(/^["'“‘]+|["'”’]+$/g, '')
    .replace(/[.,;:!]+$/, '')
    .trim();
  const words = deShout(cleaned).split(' ');
  const titled = words.map((word, i) => {
    const first = i === 0 || /[:—–-]$/.test(words[i - 1] ?? '');
    const last = i === words.length - 1;
    const w = word;
    if (/\p{Lu}/u.test(w.slice(1)) || /\d/.test(w)) return w; // iPhone, GPT-4, AI
    const bare = w.toLowerCase().replace(/[^\p{L}]/gu, '');
    if (!first && !last && SMALL_WORDS.has(bare)) return w.toLowerCase();
    return w.replace(/\p{L}/u, (c) => c.toUpperCase());
  });
  return clipAtWord(titled.join(' '), 120);
}

/** An all-capitals topic in ordinary case, keeping short acronyms: "AI IN HEALTHCARE" -> "AI in healthcare". */
function deShout(text: string): string {
  if (/\p{Ll}/u.test(text) || !/\p{Lu}{4,}/u.test(text)) return text;
  return text
    .split(' ')
    .map((w) => (/^\p{Lu}{2,3}$/u.test(w) && !STOP_WORDS.has(w.toLowerCase()) && !SMALL_WORDS.has(w.toLowerCase()) ? w : w.toLowerCase()))
    .join(' ');
}

/** The topic mid-sentence: a leading ordinary word ("The", "How") goes lower case. */
function inlineTopic(topic: string): string {
  const cleaned = topic.replace(/[.!;:,]+$/, '');
  const first = cleaned.split(' ')[0] ?? '';
  if (/^\p{Lu}\p{Ll}+$/u.test(first) && STOP_WORDS.has(first.toLowerCase())) return lowerFirst(cleaned);
  return cleaned;
}

// ---------------------------------------------------------------------------------------------
// Hashtags

const FALLBACK_TAGS = ['insights', 'ideas', 'community', 'learning'];

/**
 * 3-5 tags, alphanumeric only, without '#': the topic's leading keywords as one CamelCase tag, then single
 * keywords (lower case, acronyms kept) from the topic, the brief by frequency, and the audience.
 */
export function hashtagsFor(topic: string, brief: string, audience: string): string[] {
  const tags: string[] = [];
  const keys = new Set<string>();
  const add = (tag: string): void => {
    if (tags.length >= 5 || /^\d+$/.test(tag)) return;
    if (!/^[A-Za-z0-9]{3,30}$/.test(tag) && !/^[A-Z]{2}$/.test(tag)) return;
    const key = stem(tag.toLowerCase());
    if (keys.has(key)) return;
    keys.add(key);
    tags.push(tag);
  };

  const topicWords = contentWords(deShout(topic)).map(asciiFold).filter(Boolean);
  const isAcronym = (w: string): boolean => /^[A-Z]{2,5}$/.test(w);
  const single = (w: string): string => (isAcronym(w) ? w : w.toLowerCase());
  if (topicWords.length >= 2) {
    // The topic's first two or three keywords as one tag: "FutureRemoteWork".
    const words = topicWords.slice(0, topicWords.length === 3 ? 3 : 2);
    add(words.map((w) => (isAcronym(w) ? w : upperFirst(w.toLowerCase()))).join(''));
  }
  for (const w of topicWords) add(single(w));

  // Brief keywords by how often they occur, earlier first on ties.
  const counts = new Map<string, { n: number; first: number }>();
  contentWords(brief).forEach((w, i) => {
    const key = single(asciiFold(w));
    if (key.length < 4 && !isAcronym(key)) return;
    const c = counts.get(key);
    if (c) c.n++;
    else counts.set(key, { n: 1, first: i });
  });
  [...counts.entries()].sort((a, b) => b[1].n - a[1].n || a[1].first - b[1].first).forEach(([w]) => add(w));

  for (const w of contentWords(audience)) add(single(asciiFold(w)));
  for (const w of FALLBACK_TAGS) if (tags.length < 3) add(w);
  return tags;
}

// ---------------------------------------------------------------------------------------------
// Words

const STOP_WORDS = new Set(
  (
    'a about above after again against all almost also although always am among an and another any anyone anything are ' +
    'around as at away back be because been before being below best better between both but by can cannot could did do ' +
    'does doing done down during each either else enough even ever every few for from further get gets getting give go ' +
    'goes going good got great had has have having he her here hers him his how however i if in including into is it its ' +
    'itself just keep know last least less let like likely made make makes making many may maybe me might more most much ' +
    'must my need needs never new next no nor not now of off often on once one only or other others our ours out over own ' +
    'per perhaps put quite rather really same see seem seems she should show since so some something still such take than ' +
    'that the their theirs them then there these they thing things this those though through thus to today too toward ' +
    'towards under until up upon us use used uses using very via vs want was way ways we well were what whatever when ' +
    'where whether which while who whom whose why will with within without would yet you your yours yourself ' +
    'here’s it’s let’s don’t can’t won’t isn’t aren’t doesn’t didn’t we’re you’re they’re that’s what’s there’s ' +
    "here's it's let's don't can't won't isn't aren't doesn't didn't we're you're they're that's what's there's " +
    'year years time times day days week weeks month months lot lots kind sort part really actually simply'
  ).split(' '),
);

function wordsOf(text: string): string[] {
  return text.match(/[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu) ?? [];
}

function contentWords(text: string): string[] {
  return wordsOf(text)
    .map((w) => w.replace(/['’]s$/u, '').replace(/[-'’]+$/u, ''))
    .filter((w) => !STOP_WORDS.has(w.toLowerCase()) && (w.length >= 3 || /^\p{Lu}{2}$/u.test(w)) && !/^\d+$/.test(w));
}

/** Accents stripped and anything not a letter or digit removed: "Café-Bar" -> "CafeBar". */
function asciiFold(word: string): string {
  return word.normalize('NFD').replace(/\p{M}/gu, '').replace(/[^A-Za-z0-9]/g, '');
}

/** A crude plural fold, enough to treat "workflow" and "workflows" as one keyword. */
function stem(word: string): string {
  const w = word.toLowerCase();
  if (w.length > 4 && w.endsWith('ies')) return `${w.slice(0, -3)}y`;
  if (w.length > 4 && w.endsWith('s') && !w.endsWith('ss')) return w.slice(0, -1);
  return w;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  if (!a.size && !b.size) return 1;
  let inter = 0;
  for (const x of a) if (b.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** Text on one line, runs of whitespace as one space. */
export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** At most `max` characters, cut at a word when one ends in the second half. */
export function clipAtWord(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return (space > max / 2 ? cut.slice(0, space) : cut).trim();
}

function upperFirst(s: string): string {
  return s.replace(/^\p{Ll}/u, (c) => c.toUpperCase());
}

/** Lower-cases the first letter when the first word is an ordinary word ("The", "This"), not a name ("Rust"). */
function lowerFirst(s: string): string {
  const first = (s.split(' ')[0] ?? '').replace(/[.,:;!?]+$/, '');
  if (first === 'I' || !/^\p{Lu}\p{Ll}*$/u.test(first) || !STOP_WORDS.has(first.toLowerCase())) return s;
  return s.replace(/^\p{Lu}/u, (c) => c.toLowerCase());
}

function pick<T>(list: readonly T[], n: number): T {
  return list[n % list.length];
}

/** FNV-1a, 32 bits: stable across runs and machines. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
