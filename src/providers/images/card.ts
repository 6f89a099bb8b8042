// Title cards: a PNG with the title set in large type over a gradient, made in process without network or
// system fonts. Used when no stock image fits (or none is configured). satori lays the card out (flexbox, line
// breaking for every script, balanced lines) into an SVG with the glyphs as paths; Skia (@napi-rs/canvas) draws it
// and encodes the PNG. The background (gradient, rings, band) is painted for each card (paintBackground): nothing
// drawn is kept between cards but the canvases. Fonts and what they cover: ./card-fonts.ts; drawing satori's layer:
// ./card-paint.ts.
//
// satori (with opentype, yoga and its WebAssembly) and Skia are loaded on the first card, not with this module: a
// worker that never draws a card (stock images, or `image.mode: none`) never holds them (BENCHMARKS.md "Operations at
// scale"). The fonts load on the first card too (./card-fonts.ts).

import { availableParallelism } from 'node:os';
import { bulkLaneTurn, inBulkLane } from '../../worker/lane-context';
import { cardFonts } from './card-fonts';
import { paintSvgLayer } from './card-paint';
import type { FoundImage, ImageRequest, ImageSource } from './types';

const { ceil, floor, max, min, round } = Math;

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

interface Renderer {
  satori: typeof import('satori').default;
  skia: typeof import('@napi-rs/canvas');
}

let renderer: Promise<Renderer> | undefined;

/** satori and Skia, imported once, on the first card. A failed import is tried again on the next card. */
function loadRenderer(): Promise<Renderer> {
  renderer ??= Promise.all([import('satori'), import('@napi-rs/canvas')]).then(
    ([s, skia]) => ({ satori: s.default, skia }),
    (err: unknown) => {
      renderer = undefined;
      throw err;
    },
  );
  return renderer;
}

/** Whether satori and Skia have been loaded in this process (by a first card). */
export function cardRendererLoaded(): boolean {
  return renderer !== undefined;
}

/**
 * Cards drawn at once in this process; the others wait their turn. Drawing is CPU (satori and Skia's drawing on the
 * event loop, the PNG encoding on libuv's pool), so more at once than cores buys no speed, and every card in flight
 * holds its pixels in native memory, which V8 does not see and frees only once it collects the canvas (with the
 * renderer before Skia, 8 at once kept about 500 MB resident in a process that drew nothing else, 2 at once about 260).
 */
export const CARDS_AT_ONCE = Math.max(1, Math.min(2, availableParallelism()));

let drawing = 0;
const queued: { resolve: () => void; bulk: boolean }[] = [];

async function inTurn<T>(draw: () => Promise<T>): Promise<T> {
  // A card of the bulk lane waits first while the main lane is busy: drawing takes the event loop for tens of ms.
  const turn = bulkLaneTurn();
  if (turn) await turn;
  if (drawing < CARDS_AT_ONCE) drawing++;
  else {
    // Handed the finishing card's turn. A card of the main lane waits ahead of the bulk lane's (a tenant's burst past
    // its share, src/worker/lanes.ts), so another tenant's pipeline does not wait for the burst's cards.
    await new Promise<void>((resolve) => {
      const bulk = inBulkLane();
      const at = bulk ? -1 : queued.findIndex((q) => q.bulk);
      queued.splice(at < 0 ? queued.length : at, 0, { resolve, bulk });
    });
  }
  try {
    return await draw();
  } finally {
    const next = queued.shift();
    if (next) next.resolve();
    else drawing--;
  }
}

/** Renders a title card as a PNG. Same input, same bytes. At most CARDS_AT_ONCE are drawn at a time. */
export function renderCard(input: CardInput): Promise<Buffer> {
  return inTurn(() => drawCard(input));
}

interface LaidOut {
  width: number;
  height: number;
  geo: Geometry;
  palette: CardPalette;
  /** satori's text layer: transparent, glyphs as paths. */
  text: string;
}

async function layOut(input: CardInput, satori: Renderer['satori']): Promise<LaidOut> {
  const width = clampInt(input.width, 16, 4096);
  const height = clampInt(input.height, 16, 4096);
  // Far more text than a card can show is cut early, so layout stays cheap.
  const title = toRenderable(input.title.slice(0, MAX_TEXT)) || 'Untitled';
  const subtitle = input.subtitle ? toRenderable(input.subtitle.slice(0, MAX_TEXT)) : '';
  const palette = cardPalette(input.title, input.style);
  const geo = geometry(width, height, subtitle !== '');
  const { fonts, family } = cardFonts();

  // The largest size at which the title fits its lines: a first guess from the text's estimated width, then
  // smaller while satori's layout says it takes more lines than fit. At the smallest size the last line ends
  // in an ellipsis instead.
  let size = firstSize(title, geo);
  for (;;) {
    const last = size <= geo.minSize;
    let titleHeight = 0;
    // The text layer: transparent, glyphs as paths.
    const text = await satori(cardTree({ title, subtitle, family, palette, geo, size, clamp: last }), {
      width,
      height,
      fonts,
      onNodeDetected: (node) => {
        if (node.key === TITLE_KEY) titleHeight = node.height;
      },
    });
    if (last || titleHeight <= linesFor(size, geo) * lineHeightPx(size) + 1) {
      return { width, height, geo, palette, text };
    }
    size = max(geo.minSize, floor(size * 0.92));
  }
}

async function drawCard(input: CardInput): Promise<Buffer> {
  const { satori, skia } = await loadRenderer();
  const { width, height, geo, palette, text } = await layOut(input, satori);
  const canvas = takeCanvas(width, height, skia);
  try {
    const ctx = canvas.getContext('2d');
    // The background is opaque and covers the canvas: nothing of the canvas's last card shows through.
    paintBackground(ctx, geo, palette, skia);
    paintSvgLayer(ctx, text, width, height, skia);
    // Encoded on libuv's pool. The Up filter and zlib level 3: 7-10 ms a card for files about the size resvg wrote
    // (180-240 KiB); Skia's defaults (every filter, level 6) take 20-30 times longer (bench/adapt).
    return await canvas.encode('png', { compressionLevel: 3, filters: skia.PngFilter.Up });
  } finally {
    giveBack(canvas);
  }
}

/**
 * Canvases between cards, kept for the next card of the same size. A canvas's pixels live in native memory that V8
 * does not count, so a new canvas a card left the old ones to a collection that came late: resident memory grew by
 * hundreds of megabytes in a burst of cards. At most CARDS_AT_ONCE are in use at a time; a few idle ones are kept.
 */
const idleCanvases: import('@napi-rs/canvas').Canvas[] = [];
const IDLE_CANVASES_KEPT = 4;

function takeCanvas(width: number, height: number, skia: typeof import('@napi-rs/canvas')): import('@napi-rs/canvas').Canvas {
  const at = idleCanvases.findIndex((c) => c.width === width && c.height === height);
  if (at >= 0) return idleCanvases.splice(at, 1)[0];
  return skia.createCanvas(width, height);
}

function giveBack(canvas: import('@napi-rs/canvas').Canvas): void {
  idleCanvases.push(canvas);
  if (idleCanvases.length > IDLE_CANVASES_KEPT) idleCanvases.shift();
}

/**
 * The card renderCard draws, as one SVG document (background and text layer): for previews, and for checking the
 * drawn PNG against another SVG renderer.
 */
export async function cardSvg(input: CardInput): Promise<string> {
  const { satori } = await loadRenderer();
  const { geo, palette, text } = await layOut(input, satori);
  return backgroundSvg(geo, palette, text);
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
      const images: FoundImage[] = [];
      for (const { width, height } of sizes) {
        images.push({
          bytes: await renderCard({ title, subtitle, width, height, style: request.style }),
          contentType: 'image/png',
          width,
          height,
          source: 'card',
          alt: `Title card: ${title}`,
          attribution: null,
        });
      }
      return images;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Text

const MAX_TEXT = 600;

/**
 * The text as the card can draw it: composed (NFC), control and format characters dropped, compatibility forms
 * (ligatures, full-width Latin) spelled out, and any character that no card font has left out rather than drawn
 * as an empty box. That drops emoji, whole (with their skin tones, joiners, flags and variation selectors):
 * the fonts have none. Symbols they do have, like © and ™, stay.
 */
export function toRenderable(text: string): string {
  const { covers } = cardFonts();
  let out = '';
  for (const ch of text.normalize('NFC')) {
    if (/\s/.test(ch)) out += ' ';
    else if (/\p{Cc}|\p{Cf}/u.test(ch)) continue;
    else if (covers(ch.codePointAt(0)!)) out += ch;
    else {
      const spelled = ch.normalize('NFKC');
      if (spelled !== ch && [...spelled].every((c) => covers(c.codePointAt(0)!))) out += spelled;
    }
  }
  return out.replace(/ +/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// Layout

const LINE_HEIGHT = 1.14;
const MAX_TITLE_LINES = 7;
const TITLE_KEY = 'title';

interface Geometry {
  width: number;
  height: number;
  unit: number;
  padX: number;
  padTop: number;
  padBottom: number;
  boxW: number;
  /** Height left for the title once the accent bar and the subtitle are taken out. */
  boxH: number;
  barW: number;
  barH: number;
  barGap: number;
  bandH: number;
  subSize: number;
  subGap: number;
  maxSize: number;
  minSize: number;
}

function geometry(width: number, height: number, hasSubtitle: boolean): Geometry {
  const unit = min(width, height);
  const padX = round(width * 0.085);
  const padTop = round(height * 0.1);
  const padBottom = round(height * 0.12);
  const barH = max(3, round(unit * 0.011));
  const barGap = round(unit * 0.045);
  const subSize = max(12, round(unit * 0.042));
  const subGap = round(unit * 0.04);
  const subBlock = hasSubtitle ? round(subSize * 1.3 * 2 + subGap) : 0;
  return {
    width,
    height,
    unit,
    padX,
    padTop,
    padBottom,
    boxW: width - 2 * padX,
    boxH: max(unit * 0.2, height - padTop - padBottom - barH - barGap - subBlock),
    barW: max(24, round(unit * 0.11)),
    barH,
    barGap,
    bandH: max(2, round(unit * 0.012)),
    subSize,
    subGap,
    maxSize: max(14, round(unit * 0.15)),
    minSize: max(12, round(unit * 0.05)),
  };
}

function lineHeightPx(size: number): number {
  return round(size * LINE_HEIGHT);
}

/** How many title lines fit the box at this size; more than a handful stops reading as a title. */
function linesFor(size: number, geo: Geometry): number {
  return min(MAX_TITLE_LINES, max(1, floor((geo.boxH - size) / lineHeightPx(size)) + 1));
}

/**
 * The largest size whose estimated line count fits, and at which the longest word fits a line (a smaller size
 * reads better than a word broken in two). Slightly optimistic: layout corrects downwards.
 */
function firstSize(title: string, geo: Geometry): number {
  const words = title.split(' ');
  const total = words.map(emWidth).reduce((a, b) => a + b, 0) + SPACE_EM * (words.length - 1);
  // Where kanji and kana may break anywhere, each of them is a "word" of its own.
  const unbreakable = keepsCjkRuns(title) ? words : words.flatMap((w) => w.split(CJK_BOUNDARY));
  const longest = max(...unbreakable.map(emWidth));
  for (let size = geo.maxSize; size > geo.minSize; size = floor(size * 0.95)) {
    const fitsWord = longest * size <= geo.boxW;
    const lines = ceil((total * size) / geo.boxW);
    if (fitsWord && lines <= linesFor(size, geo)) return size;
  }
  return geo.minSize;
}

const SPACE_EM = 0.26;
const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\u30fc';
const CJK_BOUNDARY = new RegExp(`(?<=[${CJK}])|(?=[${CJK}])`, 'u');
const LONG_CJK_RUN = new RegExp(`[${CJK}]{9,}`, 'u');
const FULL_WIDTH = new RegExp(`[${CJK}\\u3000-\\u303f\\uff00-\\uffef]`, 'u');

/**
 * Japanese lines may break between any two characters. In a title that also has spaces, short runs of kanji and
 * kana are kept whole instead (日本語 rather than 日 | 本語), as words are; a run too long for a line still breaks.
 */
function keepsCjkRuns(title: string): boolean {
  return title.includes(' ') && !LONG_CJK_RUN.test(title);
}

/** Estimated width in em of a word in the bold face. */
function emWidth(word: string): number {
  let w = 0;
  for (const ch of word) {
    if (FULL_WIDTH.test(ch)) w += 1;
    else if (/[ijlI.,:;!'|ı()[\]·]/.test(ch)) w += 0.3;
    else if (/[\p{Lu}mwMW]/u.test(ch)) w += 0.7;
    else w += 0.58;
  }
  return w;
}

interface TreeInput {
  title: string;
  subtitle: string;
  /** The first font; satori falls back through the others in order for what it lacks. */
  family: string;
  palette: CardPalette;
  geo: Geometry;
  size: number;
  /** Cut the title with an ellipsis after the lines that fit. */
  clamp: boolean;
}

interface Node {
  type: 'div';
  key?: string;
  props: { style: Record<string, string | number>; children?: string | Node[] };
}

function div(style: Record<string, string | number>, children?: string | Node[], key?: string): Node {
  return { type: 'div', key, props: { style, children } };
}

/** The card as satori's element tree (what JSX would make). */
function cardTree({ title, subtitle, family, palette, geo, size, clamp }: TreeInput): Node {
  const lines = linesFor(size, geo);
  const subSize = max(12, min(geo.subSize, round(size * 0.5)));
  const content: Node[] = [
    div({ width: geo.barW, height: geo.barH, marginBottom: geo.barGap, backgroundColor: rgb(palette.accent) }),
    div(
      {
        fontFamily: family,
        fontWeight: 700,
        fontSize: size,
        lineHeight: LINE_HEIGHT,
        color: rgb(palette.text),
        overflowWrap: 'anywhere',
        ...(keepsCjkRuns(title) ? { wordBreak: 'keep-all' } : {}),
        // Even line lengths when the whole title fits; when it is cut, full lines up to the ellipsis.
        ...(clamp ? { lineClamp: lines } : { textWrap: 'balance' }),
      },
      title,
      TITLE_KEY,
    ),
  ];
  if (subtitle) {
    content.push(
      div(
        {
          fontFamily: family,
          fontWeight: 400,
          fontSize: subSize,
          lineHeight: 1.3,
          marginTop: geo.subGap,
          color: rgb(palette.text, 0.78),
          overflowWrap: 'anywhere',
          lineClamp: 2,
        },
        subtitle,
      ),
    );
  }
  // The bar, title and subtitle as one group, a little above the middle (which reads as centred).
  return div(
    {
      display: 'flex',
      flexDirection: 'column',
      width: geo.width,
      height: geo.height,
      boxSizing: 'border-box',
      paddingLeft: geo.padX,
      paddingRight: geo.padX,
      paddingTop: geo.padTop,
      paddingBottom: geo.padBottom,
    },
    [div({ flexGrow: 45 }), ...content, div({ flexGrow: 55 })],
  );
}

/** The card's background as an SVG document (see background()), with `over` (satori's text layer) drawn on top. */
function backgroundSvg(geo: Geometry, palette: CardPalette, over = ''): string {
  return (
    `<svg width="${geo.width}" height="${geo.height}" viewBox="0 0 ${geo.width} ${geo.height}" ` +
    `xmlns="http://www.w3.org/2000/svg">${background(geo, palette)}${over}</svg>`
  );
}

/**
 * One pixel buffer a card size, reused for the gradient of every card of that size (3.2 MB at 1200x675, 4.7 MB at
 * 1080x1080). Two sizes are kept (the two the card source draws); a card of another size gets a buffer of its own.
 */
const gradientBuffers = new Map<string, import('@napi-rs/canvas').ImageData>();
const GRADIENT_BUFFERS_KEPT = 2;

/**
 * Paints the card's background (the same picture as background() below describes) onto the canvas: the gradient
 * computed here, pixel by pixel, without dithering (Skia dithers its own gradients: files of 450 KiB to 1 MiB that
 * take 10 times longer to encode), then the rings and the band by Skia. Nothing drawn is kept between cards: keeping
 * each palette's background drawn (16 of them) held over 100 MB of native memory, and drawing it again from SVG by
 * Skia took 15-25 ms and left as much behind in malloc's pages (BENCHMARKS.md "Worker memory with title cards").
 */
function paintBackground(
  ctx: import('@napi-rs/canvas').SKRSContext2D,
  { width, height, unit, bandH }: Geometry,
  palette: CardPalette,
  skia: typeof import('@napi-rs/canvas'),
): void {
  const key = `${width}x${height}`;
  let pixels = gradientBuffers.get(key);
  if (!pixels) {
    pixels = new skia.ImageData(width, height);
    if (gradientBuffers.size < GRADIENT_BUFFERS_KEPT) gradientBuffers.set(key, pixels);
  }
  fillGradient(new Uint32Array(pixels.data.buffer, pixels.data.byteOffset, width * height), width, height, palette.start, palette.end);
  ctx.putImageData(pixels, 0, 0);
  const cx = width - unit * 0.08;
  const cy = unit * 0.06;
  const ring = (radius: number, thickness: number, alpha: number): void => {
    ctx.beginPath();
    ctx.arc(cx, cy, radius, 0, 2 * Math.PI);
    ctx.strokeStyle = rgb(palette.accent, alpha);
    ctx.lineWidth = thickness;
    ctx.stroke();
  };
  ring(unit * 0.42, unit * 0.06, 0.08);
  ring(unit * 0.27, unit * 0.025, 0.1);
  ctx.fillStyle = rgb(palette.accent);
  ctx.fillRect(0, height - bandH, width, bandH);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The SVG gradient of background(): from `start` at the top-left corner to `end` at the bottom-right, along the
 * diagonal, sampled at each pixel's centre. Opaque RGBA written as 32-bit words.
 */
function fillGradient(out: Uint32Array, width: number, height: number, start: Rgb, end: Rgb): void {
  // t at (x, y) is the projection on the diagonal: ((x + 0.5) * width + (y + 0.5) * height) / (width² + height²).
  const norm = width * width + height * height;
  const step = width / norm;
  const [r0, g0, b0] = start;
  const dr = end[0] - r0;
  const dg = end[1] - g0;
  const db = end[2] - b0;
  let at = 0;
  for (let y = 0; y < height; y++) {
    let t = (0.5 * width + (y + 0.5) * height) / norm;
    for (let x = 0; x < width; x++, t += step) {
      const r = (r0 + dr * t + 0.5) | 0;
      const g = (g0 + dg * t + 0.5) | 0;
      const b = (b0 + db * t + 0.5) | 0;
      out[at++] = LITTLE_ENDIAN ? 0xff000000 | (b << 16) | (g << 8) | r : ((r << 24) | (g << 16) | (b << 8) | 0xff) >>> 0;
    }
  }
}

/**
 * The card without its text: a diagonal gradient (top-left to bottom-right corner), two soft rings in the top-right
 * corner and a band along the bottom edge, in the accent colour. Written here rather than laid out by satori: its
 * background patterns and masked borders are far slower to draw.
 */
function background({ width, height, unit, bandH }: Geometry, palette: CardPalette): string {
  const cx = width - unit * 0.08;
  const cy = unit * 0.06;
  const ring = (radius: number, thickness: number, alpha: number): string =>
    `<circle cx="${num(cx)}" cy="${num(cy)}" r="${num(radius)}" fill="none" stroke="${rgb(palette.accent)}" ` +
    `stroke-opacity="${alpha}" stroke-width="${num(thickness)}"/>`;
  return (
    `<defs><linearGradient id="card-bg" gradientUnits="userSpaceOnUse" x1="0" y1="0" x2="${width}" y2="${height}">` +
    `<stop offset="0" stop-color="${rgb(palette.start)}"/><stop offset="1" stop-color="${rgb(palette.end)}"/>` +
    `</linearGradient></defs><rect width="${width}" height="${height}" fill="url(#card-bg)"/>` +
    ring(unit * 0.42, unit * 0.06, 0.08) +
    ring(unit * 0.27, unit * 0.025, 0.1) +
    `<rect y="${height - bandH}" width="${width}" height="${bandH}" fill="${rgb(palette.accent)}"/>`
  );
}

function num(v: number): string {
  return String(round(v * 100) / 100);
}

function rgb([r, g, b]: Rgb, alpha = 1): string {
  return alpha === 1 ? `rgb(${r}, ${g}, ${b})` : `rgba(${r}, ${g}, ${b}, ${alpha})`;
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

function clampInt(v: number, lo: number, hi: number): number {
  return min(hi, max(lo, round(Number.isFinite(v) ? v : lo)));
}

function normalizeKey(s: string): string {
  return s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}
