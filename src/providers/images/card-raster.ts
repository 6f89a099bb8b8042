// Text rendering for title cards: decodes the embedded outline fonts, measures and wraps text, and
// rasterises glyph outlines into an anti-aliased coverage mask (exact signed-area accumulation, the
// technique used by font-rs / stb_truetype). Pure TypeScript, no native code, no system fonts.

import type { EmbeddedFont } from './card-font-data';

// Local aliases: a global lookup per pixel is costly where globals are proxied (Jest's VM context made
// rendering 20x slower with `Math.round` in the inner loops).
const { abs, ceil, floor, max, min, round, sqrt } = Math;

type Contour = Float64Array; // x0, y0, on0, x1, y1, on1, ... in 1/1000 em, y up

export class OutlineFont {
  readonly ascent: number;
  readonly descent: number;
  readonly capHeight: number;
  private readonly outlines = new Map<number, Contour[]>();

  constructor(private readonly data: EmbeddedFont) {
    this.ascent = data.ascent;
    this.descent = data.descent;
    this.capHeight = this.bounds(0x48).top || 730;
  }

  has(cp: number): boolean {
    return this.data.glyphs[cp] !== undefined;
  }

  advance(cp: number): number {
    return (this.data.glyphs[cp] ?? this.data.glyphs[0x3f])[0];
  }

  kern(a: string, b: string): number {
    return this.data.kern[a + b] ?? 0;
  }

  /** Width of a string in 1/1000 em, kerning included. */
  measure(text: string): number {
    let w = 0;
    let prev = '';
    for (const ch of text) {
      if (prev) w += this.kern(prev, ch);
      w += this.advance(ch.codePointAt(0)!);
      prev = ch;
    }
    return w;
  }

  contours(cp: number): Contour[] {
    let c = this.outlines.get(cp);
    if (!c) {
      const entry = this.data.glyphs[cp] ?? this.data.glyphs[0x3f];
      c = decodeOutline(entry[1]);
      this.outlines.set(cp, c);
    }
    return c;
  }

  private bounds(cp: number): { top: number; bottom: number } {
    let top = 0;
    let bottom = 0;
    for (const c of this.contours(cp)) {
      for (let i = 1; i < c.length; i += 3) {
        top = max(top, c[i]);
        bottom = min(bottom, c[i]);
      }
    }
    return { top, bottom };
  }
}

function decodeOutline(b64: string): Contour[] {
  const bytes = Buffer.from(b64, 'base64');
  let p = 0;
  const varint = (): number => {
    const b0 = bytes[p++];
    return b0 < 128 ? b0 : (b0 & 127) | (bytes[p++] << 7);
  };
  const unzig = (z: number): number => (z & 1 ? -(z >> 1) : z >> 1);
  const count = varint();
  const out: Contour[] = [];
  let x = 0;
  let y = 0;
  for (let c = 0; c < count; c++) {
    const n = varint();
    const pts = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const w = varint();
      x += unzig(w >> 1);
      y += unzig(varint());
      pts[i * 3] = x;
      pts[i * 3 + 1] = y;
      pts[i * 3 + 2] = w & 1;
    }
    out.push(pts);
  }
  return out;
}

/** An anti-aliased coverage mask for a rectangle of the image. */
export class CoverageMask {
  private readonly acc: Float32Array;
  private readonly stride: number;

  constructor(
    readonly left: number,
    readonly top: number,
    readonly width: number,
    readonly height: number,
  ) {
    this.stride = width + 2;
    this.acc = new Float32Array(this.stride * height);
  }

  /** Draws a string with its baseline at (x, baseline) in image pixels; size is the em size in pixels. */
  drawText(font: OutlineFont, text: string, x: number, baseline: number, size: number): void {
    const s = size / 1000;
    let prev = '';
    for (const ch of text) {
      if (prev) x += font.kern(prev, ch) * s;
      const cp = ch.codePointAt(0)!;
      if (cp !== 0x20) this.drawGlyph(font.contours(cp), x, baseline, s);
      x += font.advance(cp) * s;
      prev = ch;
    }
  }

  private drawGlyph(contours: Contour[], ox: number, oy: number, s: number): void {
    for (const c of contours) {
      const n = c.length / 3;
      if (n < 2) continue;
      const px = (i: number): number => ox + c[i * 3] * s - this.left;
      const py = (i: number): number => oy - c[i * 3 + 1] * s - this.top;
      // Start at an on-curve point (or the midpoint of two off-curve points).
      let start = -1;
      for (let i = 0; i < n; i++) if (c[i * 3 + 2]) { start = i; break; }
      let sx: number;
      let sy: number;
      if (start >= 0) {
        sx = px(start);
        sy = py(start);
      } else {
        start = 0;
        sx = (px(0) + px(1)) / 2;
        sy = (py(0) + py(1)) / 2;
      }
      let cx = sx;
      let cy = sy;
      let ctrl = false;
      let qx = 0;
      let qy = 0;
      for (let k = 1; k <= n; k++) {
        const i = (start + k) % n;
        const x = px(i);
        const y = py(i);
        if (c[i * 3 + 2] === 1) {
          if (ctrl) this.quad(cx, cy, qx, qy, x, y);
          else this.line(cx, cy, x, y);
          cx = x;
          cy = y;
          ctrl = false;
        } else {
          if (ctrl) {
            const mx = (qx + x) / 2;
            const my = (qy + y) / 2;
            this.quad(cx, cy, qx, qy, mx, my);
            cx = mx;
            cy = my;
          }
          qx = x;
          qy = y;
          ctrl = true;
        }
      }
      if (ctrl) this.quad(cx, cy, qx, qy, sx, sy);
      else if (cx !== sx || cy !== sy) this.line(cx, cy, sx, sy);
    }
  }

  private quad(x0: number, y0: number, x1: number, y1: number, x2: number, y2: number): void {
    const ddx = x0 - 2 * x1 + x2;
    const ddy = y0 - 2 * y1 + y2;
    const n = max(1, ceil(sqrt(sqrt(ddx * ddx + ddy * ddy) / 0.6)));
    let px = x0;
    let py = y0;
    for (let i = 1; i <= n; i++) {
      const t = i / n;
      const mt = 1 - t;
      const x = mt * mt * x0 + 2 * mt * t * x1 + t * t * x2;
      const y = mt * mt * y0 + 2 * mt * t * y1 + t * t * y2;
      this.line(px, py, x, y);
      px = x;
      py = y;
    }
  }

  /** Accumulates the signed area a line segment contributes to each pixel it crosses. */
  private line(ax: number, ay: number, bx: number, by: number): void {
    if (abs(ay - by) < 1e-9) return;
    const w = this.width;
    const h = this.height;
    let dir = 1;
    let x0 = min(max(ax, 0), w);
    let y0 = ay;
    let x1 = min(max(bx, 0), w);
    let y1 = by;
    if (y0 > y1) {
      dir = -1;
      [x0, x1] = [x1, x0];
      [y0, y1] = [y1, y0];
    }
    const dxdy = (x1 - x0) / (y1 - y0);
    let x = x0;
    if (y0 < 0) {
      x -= y0 * dxdy;
    }
    const a = this.acc;
    const stride = this.stride;
    const yEnd = min(h, ceil(y1));
    for (let y = max(0, floor(y0)); y < yEnd; y++) {
      const row = y * stride;
      const dy = min(y + 1, y1) - max(y, y0);
      const xnext = x + dxdy * dy;
      const d = dy * dir;
      const xa = x < xnext ? x : xnext;
      const xb = x < xnext ? xnext : x;
      const xaFloor = floor(xa);
      const xai = xaFloor;
      const xbCeil = ceil(xb);
      const xbi = xbCeil;
      if (xbi <= xai + 1) {
        const xmf = 0.5 * (x + xnext) - xaFloor;
        a[row + xai] += d - d * xmf;
        a[row + xai + 1] += d * xmf;
      } else {
        const s = 1 / (xb - xa);
        const xaf = xa - xaFloor;
        const a0 = 0.5 * s * (1 - xaf) * (1 - xaf);
        const xbf = xb - xbCeil + 1;
        const am = 0.5 * s * xbf * xbf;
        a[row + xai] += d * a0;
        if (xbi === xai + 2) {
          a[row + xai + 1] += d * (1 - a0 - am);
        } else {
          const a1 = s * (1.5 - xaf);
          a[row + xai + 1] += d * (a1 - a0);
          for (let xi = xai + 2; xi < xbi - 1; xi++) a[row + xi] += d * s;
          const a2 = a1 + (xbi - xai - 3) * s;
          a[row + xbi - 1] += d * (1 - a2 - am);
        }
        a[row + xbi] += d * am;
      }
      x = xnext;
    }
  }

  /**
   * Blends a colour into an RGBA image through the mask. opacity scales the coverage.
   * Returns how many pixels were fully covered.
   */
  composite(image: Buffer, imageWidth: number, imageHeight: number, rgb: readonly [number, number, number], opacity = 1): number {
    const [r, g, b] = rgb;
    let solid = 0;
    for (let y = 0; y < this.height; y++) {
      const iy = y + this.top;
      if (iy < 0 || iy >= imageHeight) continue;
      const row = y * this.stride;
      let acc = 0;
      for (let x = 0; x < this.width; x++) {
        acc += this.acc[row + x];
        let c = acc < 0 ? -acc : acc;
        if (c < 0.002) continue;
        if (c > 1) c = 1;
        const ix = x + this.left;
        if (ix < 0 || ix >= imageWidth) continue;
        if (c > 0.998) solid++;
        const k = c * opacity;
        const o = (iy * imageWidth + ix) * 4;
        image[o] = round(image[o] + (r - image[o]) * k);
        image[o + 1] = round(image[o + 1] + (g - image[o + 1]) * k);
        image[o + 2] = round(image[o + 2] + (b - image[o + 2]) * k);
      }
    }
    return solid;
  }
}
