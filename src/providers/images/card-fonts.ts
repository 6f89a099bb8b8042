// The fonts title cards are set in: Noto Sans (Latin with its diacritics, Greek, Cyrillic; regular and bold) and
// the common part of Noto Sans JP (kana and the 2,618 most frequent kanji, bold), committed as WOFF files in
// ./fonts with their licences (see fonts/README.md). Read from disk once, on the first card, and kept.
//
// Each file is one unicode-range subset, so each gets its own family name: satori then falls back from one to
// the next, in the order given here, for any character the first one lacks. The character map of every file is
// read too, so the card can drop what no font draws instead of printing an empty box for it.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

export const FONT_DIR = join(__dirname, 'fonts');

export interface CardFont {
  name: string;
  data: Buffer;
  weight: 400 | 700;
  style: 'normal';
}

export interface CardFonts {
  /** In fallback order. */
  fonts: CardFont[];
  /** The first font's name: the family the card asks for. */
  family: string;
  /** Whether some font has a glyph for the code point. */
  covers(codePoint: number): boolean;
}

// Latin first (its punctuation and digits are the ones meant), then the other alphabets, then Japanese from its
// most frequent characters down.
const SUBSET_ORDER = ['latin', 'latin-ext', 'vietnamese', 'greek', 'greek-ext', 'cyrillic', 'cyrillic-ext'];

let loaded: CardFonts | undefined;

export function cardFonts(): CardFonts {
  loaded ??= loadFonts();
  return loaded;
}

function loadFonts(): CardFonts {
  const files = readdirSync(FONT_DIR).filter((f) => f.endsWith('.woff'));
  const parsed = files.map((file) => {
    const m = /^noto-sans-(.+)-(400|700)-normal\.woff$/.exec(file);
    if (!m) throw new Error(`title card font with an unexpected name: ${file}`);
    const subset = m[1];
    const jp = /^jp-(\d+)$/.exec(subset);
    const rank = jp ? SUBSET_ORDER.length + 1000 - Number(jp[1]) : SUBSET_ORDER.indexOf(subset);
    if (rank < 0) throw new Error(`title card font of an unknown subset: ${file}`);
    return { file, rank, name: `Noto Sans ${subset}`, weight: Number(m[2]) as 400 | 700 };
  });
  parsed.sort((a, b) => a.rank - b.rank || a.weight - b.weight);

  const covered = new Set<number>();
  const fonts = parsed.map(({ file, name, weight }): CardFont => {
    const data = readFileSync(join(FONT_DIR, file));
    for (const cp of mappedCodePoints(data)) covered.add(cp);
    return { name, data, weight, style: 'normal' };
  });
  return { fonts, family: fonts[0].name, covers: (cp) => covered.has(cp) };
}

// ---------------------------------------------------------------------------------------------
// The character map ('cmap') of a WOFF file: which code points have a glyph.

/** Code points the font maps to a glyph other than .notdef. */
export function mappedCodePoints(woff: Buffer): number[] {
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
