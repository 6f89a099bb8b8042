// The fonts title cards are set in, committed as WOFF files in ./fonts with their licences (see fonts/README.md):
// Noto Sans regular and bold (Latin with its diacritics, Greek, Cyrillic) and Noto Sans JP bold (kana and the
// 2,618 most frequent kanji). Read from disk once, on the first card, and kept: satori parses a font list once per
// array it is given, so the same array goes to every render.
//
// The character map of each file is read too, so the card can leave out what no font draws instead of printing
// an empty box for it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

const FONT_DIR = join(__dirname, 'fonts');

export interface CardFont {
  name: string;
  data: Buffer;
  weight: 400 | 700;
  style: 'normal';
}

export interface CardFonts {
  /** In fallback order: satori sets each character in the first font that has it. */
  fonts: CardFont[];
  /** The family the card asks for. */
  family: string;
  /** Whether some font has a glyph for the code point. */
  covers(codePoint: number): boolean;
}

const FILES: { file: string; name: string; weight: 400 | 700 }[] = [
  { file: 'noto-sans-400.woff', name: 'Noto Sans', weight: 400 },
  { file: 'noto-sans-700.woff', name: 'Noto Sans', weight: 700 },
  // Bold only: a subtitle in Japanese is set in it too (the subtitle is smaller and lighter in colour).
  { file: 'noto-sans-jp-700.woff', name: 'Noto Sans JP', weight: 700 },
];

let loaded: CardFonts | undefined;

export function cardFonts(): CardFonts {
  loaded ??= loadFonts();
  return loaded;
}

function loadFonts(): CardFonts {
  const covered = new Set<number>();
  const fonts = FILES.map(({ file, name, weight }): CardFont => {
    const data = readFileSync(join(FONT_DIR, file));
    for (const cp of mappedCodePoints(data)) covered.add(cp);
    return { name, data, weight, style: 'normal' };
  });
  return { fonts, family: fonts[0].name, covers: (cp) => covered.has(cp) };
}

// ---------------------------------------------------------------------------------------------
// The character map ('cmap') of a WOFF file: which code points have a glyph.

/** Code points the font maps to a glyph other than .notdef. */
function mappedCodePoints(woff: Buffer): number[] {
  const cmap = woffTable(woff, 'cmap');
  const count = cmap.readUInt16BE(2);
  let best: { format: number; offset: number } | undefined;
  for (let i = 0; i < count; i++) {
    const platform = cmap.readUInt16BE(4 + i * 8);
    const encoding = cmap.readUInt16BE(6 + i * 8);
    const offset = cmap.readUInt32BE(8 + i * 8);
    const format = cmap.readUInt16BE(offset);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    // Format 12 covers every plane; format 4 only the first.
    if (unicode && (format === 12 || (format === 4 && best?.format !== 12))) best = { format, offset };
  }
  if (!best) throw new Error('font has no Unicode character map');
  return best.format === 12 ? format12(cmap, best.offset) : format4(cmap, best.offset);
}

function woffTable(woff: Buffer, tag: string): Buffer {
  if (woff.toString('latin1', 0, 4) !== 'wOFF') throw new Error('not a WOFF font');
  const numTables = woff.readUInt16BE(12);
  for (let i = 0; i < numTables; i++) {
    const entry = 44 + i * 20;
    if (woff.toString('latin1', entry, entry + 4) !== tag) continue;
    const offset = woff.readUInt32BE(entry + 4);
    const compLength = woff.readUInt32BE(entry + 8);
    const origLength = woff.readUInt32BE(entry + 12);
    const raw = woff.subarray(offset, offset + compLength);
    return compLength < origLength ? inflateSync(raw) : raw;
  }
  throw new Error(`font has no ${tag} table`);
}

function format4(t: Buffer, at: number): number[] {
  const segCount = t.readUInt16BE(at + 6) / 2;
  const ends = at + 14;
  const starts = ends + segCount * 2 + 2;
  const deltas = starts + segCount * 2;
  const rangeOffsets = deltas + segCount * 2;
  const out: number[] = [];
  for (let s = 0; s < segCount; s++) {
    const end = t.readUInt16BE(ends + s * 2);
    const start = t.readUInt16BE(starts + s * 2);
    const delta = t.readUInt16BE(deltas + s * 2);
    const rangeOffset = t.readUInt16BE(rangeOffsets + s * 2);
    for (let c = start; c <= end && c !== 0xffff; c++) {
      let glyph: number;
      if (rangeOffset === 0) glyph = (c + delta) & 0xffff;
      else {
        const g = t.readUInt16BE(rangeOffsets + s * 2 + rangeOffset + (c - start) * 2);
        glyph = g === 0 ? 0 : (g + delta) & 0xffff;
      }
      if (glyph !== 0) out.push(c);
    }
  }
  return out;
}

function format12(t: Buffer, at: number): number[] {
  const groups = t.readUInt32BE(at + 12);
  const out: number[] = [];
  for (let g = 0; g < groups; g++) {
    const start = t.readUInt32BE(at + 16 + g * 12);
    const end = t.readUInt32BE(at + 20 + g * 12);
    const firstGlyph = t.readUInt32BE(at + 24 + g * 12);
    for (let c = start; c <= end; c++) if (firstGlyph + (c - start) !== 0) out.push(c);
  }
  return out;
}
