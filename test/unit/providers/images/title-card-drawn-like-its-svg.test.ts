// The card's PNG is drawn by Skia from a kept background and satori's text layer (painted directly when it holds only
// rectangles and paths). resvg, another SVG renderer, is the oracle: drawing the card's whole SVG document it must give
// the same picture, up to the anti-aliasing of edges.
import { createCanvas } from '@napi-rs/canvas';
import * as skia from '@napi-rs/canvas';
import { Resvg } from '@resvg/resvg-js';
import { PNG } from 'pngjs';
import { cardPalette, cardSvg, renderCard, type CardInput } from '../../../../src/providers/images/card';
import { paintSvgLayer, simpleLayer } from '../../../../src/providers/images/card-paint';

function resvgPixels(svg: string): Buffer {
  return PNG.sync.read(new Resvg(svg, { font: { loadSystemFonts: false } }).render().asPng()).data;
}

/** How far apart two RGBA pictures are: mean difference a channel, and the share of pixels off by more than 24. */
function distance(a: Buffer, b: Buffer): { mean: number; offShare: number } {
  expect(a.length).toBe(b.length);
  let sum = 0;
  let off = 0;
  for (let i = 0; i < a.length; i += 4) {
    const d = Math.max(Math.abs(a[i] - b[i]), Math.abs(a[i + 1] - b[i + 1]), Math.abs(a[i + 2] - b[i + 2]), Math.abs(a[i + 3] - b[i + 3]));
    sum += Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]);
    if (d > 24) off++;
  }
  return { mean: sum / ((a.length / 4) * 3), offShare: off / (a.length / 4) };
}

const CASES: CardInput[] = [
  { title: 'Why durable workflows make social publishing boring in the best way', subtitle: 'release notes', width: 1200, height: 675 },
  { title: 'Café Zürich · Ελληνικά · Кириллица · 日本語のタイトル', width: 1080, height: 1080 },
  { title: 'Quarterly results', subtitle: 'light and minimal', width: 1080, height: 1080, style: 'light minimal' },
  // Cut with an ellipsis at the smallest size.
  { title: Array.from({ length: 80 }, (_, i) => `word${i}`).join(' '), subtitle: 'x'.repeat(300), width: 1200, height: 675 },
  { title: 'y'.repeat(500), width: 640, height: 360, style: 'pink' },
];

describe('a title card', () => {
  it.each(CASES.map((c) => [c.title.slice(0, 30), c] as const))('looks as resvg draws its SVG: %s', async (_name, input) => {
    const drawn = PNG.sync.read(await renderCard(input));
    expect([drawn.width, drawn.height]).toEqual([input.width, input.height]);
    const { mean, offShare } = distance(drawn.data, resvgPixels(await cardSvg(input)));
    // Measured: mean 0.12-0.22, under 0.5% of pixels off (glyph edges anti-aliased differently).
    expect({ mean: mean < 1, offShare: offShare < 0.01 }).toEqual({ mean: true, offShare: true });
  });

  it('is not like the SVG of another title (the comparison can fail)', async () => {
    const a = CASES[0];
    const drawn = PNG.sync.read(await renderCard(a));
    const other = resvgPixels(await cardSvg({ ...a, title: 'Something else entirely' }));
    expect(distance(drawn.data, other).offShare).toBeGreaterThan(0.01);
  });

  it('is the same bytes whatever cards were drawn between (canvases and pixel buffers are reused)', async () => {
    const input = CASES[0];
    const first = await renderCard(input);
    // Other palettes at the same size (the same canvas and gradient buffer), and sizes nobody asked for before.
    for (const style of ['light', 'pink', 'green', 'dark red']) await renderCard({ ...input, title: `between ${style}`, style });
    for (let i = 0; i < 4; i++) await renderCard({ title: 'other size', width: 200 + i, height: 120 });
    expect((await renderCard(input)).equals(first)).toBe(true);
  });
});

describe("painting satori's text layer", () => {
  const W = 400;
  const H = 200;
  const white = [255, 255, 255, 255];

  function pixelsOf(paint: (ctx: ReturnType<ReturnType<typeof createCanvas>['getContext']>) => void): Buffer {
    const canvas = createCanvas(W, H);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = 'rgb(15, 23, 42)';
    ctx.fillRect(0, 0, W, H);
    paint(ctx);
    return Buffer.from(ctx.getImageData(0, 0, W, H).data.buffer);
  }
  function at(px: Buffer, x: number, y: number): number[] {
    const o = (y * W + x) * 4;
    return [...px.subarray(o, o + 4)];
  }

  const layer =
    `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">` +
    `<mask id="satori_om-id"><rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/></mask>` +
    `<rect x="20" y="20" width="60" height="8" fill="rgb(56, 189, 248)"/>` +
    `<g><path fill="rgb(255, 255, 255)" d="M40 60L140 60L140 160L40 160Z M200 60L300 60L250 160Z"/></g></svg>`;

  it('draws rectangles and paths directly, as an SVG renderer would', () => {
    expect(simpleLayer(layer, W, H)).toHaveLength(2);
    let how = '';
    const direct = pixelsOf((ctx) => (how = paintSvgLayer(ctx, layer, W, H, skia)));
    expect(how).toBe('direct');
    expect(at(direct, 90, 110)).toEqual(white);
    expect(at(direct, 50, 24)).toEqual([56, 189, 248, 255]);
    expect(at(direct, 350, 110)).toEqual([15, 23, 42, 255]);
    // Skia's own SVG renderer, fed the same layer, gives the same picture.
    const viaSvg = pixelsOf((ctx) => {
      const image = new skia.Image();
      image.src = Buffer.from(layer);
      ctx.drawImage(image, 0, 0, W, H);
    });
    expect(distance(direct, viaSvg).offShare).toBeLessThan(0.005);
  });

  it.each([
    ['another element', layer.replace('</svg>', '<circle cx="350" cy="100" r="30" fill="rgb(255, 255, 255)"/></svg>'), [350, 100]],
    ['a transform', layer.replace('<g>', '<g transform="translate(200 0)">'), [290, 110]],
    ['a gradient fill', layer.replace('fill="rgb(255, 255, 255)"', 'fill="url(#g)"').replace('<g>', '<defs><linearGradient id="g"><stop offset="0" stop-color="#fff"/><stop offset="1" stop-color="#fff"/></linearGradient></defs><g>'), [90, 110]],
  ] as const)('leaves a layer with %s to the SVG renderer, drawn whole', (_what, svg, [x, y]) => {
    expect(simpleLayer(svg, W, H)).toBeNull();
    let how = '';
    const px = pixelsOf((ctx) => (how = paintSvgLayer(ctx, svg, W, H, skia)));
    expect(how).toBe('svg');
    expect(at(px, x, y)).toEqual(white);
    expect(at(px, 50, 24)).toEqual([56, 189, 248, 255]);
  });

  it('fills path data in forms satori does not write (relative commands) all the same', () => {
    const relative = layer.replace(/ d="[^"]+"/, ' d="m40 60l100 0l0 100l-100 0z"');
    expect(simpleLayer(relative, W, H)).toHaveLength(2);
    const px = pixelsOf((ctx) => paintSvgLayer(ctx, relative, W, H, skia));
    expect(at(px, 90, 110)).toEqual(white);
    expect(at(px, 250, 110)).toEqual([15, 23, 42, 255]);
  });

  it('keeps the title colour exact inside the glyphs', async () => {
    const input = CASES[0];
    const png = PNG.sync.read(await renderCard(input));
    const [r, g, b] = cardPalette(input.title).text;
    let exact = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i] === r && png.data[i + 1] === g && png.data[i + 2] === b) exact++;
    expect(exact).toBeGreaterThan(15_000);
  });
});
