// HTTP plumbing shared by the image sources (OpenAI images, Stability, Unsplash, Pexels): one plain fetch per call
// (Temporal owns retries), a per-request timeout joined with the caller's abort signal, rate headers handed to
// ctx.report on every response, and image sizes read from the bytes rather than trusted from an API.
import { PermanentError, RateLimitedError, TransientError } from '../errors';
import type { CallContext, RateInfo, RateWindowInfo } from '../rate-info';
import type { ImageRequest } from './types';

/** Largest answer read into memory: a base64 1536x1024 PNG is about 4 MB, a large stock JPEG a few MB. */
export const MAX_RESPONSE_BYTES = 40 * 1024 * 1024;

export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: Buffer;
}

export interface SendOptions {
  /** Provider name, used for errors. */
  provider: string;
  /** What is being called, for messages ("search", "image download"). Never includes a key or a URL. */
  what: string;
  timeoutMs: number;
  ctx?: CallContext;
  /** Parses this provider's rate headers; called on every response, errors included. */
  rateInfo?: (headers: Headers, now: number) => RateInfo | undefined;
}

/**
 * Sends one request and reads the whole answer, whatever its status (callers classify). Network failures, the
 * timeout and the caller's abort become TransientError; nothing here retries.
 */
export async function send(url: string, init: { method: string; headers?: Record<string, string>; body?: string | FormData }, opts: SendOptions): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.ctx?.signal ? AbortSignal.any([timeout, opts.ctx.signal]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { method: init.method, headers: init.headers, body: init.body, signal });
  } catch (e) {
    throw networkFailure(e, opts);
  }
  const now = Date.now();
  const info = opts.rateInfo?.(res.headers, now);
  if (info && info.windows.length > 0) opts.ctx?.report?.(info);

  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > MAX_RESPONSE_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw new PermanentError(opts.provider, `${opts.what} answer too large (${declared} bytes)`, res.status);
  }
  let body: Buffer;
  try {
    body = Buffer.from(await res.arrayBuffer());
  } catch (e) {
    throw networkFailure(e, opts, res.status);
  }
  if (body.length > MAX_RESPONSE_BYTES) {
    throw new PermanentError(opts.provider, `${opts.what} answer too large (${body.length} bytes)`, res.status);
  }
  return { status: res.status, headers: res.headers, body };
}

function networkFailure(e: unknown, opts: SendOptions, status?: number): TransientError {
  // Deliberately no `cause`: undici's errors can carry the request URL, and some URLs carry keys.
  if (opts.ctx?.signal?.aborted) return new TransientError(opts.provider, `${opts.what} cancelled`, status);
  const name = (e as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new TransientError(opts.provider, `${opts.what} did not answer within ${formatMs(opts.timeoutMs)}`, status);
  }
  const cause = (e as { cause?: { code?: unknown; name?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : typeof cause?.name === 'string' ? cause.name : 'network error';
  return new TransientError(opts.provider, `${opts.what} failed (${code})`, status);
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The answer's JSON; a 2xx answer that does not parse is a provider glitch (TransientError). */
export function readJson(answer: HttpAnswer, provider: string, what: string): unknown {
  try {
    return JSON.parse(answer.body.toString('utf8'));
  } catch {
    throw new TransientError(provider, `${what} answered malformed JSON (HTTP ${answer.status})`, answer.status);
  }
}

export function parseJsonSafe(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A short description of an error body: `error.message`, a top-level `message`, `errors[]`, or the text itself
 * (HTML pages say nothing useful). At most 200 characters.
 */
export function errorDetail(body: Buffer | string): string {
  const text = (typeof body === 'string' ? body : body.toString('utf8')).trim();
  const json = parseJsonSafe(text);
  let detail = text;
  if (isObject(json)) {
    const err = isObject(json.error) ? json.error : json;
    const parts: string[] = [];
    if (typeof err.message === 'string') parts.push(err.message);
    else if (typeof json.error === 'string') parts.push(json.error);
    if (Array.isArray(json.errors)) parts.push(...json.errors.filter((x): x is string => typeof x === 'string'));
    const code = typeof err.code === 'string' ? err.code : typeof err.type === 'string' ? err.type : typeof json.name === 'string' ? json.name : undefined;
    detail = parts.join('; ');
    if (code) detail = detail ? `${detail} (${code})` : code;
  } else if (/^</.test(text)) {
    detail = '';
  }
  detail = detail.replace(/\s+/g, ' ').trim();
  return detail.length > 200 ? `${detail.slice(0, 200)}...` : detail;
}

export function withDetail(message: string, body: Buffer | string): string {
  const detail = errorDetail(body);
  return detail ? `${message}: ${detail}` : message;
}

/** Milliseconds from `retry-after-ms`, or `retry-after` (seconds or an HTTP date); undefined when neither says. */
export function retryAfterMs(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const header = headers.get('retry-after')?.trim();
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  return undefined;
}

/** A rate window with only the fields that are known. */
export function rateWindow(kind: RateWindowInfo['kind'], fields: { limit?: number; remaining?: number; resetAt?: number }): RateWindowInfo {
  const window: RateWindowInfo = { kind };
  if (fields.limit !== undefined) window.limit = fields.limit;
  if (fields.remaining !== undefined) window.remaining = fields.remaining;
  if (fields.resetAt !== undefined) window.resetAt = fields.resetAt;
  return window;
}

/** A non-negative integer header, or undefined. */
export function headerInt(headers: Headers, name: string): number | undefined {
  const raw = headers.get(name)?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
}

const GO_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration such as `1s`, `6m0s`, `12ms`, `1h2m3.5s` in milliseconds; undefined when it is not one. */
export function parseGoDuration(text: string | null | undefined): number | undefined {
  const s = text?.trim();
  if (!s) return undefined;
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * GO_UNITS[m[2]];
    consumed = re.lastIndex;
  }
  return consumed === s.length && consumed > 0 ? total : undefined;
}

// ---------------------------------------------------------------------------------------------
// Images

export interface ImageInfo {
  contentType: string;
  width: number;
  height: number;
}

/** Type and size from the image's own header: PNG IHDR, JPEG SOFn, GIF screen descriptor, WebP VP8/VP8L/VP8X. */
export function imageInfo(bytes: Buffer): ImageInfo | undefined {
  if (bytes.length >= 24 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a && bytes.toString('latin1', 12, 16) === 'IHDR') {
    return sized('image/png', bytes.readUInt32BE(16), bytes.readUInt32BE(20));
  }
  if (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8) return jpegInfo(bytes);
  if (bytes.length >= 10 && /^GIF8[79]a$/.test(bytes.toString('latin1', 0, 6))) {
    return sized('image/gif', bytes.readUInt16LE(6), bytes.readUInt16LE(8));
  }
  if (bytes.length >= 30 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') {
    const chunk = bytes.toString('latin1', 12, 16);
    if (chunk === 'VP8 ' && bytes[23] === 0x9d && bytes[24] === 0x01 && bytes[25] === 0x2a) {
      return sized('image/webp', bytes.readUInt16LE(26) & 0x3fff, bytes.readUInt16LE(28) & 0x3fff);
    }
    if (chunk === 'VP8L' && bytes[20] === 0x2f) {
      const b = bytes.readUInt32LE(21);
      return sized('image/webp', (b & 0x3fff) + 1, ((b >> 14) & 0x3fff) + 1);
    }
    if (chunk === 'VP8X') return sized('image/webp', bytes.readUIntLE(24, 3) + 1, bytes.readUIntLE(27, 3) + 1);
  }
  return undefined;
}

function sized(contentType: string, width: number, height: number): ImageInfo | undefined {
  return width > 0 && height > 0 ? { contentType, width, height } : undefined;
}

function jpegInfo(bytes: Buffer): ImageInfo | undefined {
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1];
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // end of image, or scan data before any frame header
    const length = bytes.readUInt16BE(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 > bytes.length) return undefined;
      return sized('image/jpeg', bytes.readUInt16BE(i + 7), bytes.readUInt16BE(i + 5));
    }
    i += 2 + length;
  }
  return undefined;
}

/** Checks that bytes are an image whose size can be read; a PermanentError otherwise. */
export function asImage(provider: string, what: string, bytes: Buffer): ImageInfo {
  const info = imageInfo(bytes);
  if (!info) throw new PermanentError(provider, `${what} is not a PNG, JPEG, GIF or WebP image (${bytes.length} bytes)`);
  return info;
}

export interface DownloadedImage extends ImageInfo {
  bytes: Buffer;
}

/**
 * GETs image bytes (a CDN or a signed URL: no API credentials unless given). 429 -> RateLimitedError,
 * 408/5xx -> TransientError, other failures -> PermanentError.
 */
export async function downloadImage(url: string, opts: { provider: string; timeoutMs: number; ctx?: CallContext; headers?: Record<string, string> }): Promise<DownloadedImage> {
  const what = 'image download';
  const answer = await send(
    url,
    { method: 'GET', headers: { Accept: 'image/png,image/jpeg,image/webp;q=0.9,image/gif;q=0.8', ...opts.headers } },
    { provider: opts.provider, what, timeoutMs: opts.timeoutMs, ctx: opts.ctx },
  );
  if (answer.status < 200 || answer.status >= 300) {
    const message = `${what} answered HTTP ${answer.status}`;
    if (answer.status === 429) throw new RateLimitedError(opts.provider, message, retryAfterMs(answer.headers) ?? 60_000, 429);
    if (answer.status === 408 || answer.status >= 500) throw new TransientError(opts.provider, message, answer.status);
    throw new PermanentError(opts.provider, message, answer.status);
  }
  return { bytes: answer.body, ...asImage(opts.provider, 'the downloaded file', answer.body) };
}

// ---------------------------------------------------------------------------------------------
// Prompts and queries

/** What generators are asked for: the piece's title and topic, the style, and no lettering. */
export function illustrationPrompt(req: ImageRequest): string {
  const title = clip(req.title, 300);
  const topic = clip(req.topic, 600);
  const parts = [`An illustration for a social media post titled "${title}"`];
  if (topic && topic.toLowerCase() !== title.toLowerCase()) parts[0] += `, about ${topic}`;
  parts[0] += '.';
  if (req.style?.trim()) parts.push(`Style: ${clip(req.style, 300)}.`);
  parts.push('No text in the image: no words, letters, captions or logos.');
  return parts.join(' ');
}

/** The stock-search query: the title plus the keywords (hashtags without '#'), at most ~100 characters. */
export function stockQuery(req: ImageRequest, maxLength = 100): string {
  const words: string[] = [];
  const seen = new Set<string>();
  const add = (text: string): void => {
    for (const w of text.split(/\s+/)) {
      const word = w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
      if (!word || seen.has(word.toLowerCase())) continue;
      seen.add(word.toLowerCase());
      words.push(word);
    }
  };
  add(req.title);
  for (const k of req.keywords) add(k.replace(/^#+/, '').replace(/[_-]+/g, ' '));
  if (words.length === 0) add(req.topic);
  let query = '';
  for (const word of words) {
    const next = query ? `${query} ${word}` : word;
    if (next.length > maxLength) break;
    query = next;
  }
  return query || (words[0] ?? '').slice(0, maxLength);
}

/** Alt text for a generated illustration. */
export function illustrationAlt(title: string): string {
  return `Illustration: ${title.trim()}`;
}

function clip(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1).trimEnd()}…` : t;
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
