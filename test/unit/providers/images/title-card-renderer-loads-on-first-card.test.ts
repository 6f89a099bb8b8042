// A worker that never draws a title card never loads satori and Skia (@napi-rs/canvas): the worker's image sources are
// built without them, and the first card loads them. A burst of cards is drawn a few at a time (each card in flight
// holds its pixels in native memory until its PNG is encoded).
import type { Config } from '../../../../src/config';

const mockLoaded: string[] = [];
const mockDrawing = { now: 0, max: 0 };
jest.mock('satori', () => {
  mockLoaded.push('satori');
  return jest.requireActual('satori');
});
jest.mock('@napi-rs/canvas', () => {
  mockLoaded.push('skia');
  const actual = jest.requireActual('@napi-rs/canvas');
  return {
    ...actual,
    // A card is in flight from when its background's pixels are put on its canvas until its PNG is out.
    createCanvas: (...args: unknown[]) => {
      const canvas = actual.createCanvas(...args);
      const encode = canvas.encode.bind(canvas);
      const getContext = canvas.getContext.bind(canvas);
      canvas.getContext = (...a: unknown[]) => {
        const ctx = getContext(...a);
        // A canvas is reused from card to card: its context is wrapped once.
        if (ctx.counted) return ctx;
        ctx.counted = true;
        const putImageData = ctx.putImageData.bind(ctx);
        ctx.putImageData = (...rest: unknown[]) => {
          mockDrawing.max = Math.max(mockDrawing.max, ++mockDrawing.now);
          return putImageData(...rest);
        };
        return ctx;
      };
      canvas.encode = async (...a: unknown[]) => {
        try {
          return await encode(...a);
        } finally {
          mockDrawing.now--;
        }
      };
      return canvas;
    },
  };
});

describe('the title-card renderer', () => {
  it('is loaded by the first card, not by building the worker', async () => {
    const { buildImageSources } = await import('../../../../src/worker/build-deps');
    const card = await import('../../../../src/providers/images/card');
    const sources = buildImageSources({ ai: {} } as unknown as Config);
    // What the worker does with a title without drawing it.
    card.cardPalette('Ship it on Friday');
    expect(mockLoaded).toEqual([]);
    expect(card.cardRendererLoaded()).toBe(false);

    const images = await sources.card.find({ title: 'Ship it on Friday', topic: 'release practices', keywords: [] });
    expect(images).toHaveLength(2);
    expect([...mockLoaded].sort()).toEqual(['satori', 'skia']);
    expect(card.cardRendererLoaded()).toBe(true);

    // Once: the second card reuses them.
    await card.renderCard({ title: 'Again', width: 320, height: 180 });
    expect(mockLoaded).toHaveLength(2);
  });

  it('draws a burst of cards a few at a time, every one of them', async () => {
    const card = await import('../../../../src/providers/images/card');
    mockDrawing.max = 0;
    const titles = Array.from({ length: 8 }, (_, i) => `Card number ${i + 1} of a burst`);
    const pngs = await Promise.all(titles.map((title) => card.renderCard({ title, width: 320, height: 180 })));
    expect(pngs.every((png) => png.subarray(1, 4).toString() === 'PNG')).toBe(true);
    expect(new Set(pngs.map((png) => png.toString('base64'))).size).toBe(8);
    expect(mockDrawing.max).toBeGreaterThanOrEqual(1);
    expect(mockDrawing.max).toBeLessThanOrEqual(card.CARDS_AT_ONCE);
    expect(card.CARDS_AT_ONCE).toBeLessThanOrEqual(2);
  });
});
