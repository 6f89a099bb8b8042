// An imitation of Stability AI's Stable Image generate endpoints, over real HTTP on 127.0.0.1.
//   POST /v2beta/stable-image/generate/{core|ultra|sd3}  multipart/form-data: prompt, output_format, aspect_ratio, ...
//     Accept: application/json -> {image: <base64>, finish_reason: SUCCESS|CONTENT_FILTERED, seed}
//     Accept: image/*          -> the bytes, with finish-reason and seed headers
// Errors are Stability's shape {id, name, errors:[...]}. It sends no rate-limit headers (neither does Stability).
// Images are real PNGs (one solid colour) at Stable Image Core's size for the aspect ratio (16:9 -> 1344x768).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { solidPng } from './openai-images-server';

export interface FakeRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Multipart fields by name for multipart requests; the raw text otherwise. */
  body: unknown;
}

export type StabilityFailure =
  | 'rate_limit' // 429 rate_limit_exceeded (no Retry-After, like Stability)
  | 'content_filtered' // 200 with finish_reason CONTENT_FILTERED (and a blurred image)
  | 'no_credits' // 402 payment_required
  | 'server_error' // 500 internal_error
  | 'malformed_json' // 200 with a cut-off JSON body
  | 'hang' // never answers
  | 'bad_key'; // 401 unauthorized

export interface StabilityFake {
  url: string;
  requests: FakeRequest[];
  /** The next `times` generation requests (default 1) fail this way. */
  failNext(kind: StabilityFailure, times?: number): void;
  /** Strict sliding window: more than `count` generations within `windowMs` get 429. */
  enforceRateLimit(count: number, windowMs: number): void;
  close(): Promise<void>;
}

/** Stable Image Core output sizes per aspect ratio. */
export const STABILITY_SIZES: Record<string, [number, number]> = {
  '16:9': [1344, 768],
  '1:1': [1024, 1024],
  '21:9': [1536, 640],
  '2:3': [832, 1216],
  '3:2': [1216, 832],
  '4:5': [896, 1088],
  '5:4': [1088, 896],
  '9:16': [768, 1344],
  '9:21': [640, 1536],
};

const ENGINES = new Set(['core', 'ultra', 'sd3']);

// One PNG writer for the image fakes.


function stabilityError(name: string, ...errors: string[]): { id: string; name: string; errors: string[] } {
  return { id: randomUUID().replace(/-/g, ''), name, errors };
}

export async function startStabilityFake(options: { apiKey?: string } = {}): Promise<StabilityFake> {
  const requests: FakeRequest[] = [];
  const failures: { kind: StabilityFailure; remaining: number }[] = [];
  let limit: { count: number; windowMs: number } | undefined;
  let accepted: number[] = [];

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const answerImage = (res: ServerResponse, accept: string, bytes: Buffer, finish: 'SUCCESS' | 'CONTENT_FILTERED'): void => {
    const seed = Math.floor(Math.random() * 4_294_967_294);
    if (/application\/json/i.test(accept)) return json(res, 200, { image: bytes.toString('base64'), finish_reason: finish, seed });
    res.writeHead(200, { 'Content-Type': 'image/png', 'finish-reason': finish, seed: String(seed) });
    res.end(bytes);
  };

  const generate = (res: ServerResponse, engine: string, headers: IncomingHttpHeaders, fields: Record<string, string> | undefined): void => {
    const now = Date.now();
    const accept = headers.accept ?? '';
    const failure = failures[0];
    if (failure) {
      failure.remaining -= 1;
      if (failure.remaining <= 0) failures.shift();
      switch (failure.kind) {
        case 'hang':
          return; // never answers; close() ends the socket
        case 'malformed_json':
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end('{"image": "iVBORw0KGgoAAAANSUhEUgAA');
          return;
        case 'content_filtered':
          return answerImage(res, accept || 'application/json', solidPng(...STABILITY_SIZES['16:9'], [128, 128, 128]), 'CONTENT_FILTERED');
        case 'rate_limit':
          return json(res, 429, stabilityError('rate_limit_exceeded', 'You have exceeded the rate limit of 150 requests within a 10 second period, and have been timed out for 60 seconds.'));
        case 'no_credits':
          return json(res, 402, stabilityError('payment_required', 'You lack sufficient credits to make this request. Please purchase more credits and try again.'));
        case 'server_error':
          return json(res, 500, stabilityError('internal_error', 'An unexpected server error has occurred, please try again later.'));
        case 'bad_key':
          return json(res, 401, stabilityError('unauthorized', 'authorization: invalid or missing API key'));
      }
    }
    const auth = headers.authorization ?? '';
    if (!/^Bearer \S+/.test(auth) || (options.apiKey !== undefined && auth !== `Bearer ${options.apiKey}`)) {
      return json(res, 401, stabilityError('unauthorized', 'authorization: invalid or missing API key'));
    }
    if (!ENGINES.has(engine)) return json(res, 404, stabilityError('not_found', `engine "${engine}" does not exist`));
    if (!fields) return json(res, 400, stabilityError('bad_request', 'content-type: must be multipart/form-data'));
    if (!/application\/json|image\/\*|image\/png/i.test(accept)) {
      return json(res, 400, stabilityError('bad_request', 'accept: must be image/* or application/json'));
    }
    if (!fields.prompt?.trim()) return json(res, 400, stabilityError('bad_request', 'prompt: cannot be empty'));
    const format = fields.output_format ?? 'png';
    if (format !== 'png') return json(res, 400, stabilityError('bad_request', `output_format: this imitation only makes png (got ${format})`));
    const size = STABILITY_SIZES[fields.aspect_ratio ?? '1:1'];
    if (!size) return json(res, 400, stabilityError('bad_request', `aspect_ratio: must be one of ${Object.keys(STABILITY_SIZES).join(', ')}`));

    if (limit) {
      accepted = accepted.filter((t) => t > now - limit!.windowMs);
      if (accepted.length >= limit.count) {
        return json(res, 429, stabilityError('rate_limit_exceeded', `You have exceeded the rate limit of ${limit.count} requests within a ${limit.windowMs / 1000} second period.`));
      }
      accepted.push(now);
    }
    return answerImage(res, accept, solidPng(size[0], size[1], [200, 120, 40]), 'SUCCESS');
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const path = req.url ?? '/';
        const raw = Buffer.concat(chunks);
        const contentType = req.headers['content-type'] ?? '';
        let body: unknown = raw.toString('utf8');
        let fields: Record<string, string> | undefined;
        if (/^multipart\/form-data/i.test(contentType)) {
          try {
            const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
            const strings: Record<string, string> = {};
            form.forEach((value, name) => {
              if (typeof value === 'string') strings[name] = value;
            });
            body = fields = strings;
          } catch {
            fields = undefined;
          }
        }
        requests.push({ at: Date.now(), method: req.method ?? 'GET', path, headers: req.headers, body });
        const m = /^\/v2beta\/stable-image\/generate\/([\w-]+)$/.exec(path.split('?')[0]);
        if (!m) return json(res, 404, stabilityError('not_found', `${req.method} ${path} does not exist`));
        if (req.method !== 'POST') return json(res, 405, stabilityError('method_not_allowed', 'use POST'));
        return generate(res, m[1], req.headers, fields);
      })();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    failNext(kind, times = 1) {
      failures.push({ kind, remaining: Math.max(1, times) });
    },
    enforceRateLimit(count, windowMs) {
      limit = { count, windowMs: Math.max(1, windowMs) };
      accepted = [];
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
