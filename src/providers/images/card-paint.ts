// Drawing a title card's layers onto a Skia canvas (@napi-rs/canvas). See ./card.ts for the card itself.
//
// The text layer comes from satori as SVG. What satori writes for a card is a short list of filled rectangles (the
// accent bar) and filled paths (the glyphs of each text block), plus mask definitions nothing refers to. Those are
// drawn here straight onto the canvas (under a millisecond); Skia's own SVG renderer draws the same layer in 8-20 ms
// (it rasterises the whole document to an image first). Anything else in the layer (another element, a transform, a
// mask or clip in use) sends the whole layer to Skia's SVG renderer instead, so nothing satori might write is lost.

import type { Image as SkiaImage, Path2D as SkiaPath2D, SKRSContext2D } from '@napi-rs/canvas';

/** The parts of @napi-rs/canvas this module draws with (the module itself is loaded by the first card). */
export interface SkiaParts {
  Path2D: typeof SkiaPath2D;
  Image: typeof SkiaImage;
}

type Op = { kind: 'rect'; fill: string; x: number; y: number; w: number; h: number } | { kind: 'path'; fill: string; d: string };

const TAG = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>/y;
const ATTR = /([\w:-]+)="([^"]*)"/g;
/** Definitions satori writes and nothing in a card's layer refers to. */
const UNUSED_DEFS = /<(mask|clipPath|defs)\b[^>]*>[\s\S]*?<\/\1>/g;

/**
 * The layer's drawing as rectangles and paths, or null when it holds anything else (then Skia's SVG renderer draws
 * it). `width` and `height` are the canvas's: the layer must map one SVG unit to one pixel.
 */
export function simpleLayer(svg: string, width: number, height: number): Op[] | null {
  const body = svg.replace(UNUSED_DEFS, '');
  const ops: Op[] = [];
  let at = 0;
  let depth = 0;
  while (at < body.length) {
    const gap = body.indexOf('<', at);
    if (gap < 0) return body.slice(at).trim() === '' ? ops : null;
    if (body.slice(at, gap).trim() !== '') return null;
    TAG.lastIndex = gap;
    const m = TAG.exec(body);
    if (!m) return null;
    at = TAG.lastIndex;
    const [, closing, name, rawAttrs, selfClosing] = m;
    const attrs = new Map<string, string>();
    for (const a of rawAttrs.matchAll(ATTR)) attrs.set(a[1], a[2]);
    // A fill that refers to a definition (a gradient or pattern) is not a plain colour.
    if (attrs.get('fill')?.includes('url(')) return null;
    if (closing) {
      if (name !== 'svg' && name !== 'g') return null;
      depth--;
      continue;
    }
    if (name === 'svg') {
      if (!only(attrs, ['width', 'height', 'viewBox', 'xmlns'])) return null;
      const view = attrs.get('viewBox');
      if (attrs.get('width') !== String(width) || attrs.get('height') !== String(height)) return null;
      if (view !== undefined && view !== `0 0 ${width} ${height}`) return null;
      if (!selfClosing) depth++;
    } else if (name === 'g') {
      if (attrs.size) return null;
      if (!selfClosing) depth++;
    } else if (name === 'rect' && selfClosing && only(attrs, ['x', 'y', 'width', 'height', 'fill'])) {
      const [x, y, w, h] = ['x', 'y', 'width', 'height'].map((k) => Number(attrs.get(k) ?? 0));
      if (![x, y, w, h].every(Number.isFinite)) return null;
      ops.push({ kind: 'rect', fill: attrs.get('fill') ?? 'black', x, y, w, h });
    } else if (name === 'path' && selfClosing && only(attrs, ['fill', 'd']) && attrs.has('d')) {
      ops.push({ kind: 'path', fill: attrs.get('fill') ?? 'black', d: attrs.get('d')! });
    } else return null;
  }
  return depth === 0 ? ops : null;
}

function only(attrs: Map<string, string>, allowed: string[]): boolean {
  for (const k of attrs.keys()) if (!allowed.includes(k)) return false;
  return true;
}

/** Draws satori's SVG layer over what the canvas holds. Returns how: 'direct' or 'svg' (Skia's SVG renderer). */
export function paintSvgLayer(ctx: SKRSContext2D, svg: string, width: number, height: number, skia: SkiaParts): 'direct' | 'svg' {
  const ops = simpleLayer(svg, width, height);
  if (!ops) {
    const image = new skia.Image();
    image.src = Buffer.from(svg);
    ctx.drawImage(image, 0, 0, width, height);
    return 'svg';
  }
  for (const op of ops) {
    ctx.fillStyle = op.fill === 'none' ? 'rgba(0, 0, 0, 0)' : op.fill;
    if (op.kind === 'rect') ctx.fillRect(op.x, op.y, op.w, op.h);
    else {
      ctx.beginPath();
      if (tracePath(ctx, op.d)) ctx.fill();
      else ctx.fill(new skia.Path2D(op.d));
    }
  }
  return 'direct';
}

const PATH_TOKEN = /([MLQCZmlqcz])|(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)/g;
const ARITY: Record<string, number> = { M: 2, L: 2, Q: 4, C: 6, Z: 0 };

/**
 * Traces path data made of absolute M, L, Q, C and Z (all satori writes for glyphs) as the context's current path.
 * The context's own path is reused from card to card; a Path2D a glyph run would hold native memory that V8 does
 * not see until a late collection (resident memory grew about 300 KB a card with one). Returns false, having traced
 * nothing it cannot finish, when the data holds anything else (then the caller fills a Path2D).
 */
function tracePath(ctx: Pick<SKRSContext2D, 'moveTo' | 'lineTo' | 'quadraticCurveTo' | 'bezierCurveTo' | 'closePath' | 'beginPath'>, d: string): boolean {
  const tokens = d.match(PATH_TOKEN);
  if (!tokens || d.replace(PATH_TOKEN, '').replace(/[\s,]+/g, '') !== '') return false;
  // Checked whole before anything is drawn.
  let i = 0;
  const args: number[][] = [];
  const cmds: string[] = [];
  while (i < tokens.length) {
    const cmd = tokens[i++];
    const arity = ARITY[cmd];
    if (arity === undefined) return false;
    const nums = tokens.slice(i, i + arity).map(Number);
    if (nums.length !== arity || nums.some((n) => !Number.isFinite(n))) return false;
    i += arity;
    cmds.push(cmd);
    args.push(nums);
  }
  for (let k = 0; k < cmds.length; k++) {
    const a = args[k];
    switch (cmds[k]) {
      case 'M': ctx.moveTo(a[0], a[1]); break;
      case 'L': ctx.lineTo(a[0], a[1]); break;
      case 'Q': ctx.quadraticCurveTo(a[0], a[1], a[2], a[3]); break;
      case 'C': ctx.bezierCurveTo(a[0], a[1], a[2], a[3], a[4], a[5]); break;
      default: ctx.closePath();
    }
  }
  return true;
}
