// Title cards: a PNG with the title set in large type over a gradient, made entirely in process.
// Used when no stock image fits (or none is configured); needs no network, no native code and no system fonts.

import { PNG } from 'pngjs';
import { CARD_FONT_BOLD, CARD_FONT_REGULAR } from './card-font-data';
import { CoverageMask, OutlineFont } from './card-raster';
import type { FoundImage, ImageRequest, ImageSource } from './types';

// Local aliases: a global lookup per pixel is costly where globals are proxied (Jest's VM context made
// rendering 20x slower with `Math.round` in the inner loops).
const { ceil, floor, max, min, round, sqrt } = Math;

export type Rgb = [number, number, number];

export interface CardInput {
  title: string;
  subtitle?: string;
  width: number;
  height: number;
  style?: string;
}

export interface CardPalette {
  /** Gradient from the top-left corner... */
  start: Rgb;
  /** ...to the bottom-right corner. */
  end: Rgb;
  accent: Rgb;
  /** Title colour: whichever of near-white and near-black contrasts more with both gradient ends. */
  text: Rgb;
  /** Which named palette was chosen. */
  name: string;
}

interface PaletteDef {
  name: string;
  start: string;
  end: string;
  accent: string;
  tone: 'dark' | 'light';
  hues: string[];
}

// Curated so that every pairing reads well; the title colour is still chosen by measured contrast.
const PALETTES: PaletteDef[] = [
  { name: 'midnight', start: '#0f172a', end: '#1e3a8a', accent: '#38bdf8', tone: 'dark', hues: ['blue', 'navy'] },
  { name: 'ocean', start: '#0c4a6e', end: '#0e7490', accent: '#fbbf24', tone: 'dark', hues: ['blue', 'teal', 'cyan'] },
  { name: 'forest', start: '#052e16', end: '#166534', accent: '#a3e635', tone: 'dark', hues: ['green'] },
  { name: 'plum', start: '#2e1065', end: '#6d28d9', accent: '#f472b6', tone: 'dark', hues: ['purple', 'violet'] },
  { name: 'ember', start: '#450a0a', end: '#b91c1c', accent: '#fcd34d', tone: 'dark', hues: ['red'] },
  { name: 'sunset', start: '#7c2d12', end: '#db2777', accent: '#fde68a', tone: 'dark', hues: ['orange', 'pink', 'warm'] },
  { name: 'graphite', start: '#111827', end: '#374151', accent: '#f59e0b', tone: 'dark', hues: ['grey', 'gray', 'black', 'mono'] },
  { name: 'teal', start: '#042f2e', end: '#0f766e', accent: '#5eead4', tone: 'dark', hues: ['teal', 'green', 'cyan'] },
  { name: 'paper', start: '#f8fafc', end: '#e2e8f0', accent: '#2563eb', tone: 'light', hues: ['white', 'grey', 'gray', 'blue', 'mono'] },
  { name: 'cream', start: '#fffbeb', end: '#fde68a', accent: '#c2410c', tone: 'light', hues: ['yellow', 'orange', 'warm'] },
  { name: 'mint', start: '#f0fdf4', end: '#bbf7d0', accent: '#15803d', tone: 'light', hues: ['green'] },
  { name: 'blush', start: '#fdf2f8', end: '#fbcfe8', accent: '#be185d', tone: 'light', hues: ['pink'] },
];

const LIGHT_WORDS = ['light', 'minimal', 'clean', 'bright', 'pastel', 'white', 'airy', 'soft'];
const DARK_WORDS = ['dark', 'night', 'bold', 'moody', 'dramatic', 'noir'];

const WHITE: Rgb = [255, 255, 255];
const INK: Rgb = [15, 23, 42];

const bold = new OutlineFont(CARD_FONT_BOLD);
const regular = new OutlineFont(CARD_FONT_REGULAR);

/** Picks the card colours deterministically from the title and style. */
export function cardPalette(title: string, style?: string): CardPalette {
  const s = (style ?? '').toLowerCase();
  const words = new Set(s.split(/[^a-z]+/).filter(Boolean));
  let pool = PALETTES;
  const byHue = pool.filter((p) => p.hues.some((h) => words.has(h)));
  if (byHue.length) pool = byHue;
  const wantLight = LIGHT_WORDS.some((w) => words.has(w));
  const wantDark = DARK_WORDS.some((w) => words.has(w));
  if (wantLight !== wantDark) {
    const tone = wantLight ? 'light' : 'dark';
    const toned = pool.filter((p) => p.tone === tone);
    pool = toned.length ? toned : PALETTES.filter((p) => p.tone === tone);
  } else if (!byHue.length) {
    // Without any hint, prefer the dark palettes: light type on a deep colour reads best in a feed.
    pool = PALETTES.filter((p) => p.tone === 'dark');
  }
  const def = pool[fnv1a(`${s}\u0000${title.trim().toLowerCase()}`) % pool.length];
  const start = hex(def.start);
  const end = hex(def.end);
  const minContrast = (c: Rgb): number => min(contrast(c, start), contrast(c, end));
  const text = minContrast(WHITE) >= minContrast(INK) ? WHITE : INK;
  return { start, end, accent: hex(def.accent), text, name: def.name };
}

/** Renders a title card as a PNG. Same input, same bytes. */
export function renderCard(input: CardInput): Buffer {
  const width = clampInt(input.width, 16, 4096);
  const height = clampInt(input.height, 16, 4096);
  // Far more text than a card can show is cut early, so layout stays cheap.
  const title = toRenderable(input.title.slice(0, MAX_TEXT), bold) || 'Untitled';
  const subtitle = input.subtitle ? toRenderable(input.subtitle.slice(0, MAX_TEXT), regular) : '';
  const palette = cardPalette(input.title, input.style);
  const img = Buffer.alloc(width * height * 4);

  paintBackground(img, width, height, palette);

  const unit = min(width, height);
  const padX = round(width * 0.085);
  const padTop = round(height * 0.1);
  const padBottom = round(height * 0.12);
  const boxW = width - 2 * padX;

  // Accent bar above the title and a thin band along the bottom edge.
  const barH = max(3, round(unit * 0.011));
  const barW = max(24, round(unit * 0.11));
  const bandH = max(2, round(unit * 0.012));
  fillRect(img, width, height, 0, height - bandH, width, bandH, palette.accent, 1);

  // Space for the title once the bar and the subtitle are taken out.
  const subSizeGuess = subtitle ? max(12, round(unit * 0.042)) : 0;
  const barBlock = barH + round(unit * 0.045);
  const subBlock = subtitle ? round(subSizeGuess * 1.3 * 2 + unit * 0.04) : 0;
  const boxH = height - padTop - padBottom - barBlock - subBlock;

  const layout = fitTitle(title, boxW, max(boxH, unit * 0.2), unit);
  const lineH = layout.size * LINE_HEIGHT;
  const titleH = titleHeight(layout.size, layout.lines.length);

  let subLines: string[] = [];
  let subSize = 0;
  if (subtitle) {
    subSize = max(12, min(subSizeGuess, round(layout.size * 0.5)));
    subLines = wrap(regular, subtitle, (boxW * 1000) / subSize, 2);
  }
  const subGap = round(unit * 0.04);
  const subH = subLines.length ? subGap + subSize * 1.3 * subLines.length : 0;

  // Centre the whole group vertically (nudged slightly above centre, which reads as centred).
  const groupH = barBlock + titleH + subH;
  const avail = height - padTop - padBottom;
  const top = round(padTop + max(0, (avail - groupH) * 0.45));

  fillRect(img, width, height, padX, top, barW, barH, palette.accent, 1);

  const firstBaseline = top + barBlock + (bold.capHeight * layout.size) / 1000;
  const titleMask = new CoverageMask(padX - 2, top + barBlock - ceil(layout.size * 0.35), boxW + 4, ceil(titleH + layout.size * 0.8));
  layout.lines.forEach((line, i) => titleMask.drawText(bold, line, padX, firstBaseline + i * lineH, layout.size));
  titleMask.composite(img, width, height, palette.text, 1);

  if (subLines.length) {
    const subTop = top + barBlock + titleH + subGap;
    const subMask = new CoverageMask(padX - 2, floor(subTop), boxW + 4, ceil(subSize * 1.3 * subLines.length + subSize * 0.5));
    subLines.forEach((line, i) =>
      subMask.drawText(regular, line, padX, subTop + subSize * 1.3 * i + subSize * 0.95, subSize),
    );
    subMask.composite(img, width, height, palette.text, 0.78);
  }

  const png = new PNG({ width, height });
  png.data = img;
  // RGBA with the "Up" filter: pngjs's adaptive filtering and its RGB repacking cost 5-8x the time
  // for a few kilobytes on a smooth gradient.
  return PNG.sync.write(png, { colorType: 6, filterType: 2 });
}

/** An image source that always succeeds: two rendered title cards (landscape and square). */
export function createCardImageSource(): ImageSource {
  const sizes = [
    { width: 1200, height: 675 },
    { width: 1080, height: 1080 },
  ];
  return {
    name: 'card',
    async find(request: ImageRequest): Promise<FoundImage[]> {
      const title = request.title.trim() || request.topic.trim() || 'Untitled';
      const topic = request.topic.trim();
      const subtitle = topic && normalizeKey(topic) !== normalizeKey(title) ? topic : undefined;
      return sizes.map(({ width, height }) => ({
        bytes: renderCard({ title, subtitle, width, height, style: request.style }),
        contentType: 'image/png',
        width,
        height,
        source: 'card',
        alt: `Title card: ${title}`,
        attribution: null,
      }));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Layout

const LINE_HEIGHT = 1.14;
const MAX_TEXT = 600;
const MAX_TITLE_LINES = 7;

/** Height of n title lines: cap height of the first, line pitch for the rest, a little room for descenders. */
function titleHeight(size: number, n: number): number {
  return size * LINE_HEIGHT * (n - 1) + (bold.capHeight * size) / 1000 + ((-bold.descent * size) / 1000) * 0.6;
}

interface TitleLayout {
  size: number;
  lines: string[];
}

/** Largest type size at which the title wraps into the box; ellipsis at the smallest size if it never does. */
function fitTitle(text: string, boxW: number, boxH: number, unit: number): TitleLayout {
  const maxSize = max(14, round(unit * 0.15));
  const minSize = max(12, round(unit * 0.05));
  const heightFor = titleHeight;
  // More than a handful of lines stops reading as a title; past that the text is cut with an ellipsis.
  const linesFor = (size: number): number =>
    min(MAX_TITLE_LINES, max(1, floor((boxH - heightFor(size, 1)) / (size * LINE_HEIGHT)) + 1));
  const sizes: number[] = [];
  for (let size = maxSize; size > minSize; size = floor(size * 0.95)) sizes.push(size);
  sizes.push(minSize);
  for (const size of sizes) {
    const maxLines = linesFor(size);
    // Above the smallest size, a word too wide for the line means "try smaller" rather than a hyphen.
    const breakWords = size === minSize;
    const lines = wrap(bold, text, (boxW * 1000) / size, maxLines, false, breakWords);
    if (lines.length) return { size, lines: balance(text, lines.length, (boxW * 1000) / size, breakWords) };
  }
  return { size: minSize, lines: wrap(bold, text, (boxW * 1000) / minSize, linesFor(minSize), true) };
}

/** Evens out line lengths: the narrowest width that still needs no more lines. */
function balance(text: string, lineCount: number, maxW: number, breakWords: boolean): string[] {
  const best = wrap(bold, text, maxW, lineCount, false, breakWords);
  if (lineCount < 2) return best;
  let lo = maxW * 0.5;
  let hi = maxW;
  for (let i = 0; i < 12; i++) {
    const mid = (lo + hi) / 2;
    const attempt = wrap(bold, text, mid, lineCount, false, false);
    if (attempt.length && attempt.length <= lineCount) hi = mid;
    else lo = mid;
  }
  const balanced = wrap(bold, text, hi, lineCount, false, false);
  return balanced.length ? balanced : best;
}

/**
 * Greedy word wrap within maxW (1/1000 em units). Words wider than a line are broken with a hyphen
 * (or, when breakWords is false, the wrap fails and returns []).
 * If the text needs more than maxLines: returns [] when ellipsize is false, else the first maxLines
 * with the last one cut and ended with an ellipsis.
 */
function wrap(font: OutlineFont, text: string, maxW: number, maxLines: number, ellipsize = true, breakWords = true): string[] {
  const words = text.split(' ').filter(Boolean);
  const lines: string[] = [];
  let line = '';
  const push = (): void => {
    if (line) lines.push(line);
    line = '';
  };
  for (let word of words) {
    const candidate = line ? `${line} ${word}` : word;
    if (font.measure(candidate) <= maxW) {
      line = candidate;
      continue;
    }
    push();
    if (!breakWords && font.measure(word) > maxW) return [];
    while (font.measure(word) > maxW) {
      const cut = fittingPrefix(font, word, maxW - font.advance(0x2d));
      lines.push(`${word.slice(0, cut)}-`);
      word = word.slice(cut);
    }
    line = word;
  }
  push();
  if (lines.length <= maxLines) return lines;
  if (!ellipsize) return [];
  const kept = lines.slice(0, maxLines);
  // The ellipsis goes after the last whole word that leaves room for it.
  let last = kept[maxLines - 1];
  while (last.length > 1 && font.measure(`${last}…`) > maxW) {
    const space = last.lastIndexOf(' ');
    last = space > 0 ? last.slice(0, space) : last.slice(0, -1);
  }
  kept[maxLines - 1] = `${last.replace(/[\s\-–—,.;:]+$/, '')}…`;
  return kept;
}

/** How many leading UTF-16 units of `word` fit in maxW (at least one character). */
function fittingPrefix(font: OutlineFont, word: string, maxW: number): number {
  let w = 0;
  let prev = '';
  let end = 0;
  for (const ch of word) {
    w += (prev ? font.kern(prev, ch) : 0) + font.advance(ch.codePointAt(0)!);
    if (w > maxW && end > 0) break;
    end += ch.length;
    prev = ch;
  }
  return end;
}

// Characters that have no decomposition but an obvious spelling in ASCII.
const FALLBACKS: Record<string, string> = {
  ß: 'ss', ẞ: 'SS', æ: 'ae', Æ: 'AE', œ: 'oe', Œ: 'OE', ø: 'o', Ø: 'O', đ: 'd', Đ: 'D', ł: 'l', Ł: 'L',
  þ: 'th', Þ: 'Th', ð: 'd', Ð: 'D', ı: 'i', '‚': ',', '„': '"', '‹': '<', '›': '>', '«': '"', '»': '"',
  '′': "'", '″': '"', '‐': '-', '‑': '-', '‒': '-', '−': '-', '¡': '!', '¿': '?', '™': 'TM', '¦': '|',
};

// Emoji (with skin tones, flags, joiners and variation selectors) and zero-width characters.
const EMOJI_AND_JOINERS = /\p{Extended_Pictographic}|\p{Emoji_Modifier}|\p{Regional_Indicator}|[\u200b-\u200d\u2060]|\ufe0e|\ufe0f/gu;

/** Maps text onto the glyphs the font has: accents stripped, emoji dropped, anything else becomes '?'. */
export function toRenderable(text: string, font: OutlineFont = bold): string {
  let out = '';
  for (const ch of text.replace(EMOJI_AND_JOINERS, '')) {
    const cp = ch.codePointAt(0)!;
    if (/\s/.test(ch)) {
      out += ' ';
    } else if (font.has(cp)) {
      out += ch;
    } else if (FALLBACKS[ch] !== undefined) {
      out += FALLBACKS[ch];
    } else if (/\p{M}/u.test(ch) || /\p{Cc}|\p{Cf}/u.test(ch)) {
      // combining marks and control/format characters: drop
    } else {
      const base = ch.normalize('NFKD').replace(/\p{M}/gu, '');
      out += base && [...base].every((c) => font.has(c.codePointAt(0)!)) ? base : '?';
    }
  }
  return out.replace(/ +/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// Painting

function paintBackground(img: Buffer, width: number, height: number, p: CardPalette): void {
  // Diagonal gradient: t runs 0 at the top-left to 1 at the bottom-right.
  const [r0, g0, b0] = p.start;
  const dr = p.end[0] - r0;
  const dg = p.end[1] - g0;
  const db = p.end[2] - b0;
  const kx = width / (width * width + height * height);
  const ky = height / (width * width + height * height);
  for (let y = 0; y < height; y++) {
    let o = y * width * 4;
    for (let x = 0; x < width; x++, o += 4) {
      const t = x * kx + y * ky;
      img[o] = clamp255(r0 + dr * t);
      img[o + 1] = clamp255(g0 + dg * t);
      img[o + 2] = clamp255(b0 + db * t);
      img[o + 3] = 255;
    }
  }
  // Two soft rings in the top-right corner, in the accent colour.
  const unit = min(width, height);
  const cx = width - unit * 0.08;
  const cy = unit * 0.06;
  ring(img, width, height, cx, cy, unit * 0.42, unit * 0.06, p.accent, 0.08);
  ring(img, width, height, cx, cy, unit * 0.27, unit * 0.025, p.accent, 0.1);
}

function ring(img: Buffer, w: number, h: number, cx: number, cy: number, radius: number, thickness: number, rgb: Rgb, alpha: number): void {
  const outer = radius + thickness / 2;
  const inner = radius - thickness / 2;
  const x0 = max(0, floor(cx - outer - 1));
  const x1 = min(w, ceil(cx + outer + 1));
  const y0 = max(0, floor(cy - outer - 1));
  const y1 = min(h, ceil(cy + outer + 1));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const dist = sqrt(dx * dx + dy * dy);
      const cover = min(1, max(0, outer - dist + 0.5)) * min(1, max(0, dist - inner + 0.5));
      if (cover <= 0) continue;
      blend(img, (y * w + x) * 4, rgb, cover * alpha);
    }
  }
}

function fillRect(img: Buffer, w: number, h: number, x: number, y: number, rw: number, rh: number, rgb: Rgb, alpha: number): void {
  for (let yy = max(0, y); yy < min(h, y + rh); yy++) {
    for (let xx = max(0, x); xx < min(w, x + rw); xx++) blend(img, (yy * w + xx) * 4, rgb, alpha);
  }
}

function blend(img: Buffer, o: number, [r, g, b]: Rgb, k: number): void {
  img[o] = round(img[o] + (r - img[o]) * k);
  img[o + 1] = round(img[o + 1] + (g - img[o + 1]) * k);
  img[o + 2] = round(img[o + 2] + (b - img[o + 2]) * k);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function hex(s: string): Rgb {
  const n = parseInt(s.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function luminance([r, g, b]: Rgb): number {
  const lin = (c: number): number => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio, 1..21. */
export function contrast(a: Rgb, b: Rgb): number {
  const la = luminance(a);
  const lb = luminance(b);
  return (max(la, lb) + 0.05) / (min(la, lb) + 0.05);
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : round(v);
}

function clampInt(v: number, lo: number, hi: number): number {
  return min(hi, max(lo, round(Number.isFinite(v) ? v : lo)));
}

function normalizeKey(s: string): string {
  return s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}
