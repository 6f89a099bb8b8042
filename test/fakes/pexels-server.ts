// An imitation of the Pexels API (and its image CDN), over real HTTP on 127.0.0.1.
//   GET /v1/search?query=&per_page=&orientation=   Authorization: <key> (no Bearer: "Bearer ..." is refused)
//     -> {total_results, page, per_page, photos:[{id, width, height, url, photographer, src:{large2x, large, ...}, alt}], next_page?}
//   GET /photos/<id>/pexels-photo-<id>.<png|jpeg>?...   the photo bytes (the CDN: no auth, no rate limit)
// Successful API answers carry X-Ratelimit-Limit / X-Ratelimit-Remaining / X-Ratelimit-Reset (epoch seconds); a 429
// carries none of them, as Pexels documents. By default the window is the monthly 20,000 (not enforced).
// Photo records claim their original size while src.* serves a small image: adapters must read the size from the bytes.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { solidPng } from './openai-images-server';

export interface FakeRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export type PexelsFailure =
  | 'rate_limit' // 429 without rate headers
  | 'server_error' // 500
  | 'malformed_json' // 200 with a cut-off JSON body
  | 'hang' // never answers
  | 'bad_key'; // 401

export interface PexelsFake {
  url: string;
  /** Every request, API and image downloads alike. */
  requests: FakeRequest[];
  /** The next `times` searches (default 1) fail this way. Image downloads are not affected. */
  failNext(kind: PexelsFailure, times?: number): void;
  /** Searches find nothing (or, with false, find photos again). */
  empty(on?: boolean): void;
  /** Strict sliding window over searches: X-Ratelimit-* describe it, and more than `count` get 429. */
  enforceRateLimit(count: number, windowMs: number): void;
  /** The format src.* links serve: png (default) or a baseline JPEG, as real Pexels serves. */
  photoFormat(format: 'png' | 'jpeg'): void;
  close(): Promise<void>;
}

/** The size of the image behind every src.* link. */
export const PEXELS_PHOTO_SIZE = { width: 64, height: 36 } as const;

const PHOTOS = [
  { id: 1181671, alt: 'Person typing on a laptop at a wooden desk', photographer: 'Christina Morillo', rgb: [90, 70, 50] },
  { id: 2014422, alt: '', photographer: 'Joey Farina', rgb: [20, 40, 80] },
] as const;

const MONTHLY_LIMIT = 20_000;


/**
 * A valid baseline JPEG of one mid-grey: one component, every 8x8 block only a zero DC difference and an
 * end-of-block, coded with one-symbol Huffman tables (two bits per block).
 */
export function greyJpeg(width: number, height: number): Buffer {
  const segment = (marker: number, payload: number[]): number[] => [0xff, marker, ((payload.length + 2) >> 8) & 0xff, (payload.length + 2) & 0xff, ...payload];
  const oneSymbolTable = (tableClass: number): number[] => [tableClass << 4, 1, ...new Array<number>(15).fill(0), 0x00];
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const bits = blocks * 2; // '0' (DC category 0) + '0' (EOB), all zero bits
  const data = new Array<number>(Math.ceil(bits / 8)).fill(0);
  if (bits % 8) data[data.length - 1] = (1 << (8 - (bits % 8))) - 1; // pad the last byte with 1 bits
  return Buffer.from([
    0xff, 0xd8, // SOI
    ...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]), // DQT: table 0, all ones
    ...segment(0xc0, [8, (height >> 8) & 0xff, height & 0xff, (width >> 8) & 0xff, width & 0xff, 1, 1, 0x11, 0]), // SOF0
    ...segment(0xc4, [...oneSymbolTable(0), ...oneSymbolTable(1)]), // DHT: DC 0 and AC 0
    ...segment(0xda, [1, 1, 0x00, 0, 63, 0]), // SOS
    ...data,
    0xff, 0xd9, // EOI
  ]);
}

const imageCache = new Map<string, Buffer>();
function greyJpegCached(width: number, height: number): Buffer {
  const key = `jpeg:${width}x${height}`;
  let bytes = imageCache.get(key);
  if (!bytes) {
    bytes = greyJpeg(width, height);
    imageCache.set(key, bytes);
  }
  return bytes;
}

export async function startPexelsFake(options: { apiKey?: string } = {}): Promise<PexelsFake> {
  const requests: FakeRequest[] = [];
  const failures: { kind: PexelsFailure; remaining: number }[] = [];
  let window: { count: number; windowMs: number } | undefined;
  let used: number[] = [];
  let monthlyUsed = 0;
  let noResults = false;
  let format: 'png' | 'jpeg' = 'png';
  let url = '';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = typeof body === 'string';
    res.writeHead(status, { 'Content-Type': text ? 'text/plain' : 'application/json; charset=utf-8', ...headers });
    res.end(text ? body : JSON.stringify(body));
  };

  /** Rate headers after a request was counted. */
  const limitHeaders = (now: number): Record<string, string> => {
    if (window) {
      used = used.filter((t) => t > now - window!.windowMs);
      const reset = used.length ? used[0] + window.windowMs : now + window.windowMs;
      return {
        'X-Ratelimit-Limit': String(window.count),
        'X-Ratelimit-Remaining': String(Math.max(0, window.count - used.length)),
        'X-Ratelimit-Reset': String(Math.ceil(reset / 1000)),
      };
    }
    const d = new Date(now);
    const monthEnd = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    return {
      'X-Ratelimit-Limit': String(MONTHLY_LIMIT),
      'X-Ratelimit-Remaining': String(Math.max(0, MONTHLY_LIMIT - monthlyUsed)),
      'X-Ratelimit-Reset': String(Math.floor(monthEnd / 1000)),
    };
  };

  const photoJson = (p: (typeof PHOTOS)[number]): Record<string, unknown> => {
    const ext = format === 'jpeg' ? 'jpeg' : 'png';
    const file = `${url}/photos/${p.id}/pexels-photo-${p.id}.${ext}`;
    const slug = p.alt ? p.alt.toLowerCase().replace(/[^a-z0-9]+/g, '-') : 'photo';
    return {
      id: p.id,
      width: 5184,
      height: 3456,
      url: `https://www.pexels.com/photo/${slug}-${p.id}/`,
      photographer: p.photographer,
      photographer_url: `https://www.pexels.com/@${p.photographer.toLowerCase().replace(/\s+/g, '-')}`,
      photographer_id: 680589,
      avg_color: '#5A4632',
      src: {
        original: file,
        large2x: `${file}?auto=compress&cs=tinysrgb&dpr=2&h=650&w=940`,
        large: `${file}?auto=compress&cs=tinysrgb&h=650&w=940`,
        medium: `${file}?auto=compress&cs=tinysrgb&h=350`,
        small: `${file}?auto=compress&cs=tinysrgb&h=130`,
        portrait: `${file}?auto=compress&cs=tinysrgb&fit=crop&h=1200&w=800`,
        landscape: `${file}?auto=compress&cs=tinysrgb&fit=crop&h=627&w=1200`,
        tiny: `${file}?auto=compress&cs=tinysrgb&dpr=1&fit=crop&h=200&w=280`,
      },
      liked: false,
      alt: p.alt,
    };
  };

  const search = (res: ServerResponse, query: URLSearchParams, headers: IncomingHttpHeaders): void => {
    const now = Date.now();
    const failure = failures[0];
    if (failure) {
      failure.remaining -= 1;
      if (failure.remaining <= 0) failures.shift();
      switch (failure.kind) {
        case 'hang':
          return;
        case 'malformed_json':
          monthlyUsed += 1;
          return send(res, 200, '{"page": 1, "per_page": 10, "photos": [{"id": 11816', { ...limitHeaders(now), 'Content-Type': 'application/json; charset=utf-8' });
        case 'rate_limit':
          return send(res, 429, 'Too Many Requests');
        case 'server_error':
          return send(res, 500, { status: 500, error: 'Internal Server Error' });
        case 'bad_key':
          return send(res, 401, { status: 401, error: 'Unauthorized' });
      }
    }
    const auth = headers.authorization ?? '';
    if (!auth || /^Bearer /i.test(auth) || (options.apiKey !== undefined && auth !== options.apiKey)) {
      return send(res, 401, { status: 401, error: 'Unauthorized' });
    }
    if (window) {
      used = used.filter((t) => t > now - window!.windowMs);
      if (used.length >= window.count) return send(res, 429, 'Too Many Requests');
      used.push(now);
    }
    monthlyUsed += 1;
    const q = query.get('query')?.trim();
    if (!q) return send(res, 400, { status: 400, error: 'query is required' }, limitHeaders(now));
    const perPage = Math.min(80, Math.max(1, Number(query.get('per_page') ?? 15) || 15));
    const photos = noResults ? [] : PHOTOS.slice(0, perPage).map(photoJson);
    return send(res, 200, { total_results: photos.length, page: 1, per_page: perPage, photos }, limitHeaders(now));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      requests.push({ at: Date.now(), method: req.method ?? 'GET', path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const parsed = new URL(path, 'http://fake');
      const image = /^\/photos\/(\d+)\/pexels-photo-\d+\.(png|jpeg)$/.exec(parsed.pathname);
      if (image && req.method === 'GET') {
        const photo = PHOTOS.find((p) => String(p.id) === image[1]);
        if (photo) {
          const { width, height } = PEXELS_PHOTO_SIZE;
          const jpeg = image[2] === 'jpeg';
          const bytes = jpeg ? greyJpegCached(width, height) : solidPng(width, height, photo.rgb);
          res.writeHead(200, { 'Content-Type': jpeg ? 'image/jpeg' : 'image/png', 'Content-Length': String(bytes.length) });
          res.end(bytes);
          return;
        }
      }
      if (parsed.pathname === '/v1/search' && req.method === 'GET') return search(res, parsed.searchParams, req.headers);
      return send(res, 404, { status: 404, error: 'Not Found' });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    failNext(kind, times = 1) {
      failures.push({ kind, remaining: Math.max(1, times) });
    },
    empty(on = true) {
      noResults = on;
    },
    enforceRateLimit(count, windowMs) {
      window = { count, windowMs: Math.max(1, windowMs) };
      used = [];
    },
    photoFormat(f) {
      format = f;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
