// An imitation of the Unsplash API (and its image CDN), over real HTTP on 127.0.0.1.
//   GET /search/photos?query=&per_page=&orientation=   Authorization: Client-ID <key>
//     -> {total, total_pages, results:[{id, width, height, alt_description, urls:{regular,...}, links:{download_location,...}, user}]}
//   GET /photos/<id>/download   the download ping a client must make when it uses a photo -> {url}
//   GET /images/<id>.png?...    the photo bytes (the CDN: no auth, no rate limit)
// API answers carry X-Ratelimit-Limit / X-Ratelimit-Remaining (no reset, like Unsplash). Over the limit it answers
// 403 text/plain "Rate Limit Exceeded" (the observed form) or 429 when told.
// Photo records claim their original size (e.g. 5472x3648) while urls.regular serves a small PNG, as the real
// resized variants differ from the original: adapters must read the size from the bytes.
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

export type UnsplashFailure =
  | 'rate_limit' // 429 "Rate Limit Exceeded"
  | '403_rate_limit' // 403 text/plain "Rate Limit Exceeded", X-Ratelimit-Remaining: 0
  | 'forbidden' // 403 JSON {errors}: not a rate limit
  | 'server_error' // 500
  | 'malformed_json' // 200 with a cut-off JSON body
  | 'hang' // never answers
  | 'bad_key'; // 401 OAuth error

export interface UnsplashFake {
  url: string;
  /** Every request, API and image downloads alike. */
  requests: FakeRequest[];
  /** Authorised download pings received (GET /photos/<id>/download). */
  readonly downloadPings: number;
  /** The next `times` API requests (search or ping; default 1) fail this way. Image downloads are not affected. */
  failNext(kind: UnsplashFailure, times?: number): void;
  /** Searches find nothing (or, with false, find photos again). */
  empty(on?: boolean): void;
  /** Strict sliding window over API requests; over it: 403 "Rate Limit Exceeded" (or 429 when overStatus is 429). */
  enforceRateLimit(count: number, windowMs: number, overStatus?: 403 | 429): void;
  close(): Promise<void>;
}

/** The size of the PNG behind every urls.* link. */
export const UNSPLASH_PHOTO_SIZE = { width: 64, height: 36 } as const;

const PHOTOS = [
  { id: 'fake-lighthouse', alt: 'a lighthouse on a rocky coast at dusk', name: 'Ada Lovelace', username: 'ada_l', rgb: [30, 60, 110] },
  { id: 'fake-workbench', alt: 'tools laid out on a wooden workbench', name: 'Grace Hopper', username: 'amazing_grace', rgb: [120, 80, 40] },
  { id: 'fake-server-room', alt: null, name: 'Alan Turing', username: 'turing', rgb: [20, 120, 90] },
] as const;

const DEFAULT_LIMIT = 5000; // a production application's hourly allowance
const HOUR_MS = 3_600_000;


export async function startUnsplashFake(options: { accessKey?: string } = {}): Promise<UnsplashFake> {
  const requests: FakeRequest[] = [];
  const failures: { kind: UnsplashFailure; remaining: number }[] = [];
  let window = { count: DEFAULT_LIMIT, windowMs: HOUR_MS, enforced: false, overStatus: 403 as 403 | 429 };
  let used: number[] = [];
  let pings = 0;
  let noResults = false;
  let url = '';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = typeof body === 'string';
    res.writeHead(status, { 'Content-Type': text ? 'text/plain' : 'application/json', ...headers });
    res.end(text ? body : JSON.stringify(body));
  };

  const limitHeaders = (now: number): Record<string, string> => {
    used = used.filter((t) => t > now - window.windowMs);
    return { 'X-Ratelimit-Limit': String(window.count), 'X-Ratelimit-Remaining': String(Math.max(0, window.count - used.length)) };
  };

  const photoJson = (p: (typeof PHOTOS)[number], i: number): Record<string, unknown> => {
    const ixid = `M3w${i}fake`;
    const img = (w: number): string => `${url}/images/${p.id}.png?ixid=${ixid}&ixlib=rb-4.0.3&q=80&w=${w}`;
    return {
      id: p.id,
      slug: p.id,
      created_at: '2024-03-01T10:00:00Z',
      width: 5472,
      height: 3648,
      color: '#0c2640',
      blur_hash: 'L02rs+of00ay~qj[D%ay00ay~qj[',
      description: null,
      alt_description: p.alt,
      urls: { raw: `${url}/images/${p.id}.png?ixid=${ixid}`, full: img(5472), regular: img(1080), small: img(400), thumb: img(200) },
      links: {
        self: `${url}/photos/${p.id}`,
        html: `https://unsplash.com/photos/${p.id}`,
        download: `https://unsplash.com/photos/${p.id}/download?ixid=${ixid}`,
        download_location: `${url}/photos/${p.id}/download?ixid=${ixid}`,
      },
      likes: 42,
      user: {
        id: `user-${p.username}`,
        username: p.username,
        name: p.name,
        links: { self: `${url}/users/${p.username}`, html: `https://unsplash.com/@${p.username}`, photos: `${url}/users/${p.username}/photos` },
      },
    };
  };

  const api = (res: ServerResponse, method: string, pathname: string, query: URLSearchParams, headers: IncomingHttpHeaders): void => {
    const now = Date.now();
    const failure = failures[0];
    if (failure) {
      failure.remaining -= 1;
      if (failure.remaining <= 0) failures.shift();
      switch (failure.kind) {
        case 'hang':
          return;
        case 'malformed_json':
          used.push(now);
          return send(res, 200, '{"total": 3, "total_pages": 1, "results": [{"id": "fake-', { ...limitHeaders(now), 'Content-Type': 'application/json' });
        case 'rate_limit':
          return send(res, 429, 'Rate Limit Exceeded', { ...limitHeaders(now), 'X-Ratelimit-Remaining': '0' });
        case '403_rate_limit':
          return send(res, 403, 'Rate Limit Exceeded', { ...limitHeaders(now), 'X-Ratelimit-Remaining': '0' });
        case 'forbidden':
          return send(res, 403, { errors: ['You do not have access to this resource'] }, limitHeaders(now));
        case 'server_error':
          return send(res, 500, { errors: ['Something went wrong on our end'] });
        case 'bad_key':
          return send(res, 401, { errors: ['OAuth error: The access token is invalid'] });
      }
    }
    const m = /^Client-ID (\S+)$/.exec(headers.authorization ?? '');
    if (!m || (options.accessKey !== undefined && m[1] !== options.accessKey)) {
      return send(res, 401, { errors: ['OAuth error: The access token is invalid'] });
    }
    used = used.filter((t) => t > now - window.windowMs);
    if (window.enforced && used.length >= window.count) {
      return send(res, window.overStatus, 'Rate Limit Exceeded', limitHeaders(now));
    }
    used.push(now);
    if (method !== 'GET') return send(res, 405, { errors: ['Method not allowed'] }, limitHeaders(now));

    if (pathname === '/search/photos') {
      const q = query.get('query')?.trim();
      if (!q) return send(res, 400, { errors: ['query is missing'] }, limitHeaders(now));
      const perPage = Math.min(30, Math.max(1, Number(query.get('per_page') ?? 10) || 10));
      const results = noResults ? [] : PHOTOS.slice(0, perPage).map(photoJson);
      return send(res, 200, { total: noResults ? 0 : PHOTOS.length, total_pages: noResults ? 0 : 1, results }, limitHeaders(now));
    }
    const ping = /^\/photos\/([\w-]+)\/download$/.exec(pathname);
    if (ping) {
      const photo = PHOTOS.find((p) => p.id === ping[1]);
      if (!photo) return send(res, 404, { errors: ["Couldn't find Photo"] }, limitHeaders(now));
      pings += 1;
      return send(res, 200, { url: `${url}/images/${photo.id}.png?ixid=${query.get('ixid') ?? ''}` }, limitHeaders(now));
    }
    return send(res, 404, { errors: ['Not found'] }, limitHeaders(now));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      requests.push({ at: Date.now(), method: req.method ?? 'GET', path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const parsed = new URL(path, 'http://fake');
      const image = /^\/images\/([\w-]+)\.png$/.exec(parsed.pathname);
      if (image) {
        const photo = PHOTOS.find((p) => p.id === image[1]);
        if (!photo || req.method !== 'GET') {
          res.writeHead(404, { 'Content-Type': 'text/plain' });
          res.end('Not Found');
          return;
        }
        const bytes = solidPng(UNSPLASH_PHOTO_SIZE.width, UNSPLASH_PHOTO_SIZE.height, photo.rgb);
        res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': String(bytes.length), 'Cache-Control': 'public, max-age=31536000' });
        res.end(bytes);
        return;
      }
      api(res, req.method ?? 'GET', parsed.pathname, parsed.searchParams, req.headers);
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
    get downloadPings() {
      return pings;
    },
    failNext(kind, times = 1) {
      failures.push({ kind, remaining: Math.max(1, times) });
    },
    empty(on = true) {
      noResults = on;
    },
    enforceRateLimit(count, windowMs, overStatus = 403) {
      window = { count, windowMs: Math.max(1, windowMs), enforced: true, overStatus };
      used = [];
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
