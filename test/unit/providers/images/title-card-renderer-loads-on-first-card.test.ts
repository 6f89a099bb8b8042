// A worker that never draws a title card never loads satori and resvg (about 35 MB resident once loaded): the worker's
// image sources are built without them, and the first card loads them.
import type { Config } from '../../../../src/config';

const mockLoaded: string[] = [];
jest.mock('satori', () => {
  mockLoaded.push('satori');
  return jest.requireActual('satori');
});
jest.mock('@resvg/resvg-js', () => {
  mockLoaded.push('resvg');
  return jest.requireActual('@resvg/resvg-js');
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
    expect([...mockLoaded].sort()).toEqual(['resvg', 'satori']);
    expect(card.cardRendererLoaded()).toBe(true);

    // Once: the second card reuses them.
    await card.renderCard({ title: 'Again', width: 320, height: 180 });
    expect(mockLoaded).toHaveLength(2);
  });
});
