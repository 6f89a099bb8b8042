import { PNG } from 'pngjs';
import { cardPalette, contrast, createCardImageSource, renderCard, toRenderable } from '../../../../src/providers/images/card';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function decode(buf: Buffer): PNG {
  return PNG.sync.read(buf);
}

/** Pixels inside the rectangle whose colour is exactly `rgb` (fully covered glyph pixels). */
function countColour(png: PNG, rgb: readonly number[], x0 = 0, y0 = 0, x1 = png.width, y1 = png.height): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const o = (y * png.width + x) * 4;
      if (png.data[o] === rgb[0] && png.data[o + 1] === rgb[1] && png.data[o + 2] === rgb[2]) n++;
    }
  }
  return n;
}

/** Bounding box of the pixels with colour `rgb`. */
function boxOf(png: PNG, rgb: readonly number[]): { x0: number; y0: number; x1: number; y1: number } | null {
  let box: { x0: number; y0: number; x1: number; y1: number } | null = null;
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const o = (y * png.width + x) * 4;
      if (png.data[o] !== rgb[0] || png.data[o + 1] !== rgb[1] || png.data[o + 2] !== rgb[2]) continue;
      if (!box) box = { x0: x, y0: y, x1: x, y1: y };
      box.x0 = Math.min(box.x0, x);
      box.x1 = Math.max(box.x1, x);
      box.y0 = Math.min(box.y0, y);
      box.y1 = Math.max(box.y1, y);
    }
  }
  return box;
}

describe('renderCard', () => {
  const title = 'Durable workflows make retries boring';

  it('returns a real PNG of the requested size', async () => {
    const buf = await renderCard({ title, width: 1200, height: 675 });
    expect(buf.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const png = decode(buf);
    expect(png.width).toBe(1200);
    expect(png.height).toBe(675);
    const square = decode(await renderCard({ title, width: 1080, height: 1080 }));
    expect([square.width, square.height]).toEqual([1080, 1080]);
  });

  it('sets the title in the text colour inside the text area', async () => {
    const png = decode(await renderCard({ title, width: 1200, height: 675 }));
    const { text } = cardPalette(title);
    // The title lives inside the margins; the corners and edges stay background.
    const inArea = countColour(png, text, 60, 60, 1140, 615);
    expect(inArea).toBeGreaterThan(15_000);
    expect(countColour(png, text, 0, 0, 40, 40)).toBe(0);
  });

  it('uses a legible title colour on every background', () => {
    for (const style of [undefined, 'light', 'dark', 'minimal', 'green', 'pink pastel', 'corporate blue']) {
      for (const t of ['A', 'Release notes', 'Hiring: senior engineer', 'Q3 results']) {
        const p = cardPalette(t, style);
        expect(Math.min(contrast(p.text, p.start), contrast(p.text, p.end))).toBeGreaterThanOrEqual(4.5);
      }
    }
  });

  it('is deterministic and depends on the title', async () => {
    const a1 = await renderCard({ title: 'First title', width: 600, height: 338 });
    const a2 = await renderCard({ title: 'First title', width: 600, height: 338 });
    const b = await renderCard({ title: 'Second title', width: 600, height: 338 });
    expect(a1.equals(a2)).toBe(true);
    expect(a1.equals(b)).toBe(false);
    expect(decode(a1).data.equals(decode(b).data)).toBe(false);
  });

  it('follows style hints for the palette', () => {
    const light = cardPalette('Anything', 'light minimal');
    const dark = cardPalette('Anything', 'dark');
    expect(light.text).not.toEqual(dark.text);
    expect(cardPalette('Anything', 'green').name).toMatch(/forest|teal|mint/);
  });

  it('keeps a very long title inside the card', async () => {
    const long = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ') + ' ' + 'x'.repeat(300);
    const png = decode(await renderCard({ title: long, subtitle: long, width: 1200, height: 675 }));
    expect([png.width, png.height]).toEqual([1200, 675]);
    const box = boxOf(png, cardPalette(long).text);
    expect(box).not.toBeNull();
    // Within the side margins, and clear of the top and bottom edges.
    expect(box!.x0).toBeGreaterThanOrEqual(90);
    expect(box!.x1).toBeLessThanOrEqual(1110);
    expect(box!.y0).toBeGreaterThan(40);
    expect(box!.y1).toBeLessThan(640);
  });

  it('renders a single enormous word by breaking it', async () => {
    const png = decode(await renderCard({ title: 'y'.repeat(500), width: 1080, height: 1080 }));
    const box = boxOf(png, cardPalette('y'.repeat(500)).text)!;
    expect(box.x1).toBeLessThan(1080 - 80);
    expect(box.y1).toBeLessThan(1080 - 60);
  });

  it('keeps every letter the fonts have and leaves out emoji and what no font has', async () => {
    expect(toRenderable('Café déjà vu — “naïve”')).toBe('Café déjà vu — “naïve”');
    expect(toRenderable('Straße Ærø Łódź Tiếng Việt')).toBe('Straße Ærø Łódź Tiếng Việt');
    expect(toRenderable('Ἀθῆναι Ελλάδα Київ Москва 東京タワー')).toBe('Ἀθῆναι Ελλάδα Київ Москва 東京タワー');
    // Decomposed accents are composed first.
    expect(toRenderable('Cafe\u0301')).toBe('Café');
    // Emoji go whole: skin tones, joiners, flags and variation selectors too; symbols the fonts have stay.
    expect(toRenderable('Launch 🚀 day ✨ 👍🏽 👨‍👩‍👧 🇫🇷 Acme™ ©2025')).toBe('Launch day Acme™ ©2025');
    expect(toRenderable('서울 tour \ue000')).toBe('tour');
    expect(toRenderable('ﬁnal\u00a0cut\u200b!')).toBe('final cut!');
    const png = decode(await renderCard({ title: '🚀 서울', width: 400, height: 225 }));
    expect([png.width, png.height]).toEqual([400, 225]);
  });

  it('renders a 1200x675 card in well under a second', async () => {
    await renderCard({ title: 'warm up', width: 1200, height: 675 });
    const start = process.hrtime.bigint();
    await renderCard({ title: 'How we cut our deploy time in half', subtitle: 'Engineering notes', width: 1200, height: 675 });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    // About 40 ms on an idle machine; the bound leaves room for a busy one.
    expect(ms).toBeLessThan(1000);
  });
});

describe('createCardImageSource', () => {
  it('returns a landscape and a square card', async () => {
    const source = createCardImageSource();
    expect(source.name).toBe('card');
    const images = await source.find({ title: 'Ship it on Friday', topic: 'release practices', keywords: ['release'] });
    expect(images).toHaveLength(2);
    expect(images.map((i) => [i.width, i.height])).toEqual([
      [1200, 675],
      [1080, 1080],
    ]);
    for (const image of images) {
      expect(image.contentType).toBe('image/png');
      expect(image.alt).toBe('Title card: Ship it on Friday');
      expect(image.attribution).toBeNull();
      expect(image.source).toBe('card');
      const png = decode(image.bytes);
      expect([png.width, png.height]).toEqual([image.width, image.height]);
    }
  });
});
