// A title in Latin with diacritics, Greek, Cyrillic and Japanese gets a card on which every letter is drawn.
// The oracle for "a font has this letter" is the committed font files' own character maps, read with opentype.js
// (the parser satori itself ships); it does not use Herald's card code. The oracle for "drawn" is the PNG: each
// letter alone leaves ink, differs from the other letters of its word, and does not look like the box a font
// draws for a letter it lacks.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import satori from 'satori';
import { cardPalette, renderCard, toRenderable } from '../../../../src/providers/images/card';

const opentype = require('@shuding/opentype.js') as { parse(data: ArrayBuffer): { charToGlyphIndex(ch: string): number | null } };

const ROOT = join(__dirname, '../../../..');
const FONT_DIR = join(ROOT, 'src/providers/images/fonts');
const TITLE = 'Café Zürich · Ελληνικά · Кириллица · 日本語のタイトル';
const PRIVATE_USE = '\ue000';

const fontFiles = readdirSync(FONT_DIR).filter((f) => f.endsWith('.woff'));
const fonts = fontFiles.map((file) => {
  const data = readFileSync(join(FONT_DIR, file));
  return { file, data, parsed: opentype.parse(data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer) };
});

/** The committed font files with a glyph (other than .notdef) for the character. */
function fontsWith(ch: string): string[] {
  return fonts.filter((f) => (f.parsed.charToGlyphIndex(ch) ?? 0) > 0).map((f) => f.file);
}

/** Pixels of exactly the colour `rgb`, as a mask cropped to their bounding box; null when there are none. */
function inkMask(png: PNG, rgb: readonly number[]): { w: number; h: number; bits: Uint8Array; count: number } | null {
  let x0 = png.width, y0 = png.height, x1 = -1, y1 = -1;
  const on = (x: number, y: number): boolean => {
    const o = (y * png.width + x) * 4;
    return png.data[o] === rgb[0] && png.data[o + 1] === rgb[1] && png.data[o + 2] === rgb[2];
  };
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      if (!on(x, y)) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  if (x1 < 0) return null;
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const bits = new Uint8Array(w * h);
  let count = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (on(x0 + x, y0 + y)) {
        bits[y * w + x] = 1;
        count++;
      }
    }
  }
  return { w, h, bits, count };
}

/** The shape on a 12x12 grid (each cell: is at least a third of it inked), so sizes and positions don't matter. */
function shape(mask: { w: number; h: number; bits: Uint8Array }): string {
  const N = 12;
  let out = '';
  for (let gy = 0; gy < N; gy++) {
    for (let gx = 0; gx < N; gx++) {
      const xa = Math.floor((gx * mask.w) / N), xb = Math.max(xa + 1, Math.floor(((gx + 1) * mask.w) / N));
      const ya = Math.floor((gy * mask.h) / N), yb = Math.max(ya + 1, Math.floor(((gy + 1) * mask.h) / N));
      let inked = 0;
      for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) inked += mask.bits[y * mask.w + x];
      out += inked * 3 >= (xb - xa) * (yb - ya) ? '#' : '.';
    }
  }
  return out;
}

function sameCells(a: string, b: string): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) n++;
  return n / a.length;
}

async function drawnAlone(ch: string): Promise<string> {
  const png = PNG.sync.read(await renderCard({ title: ch, width: 600, height: 338 }));
  const mask = inkMask(png, cardPalette(ch).text);
  expect(mask).not.toBeNull();
  return shape(mask!);
}

describe('title card glyph coverage', () => {
  it('has a font for every character of the title', () => {
    const missing = [...TITLE].filter((ch) => ch !== ' ' && fontsWith(ch).length === 0);
    expect(missing).toEqual([]);
  });

  it('would see a character that no font has', () => {
    expect(fontsWith(PRIVATE_USE)).toEqual([]);
    expect(fontsWith('서')).toEqual([]);
    expect(fontsWith('🚀')).toEqual([]);
    // ...and the card leaves such characters out instead of drawing a box for them.
    expect(toRenderable(`日本${PRIVATE_USE}語 서울 🚀`)).toBe('日本語');
  });

  it('keeps exactly the characters the fonts have (the card reads the same character maps)', () => {
    const wrong: string[] = [];
    for (let cp = 0x21; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (/\s|\p{Cc}|\p{Cf}/u.test(ch) || ch.normalize('NFC') !== ch) continue;
      const inFonts = fontsWith(ch).length > 0;
      if (inFonts !== (toRenderable(ch) === ch)) wrong.push(`U+${cp.toString(16)} ${inFonts ? 'left out' : 'kept'}`);
    }
    expect(wrong.slice(0, 20)).toEqual([]);
  });

  it('commits the fonts with their licence', () => {
    for (const licence of ['OFL.txt', 'OFL-NotoSansJP.txt']) {
      expect(readFileSync(join(FONT_DIR, licence), 'utf8')).toContain('SIL OPEN FONT LICENSE Version 1.1');
    }
    expect(fontFiles.every((f) => f.startsWith('noto-sans-'))).toBe(true);
  });
});

describe('title card drawing', () => {
  // What each committed font draws for a character it lacks (its .notdef: a box, crossed in Noto Sans JP), set
  // straight through satori and resvg; a letter drawn like one of these would be a missing glyph.
  const missingGlyphs = new Set<string>();
  beforeAll(async () => {
    for (const font of fonts) {
      const svg = await satori(
        { type: 'div', props: { style: { display: 'flex', fontSize: 120, color: 'white', fontFamily: 'f' }, children: PRIVATE_USE } },
        { width: 300, height: 200, fonts: [{ name: 'f', data: font.data, weight: 700, style: 'normal' }] },
      );
      const mask = inkMask(PNG.sync.read(new Resvg(svg).render().asPng()), [255, 255, 255]);
      expect(mask).not.toBeNull();
      missingGlyphs.add(shape(mask!));
    }
  });

  function likeMissingGlyph(drawn: string): boolean {
    return [...missingGlyphs].some((box) => sameCells(drawn, box) > 0.9);
  }

  it('keeps every character of the title', () => {
    expect(toRenderable(TITLE)).toBe(TITLE);
  });

  it.each(TITLE.split(' ').filter((w) => w !== '·'))('draws each letter of "%s" as its own glyph, not a box', async (word) => {
    const shapes = new Map<string, string>();
    for (const ch of new Set(word)) {
      expect(toRenderable(ch)).toBe(ch);
      const drawn = await drawnAlone(ch);
      expect({ ch, likeMissingGlyph: likeMissingGlyph(drawn) }).toEqual({ ch, likeMissingGlyph: false });
      for (const [other, otherShape] of shapes) expect({ ch, other, same: drawn === otherShape }).toEqual({ ch, other, same: false });
      shapes.set(ch, drawn);
    }
  });

  it('draws the separator and the whole title', async () => {
    expect(likeMissingGlyph(await drawnAlone('·'))).toBe(false);
    const png = PNG.sync.read(await renderCard({ title: TITLE, width: 1200, height: 675 }));
    expect(inkMask(png, cardPalette(TITLE).text)!.count).toBeGreaterThan(20_000);
  });

  it('matches the card committed under docs/ in size', async () => {
    const committed = PNG.sync.read(readFileSync(join(ROOT, 'docs/title-card.png')));
    const fresh = PNG.sync.read(await renderCard({ title: TITLE, width: 1200, height: 675 }));
    expect([committed.width, committed.height]).toEqual([fresh.width, fresh.height]);
  });
});
