// An imitation of OpenAI's image generation endpoint, over real HTTP on 127.0.0.1.
//   POST /v1/images/generations {model, prompt, size, n, response_format?}
//     -> {created, data:[{b64_json}]} (gpt-image models; dall-e models give data[0].url unless response_format=b64_json)
//   GET  /files/<name>.png -> the PNG bytes behind a data[0].url (no auth, like a signed URL)
// Every generations answer carries x-ratelimit-{limit,remaining,reset}-{requests,tokens} (resets as Go durations).
// Images are real PNGs of the requested size (one solid colour), so adapters can read their true dimensions.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync } from 'node:zlib';

export interface FakeRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export type OpenAIImagesFailure =
  | 'rate_limit' // 429 rate_limit_exceeded with retry-after-ms 2000 / retry-after 2
  | 'insufficient_quota' // 429 insufficient_quota (billing)
  | 'content_policy' // 400 content_policy_violation
  | 'server_error' // 500 server_error
  | 'malformed_json' // 200 with a cut-off JSON body
  | 'hang' // never answers
  | 'bad_key'; // 401 invalid_api_key

export interface OpenAIImagesFake {
  /** Base URL such as http://127.0.0.1:40123 (pass as baseUrl). */
  url: string;
  /** Every request received, in order, the image downloads included. */
  requests: FakeRequest[];
  /** The next `times` generation requests (default 1) fail this way. */
  failNext(kind: OpenAIImagesFailure, times?: number): void;
  /** Strict sliding window: more than `count` generations within `windowMs` get 429 rate_limit_exceeded. */
  enforceRateLimit(count: number, windowMs: number): void;
  /** Answer with data[0].url (pointing back at this server) instead of b64_json, whatever the model. */
  respondWithUrl(on?: boolean): void;
  close(): Promise<void>;
}

const RATE_LIMIT_RETRY_MS = 2000;
const TOKENS_PER_IMAGE = 1056; // gpt-image-1 output tokens for one low-quality landscape image, roughly
const DEFAULT_WINDOW = { count: 50, windowMs: 60_000, enforced: false };

const ERROR_BODIES: Record<Exclude<OpenAIImagesFailure, 'malformed_json' | 'hang'>, { status: number; body: unknown }> = {
  rate_limit: {
    status: 429,
    body: {
      error: {
        message: 'Rate limit reached for gpt-image-1 in organization org-fake on requests per min (RPM): Limit 5, Used 5, Requested 1. Please try again in 2s.',
        type: 'requests',
        param: null,
        code: 'rate_limit_exceeded',
      },
    },
  },
  insufficient_quota: {
    status: 429,
    body: {
      error: {
        message: 'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
        type: 'insufficient_quota',
        param: null,
        code: 'insufficient_quota',
      },
    },
  },
  content_policy: {
    status: 400,
    body: {
      error: {
        message: 'Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.',
        type: 'image_generation_user_error',
        param: null,
        code: 'content_policy_violation',
      },
    },
  },
  server_error: {
    status: 500,
    body: { error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } },
  },
  bad_key: {
    status: 401,
    body: {
      error: {
        message: 'Incorrect API key provided: sk-fake****. You can find your API key at https://platform.openai.com/account/api-keys.',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    },
  },
};

const pngCache = new Map<string, Buffer>();

/**
 * A real PNG of one colour (cached per size), written with node:zlib: pngjs filters rows in JavaScript, which takes
 * seconds for a 1536x1024 image inside Jest's VM.
 */
export function solidPng(width: number, height: number, rgb: readonly number[] = [40, 90, 160]): Buffer {
  const key = `${width}x${height}:${rgb.join(',')}`;
  let bytes = pngCache.get(key);
  if (!bytes) {
    const row = Buffer.alloc(1 + width * 3); // filter byte 0, then RGB
    row.fill(Buffer.from(rgb.slice(0, 3)), 1);
    const raw = Buffer.alloc(row.length * height);
    for (let y = 0; y < height; y++) row.copy(raw, y * row.length);
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(width, 0);
    ihdr.writeUInt32BE(height, 4);
    ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method extras, no interlace
    bytes = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      pngChunk('IHDR', ihdr),
      pngChunk('IDAT', deflateSync(raw, { level: 9 })),
      pngChunk('IEND', Buffer.alloc(0)),
    ]);
    pngCache.set(key, bytes);
  }
  return bytes;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

let crcTable: Uint32Array | undefined;
function crc32(buf: Buffer): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Go's time.Duration.String() for whole milliseconds: 120ms, 1.5s, 6m0s, 1h0m0s. */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = (total % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${Number(s.toFixed(3))}s`;
}

export async function startOpenAIImagesFake(options: { apiKey?: string } = {}): Promise<OpenAIImagesFake> {
  const requests: FakeRequest[] = [];
  const failures: { kind: OpenAIImagesFailure; remaining: number }[] = [];
  let window = { ...DEFAULT_WINDOW };
  let accepted: number[] = [];
  let useUrls = false;
  let nextFile = 1;
  const files = new Map<string, Buffer>();
  let url = '';

  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };

  /** Headers describing the sliding window as it stands (after any request just accepted). */
  const rateHeaders = (now: number): Record<string, string> => {
    accepted = accepted.filter((t) => t > now - window.windowMs);
    const remaining = Math.max(0, window.count - accepted.length);
    const resetMs = accepted.length ? accepted[0] + window.windowMs - now : 0;
    const tokenLimit = 100_000;
    return {
      'x-ratelimit-limit-requests': String(window.count),
      'x-ratelimit-remaining-requests': String(remaining),
      'x-ratelimit-reset-requests': goDuration(resetMs),
      'x-ratelimit-limit-tokens': String(tokenLimit),
      'x-ratelimit-remaining-tokens': String(Math.max(0, tokenLimit - accepted.length * TOKENS_PER_IMAGE)),
      'x-ratelimit-reset-tokens': goDuration(resetMs),
    };
  };

  const generate = (res: ServerResponse, headers: IncomingHttpHeaders, body: unknown): void => {
    const now = Date.now();
    const auth = headers.authorization ?? '';
    const failure = failures[0];
    if (failure) {
      failure.remaining -= 1;
      if (failure.remaining <= 0) failures.shift();
      if (failure.kind === 'hang') return; // never answers; close() ends the socket
      if (failure.kind === 'malformed_json') {
        accepted.push(now);
        res.writeHead(200, { 'Content-Type': 'application/json', ...rateHeaders(now) });
        res.end('{"created": 1700000000, "data": [{"b64_json": "iVBORw0KGgoAAAANSUhEUgAA');
        return;
      }
      const { status, body: errBody } = ERROR_BODIES[failure.kind];
      const extra: Record<string, string> = failure.kind === 'rate_limit' ? { 'retry-after-ms': String(RATE_LIMIT_RETRY_MS), 'retry-after': String(RATE_LIMIT_RETRY_MS / 1000) } : {};
      return json(res, status, errBody, failure.kind === 'bad_key' ? {} : { ...rateHeaders(now), ...extra });
    }
    if (!/^Bearer \S+/.test(auth) || (options.apiKey !== undefined && auth !== `Bearer ${options.apiKey}`)) {
      return json(res, 401, ERROR_BODIES.bad_key.body);
    }
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const invalid = (message: string, param: string | null): void =>
      json(res, 400, { error: { message, type: 'invalid_request_error', param, code: null } }, rateHeaders(now));
    if (typeof b.prompt !== 'string' || b.prompt.trim() === '') return invalid("Missing required parameter: 'prompt'.", 'prompt');
    const model = typeof b.model === 'string' ? b.model : 'dall-e-2';
    const isDallE = model.startsWith('dall-e');
    if (!isDallE && b.response_format !== undefined) return invalid("Unknown parameter: 'response_format'.", 'response_format');
    const size = typeof b.size === 'string' ? b.size : isDallE ? '1024x1024' : 'auto';
    const m = /^(\d+)x(\d+)$/.exec(size);
    if (!m && size !== 'auto') return invalid(`Invalid value: '${size}'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'.`, 'size');
    const [width, height] = m ? [Number(m[1]), Number(m[2])] : [1024, 1024];

    accepted = accepted.filter((t) => t > now - window.windowMs);
    if (window.enforced && accepted.length >= window.count) {
      const waitMs = accepted[0] + window.windowMs - now;
      return json(
        res,
        429,
        {
          error: {
            message: `Rate limit reached for ${model} in organization org-fake on requests per min (RPM): Limit ${window.count}, Used ${accepted.length}, Requested 1. Please try again in ${goDuration(waitMs)}.`,
            type: 'requests',
            param: null,
            code: 'rate_limit_exceeded',
          },
        },
        { ...rateHeaders(now), 'retry-after-ms': String(waitMs), 'retry-after': String(Math.ceil(waitMs / 1000)) },
      );
    }
    accepted.push(now);
    const png = solidPng(width, height);
    const asUrl = useUrls || (isDallE && b.response_format !== 'b64_json');
    let item: Record<string, unknown>;
    if (asUrl) {
      const name = `img-${nextFile++}.png`;
      files.set(name, png);
      item = { url: `${url}/files/${name}?se=2099-01-01&sig=fake`, revised_prompt: b.prompt };
    } else {
      item = { b64_json: png.toString('base64') };
    }
    const out: Record<string, unknown> = { created: Math.floor(now / 1000), data: [item] };
    if (!isDallE) out.usage = { total_tokens: 50 + TOKENS_PER_IMAGE, input_tokens: 50, output_tokens: TOKENS_PER_IMAGE, input_tokens_details: { text_tokens: 50, image_tokens: 0 } };
    return json(res, 200, out, rateHeaders(now));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      if (/application\/json/i.test(req.headers['content-type'] ?? '')) {
        try {
          body = JSON.parse(raw);
        } catch {
          body = raw;
        }
      }
      requests.push({ at: Date.now(), method: req.method ?? 'GET', path, headers: req.headers, body });
      const pathname = path.split('?')[0];

      if (pathname === '/v1/images/generations') {
        if (req.method !== 'POST') return json(res, 405, { error: { message: 'Method not allowed', type: 'invalid_request_error', param: null, code: null } });
        return generate(res, req.headers, body);
      }
      const file = /^\/files\/([\w.-]+)$/.exec(pathname);
      if (file && req.method === 'GET') {
        const bytes = files.get(file[1]);
        if (!bytes) {
          res.writeHead(404, { 'Content-Type': 'application/xml' });
          res.end('<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code><Message>The specified blob does not exist.</Message></Error>');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': String(bytes.length) });
        res.end(bytes);
        return;
      }
      return json(res, 404, { error: { message: `Invalid URL (${req.method} ${pathname})`, type: 'invalid_request_error', param: null, code: null } });
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
    enforceRateLimit(count, windowMs) {
      window = { count, windowMs: Math.max(1, windowMs), enforced: true };
      accepted = [];
    },
    respondWithUrl(on = true) {
      useUrls = on;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
