// HTTP plumbing shared by the social publishers (X, LinkedIn, Mastodon, Bluesky) and their token refreshers: one plain
// fetch per call (Temporal owns retries), a timeout joined with the caller's signal, rate headers reported on every
// answer, image bytes fetched from their public URL, progress kept and announced after every accepted step, and error
// text scrubbed of every secret. Nothing here retries.
import type { Platform } from '../../domain/types';
import { PermanentError, TransientError } from '../errors';
import type { RateInfo, RateWindowInfo } from '../rate-info';
import { REDACTED } from './common';
import type { PreparedRequest, PublishContext, PublishInput, PublishProgress } from './types';

export const DEFAULT_SOCIAL_TIMEOUT_MS = 30_000;
/** Used when a 429 says nothing about when to come back. */
export const DEFAULT_RETRY_AFTER_MS = 60_000;
/** Largest image fetched for an upload (X and Bluesky accept far less; the platform refuses what it does not take). */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

export interface SocialReply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when it is empty or not JSON. */
  json: unknown;
}

export interface SocialCallOptions {
  provider: Platform;
  /** What is being done, for messages ("post 2 of 3"). Never a URL or a token. */
  what: string;
  timeoutMs: number;
  signal?: AbortSignal;
  report?(info: RateInfo): void;
  /** Parses this platform's rate headers; called on every answer, errors included. */
  rateInfo?(headers: Headers, now: number): RateInfo | undefined;
}

/** What goes on the wire: a JSON body is sent as JSON, bytes and forms as they are. */
export type WireBody = string | Buffer | FormData | undefined;

/**
 * Sends one request and returns whatever the server answered, any status. Throws only when there is no answer: a
 * timeout or a dropped connection becomes a TransientError (the outcome of a write is then unknown); the caller's
 * own abort is rethrown as its reason when that is an Error.
 */
export async function socialFetch(url: string, init: { method: string; headers: Record<string, string>; body?: WireBody }, opts: SocialCallOptions): Promise<SocialReply> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { method: init.method, headers: init.headers, body: init.body as RequestInit["body"], signal });
    text = await res.text();
  } catch (e) {
    throw noAnswer(e, opts, timeout);
  }
  const info = opts.rateInfo?.(res.headers, Date.now());
  if (info && info.windows.length > 0) opts.report?.(info);
  return { status: res.status, headers: res.headers, text, json: parseJson(text) };
}

function noAnswer(e: unknown, opts: SocialCallOptions, timeout: AbortSignal): unknown {
  if (opts.signal?.aborted) {
    const reason: unknown = opts.signal.reason;
    if (reason instanceof Error) return reason;
    return new TransientError(opts.provider, `${opts.what}: cancelled by the caller`);
  }
  // Deliberately no `cause`: undici's errors can carry request details.
  if (timeout.aborted) return new TransientError(opts.provider, `${opts.what}: no answer within ${formatMs(opts.timeoutMs)} (timeout; the outcome is unknown)`);
  return new TransientError(opts.provider, `${opts.what}: connection failed or dropped (${networkCode(e)}; the outcome is unknown)`);
}

/** The wire form of a prepared request's JSON body. */
export function jsonWire(req: PreparedRequest): { method: string; headers: Record<string, string>; body: string } {
  return { method: req.method, headers: req.headers, body: JSON.stringify(req.body) };
}

export function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A string field of an object, or undefined. */
export function str(o: unknown, key: string): string | undefined {
  if (!isObject(o)) return undefined;
  const v = o[key];
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Secrets

/** Every string value of the credentials (tokens, passwords), to scrub from any text that might echo one. */
export function secretsOf(credentials: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  for (const v of Object.values(credentials ?? {})) if (typeof v === 'string' && v.length >= 6) out.push(v);
  return out;
}

/** Removes secrets and anything shaped like a bearer token or a JWT. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 6) out = out.split(s).join(REDACTED);
  out = out.replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, `Bearer ${REDACTED}`);
  out = out.replace(/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, REDACTED);
  return out;
}

/** A short, scrubbed description of an error body (at most 200 characters). */
export function describe(reply: SocialReply, secrets: readonly string[]): string {
  let detail = '';
  const j = reply.json;
  if (isObject(j)) {
    const parts: string[] = [];
    const take = (v: unknown) => {
      if (typeof v === 'string' && v.trim() && !parts.includes(v.trim())) parts.push(v.trim());
    };
    take(j.error);
    take(j.detail);
    take(j.message);
    take(j.error_description);
    if (parts.length === 0) take(j.title);
    if (Array.isArray(j.errors)) for (const e of j.errors.slice(0, 2)) take(isObject(e) ? (e.message ?? e.detail) : e);
    if (isObject(j.error)) take(j.error.message);
    detail = parts.join('; ');
  } else if (!/^\s*</.test(reply.text)) {
    detail = reply.text.trim();
  }
  detail = scrub(detail.replace(/\s+/g, ' '), secrets);
  return detail.length > 200 ? `${detail.slice(0, 200)}...` : detail;
}

export function withDetail(message: string, reply: SocialReply, secrets: readonly string[]): string {
  const detail = describe(reply, secrets);
  return detail ? `${message}: ${detail}` : message;
}

// ---------------------------------------------------------------------------------------------
// Credentials and settings

/** A credential by any of its accepted names; PermanentError (naming the field, never a value) when missing. */
export function requireCredential(input: PublishInput, provider: Platform, ...names: string[]): string {
  const value = optionalCredential(input.credentials, ...names);
  if (!value) throw new PermanentError(provider, `the account's credentials need "${names[0]}" to publish`);
  return value;
}

export function optionalCredential(credentials: Record<string, unknown> | undefined, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = credentials?.[name];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Rate headers and Retry-After

export function headerNumber(headers: Headers, name: string): number | undefined {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === '') return undefined;
  const n = Number(raw.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** A rate window from three headers; `reset` parses the reset header into epoch ms. */
export function windowFrom(
  headers: Headers,
  names: { limit: string; remaining: string; reset: string },
  reset: (raw: string) => number | undefined,
): RateWindowInfo | undefined {
  const limit = headerNumber(headers, names.limit);
  const remaining = headerNumber(headers, names.remaining);
  const rawReset = headers.get(names.reset);
  const resetAt = rawReset ? reset(rawReset.trim()) : undefined;
  if (limit === undefined && remaining === undefined && resetAt === undefined) return undefined;
  const w: RateWindowInfo = { kind: 'requests' };
  if (limit !== undefined) w.limit = limit;
  if (remaining !== undefined) w.remaining = remaining;
  if (resetAt !== undefined) w.resetAt = resetAt;
  return w;
}

export function epochSeconds(raw: string): number | undefined {
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
}

export function isoTime(raw: string): number | undefined {
  const t = Date.parse(raw);
  return Number.isFinite(t) ? t : undefined;
}

/** Milliseconds from `Retry-After` (seconds or an HTTP date); undefined when absent. */
export function retryAfterHeaderMs(headers: Headers, now: number = Date.now()): number | undefined {
  const raw = headers.get('retry-after')?.trim();
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** ms until an epoch-ms instant, at least 1 s (a reset "now" still means wait a moment). */
export function untilMs(resetAt: number | undefined, now: number = Date.now()): number | undefined {
  if (resetAt === undefined) return undefined;
  return Math.max(1000, resetAt - now);
}

// ---------------------------------------------------------------------------------------------
// Image bytes

export interface FetchedImage {
  bytes: Buffer;
  contentType: string;
}

/** The bytes of an image at its public URL. 4xx -> PermanentError, 5xx and network failures -> TransientError. */
export async function fetchImage(
  provider: Platform,
  image: PublishInput['images'][number],
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<FetchedImage> {
  const what = `image ${image.id}`;
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  let bytes: Buffer;
  try {
    res = await fetch(image.url, { method: 'GET', signal });
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > MAX_IMAGE_BYTES) {
      await res.body?.cancel().catch(() => undefined);
      throw new PermanentError(provider, `${what} is too large to upload (${declared} bytes)`);
    }
    bytes = Buffer.from(await res.arrayBuffer());
  } catch (e) {
    if (e instanceof PermanentError) throw e;
    throw noAnswer(e, { provider, what: `fetching ${what}`, timeoutMs: opts.timeoutMs, signal: opts.signal }, timeout);
  }
  if (res.status >= 500 || res.status === 408 || res.status === 429) {
    throw new TransientError(provider, `fetching ${what} answered HTTP ${res.status}`, res.status);
  }
  if (res.status < 200 || res.status >= 300) throw new PermanentError(provider, `fetching ${what} answered HTTP ${res.status}`, res.status);
  if (bytes.length > MAX_IMAGE_BYTES) throw new PermanentError(provider, `${what} is too large to upload (${bytes.length} bytes)`);
  if (bytes.length === 0) throw new PermanentError(provider, `${what} is empty`);
  const header = res.headers.get('content-type')?.split(';')[0]?.trim();
  const contentType = image.contentType || (header && header.startsWith('image/') ? header : 'application/octet-stream');
  return { bytes, contentType };
}

// ---------------------------------------------------------------------------------------------
// Progress

export type PartProgress = PublishProgress['parts'][number];

/**
 * The accumulated progress of one publication: what earlier attempts achieved (ctx.progress) plus what this attempt
 * adds. Every addition is announced to ctx.onProgress at once, before the next request goes out.
 */
export class ProgressTracker {
  private readonly parts = new Map<number, PartProgress>();
  private readonly media: Record<string, string>;
  private readonly container: PublishProgress['container'];

  constructor(private readonly ctx: PublishContext = {}) {
    for (const p of ctx.progress?.parts ?? []) this.parts.set(p.index, { ...p, extra: p.extra ? { ...p.extra } : undefined });
    this.media = { ...(ctx.progress?.media ?? {}) };
    this.container = ctx.progress?.container ? { ...ctx.progress.container } : undefined;
  }

  part(index: number): PartProgress | undefined {
    return this.parts.get(index);
  }

  mediaOf(imageId: string): string | undefined {
    return this.media[imageId];
  }

  addPart(part: PartProgress): void {
    this.parts.set(part.index, part);
    this.announce();
  }

  addMedia(imageId: string, value: string): void {
    this.media[imageId] = value;
    this.announce();
  }

  snapshot(): PublishProgress {
    const out: PublishProgress = {
      parts: [...this.parts.values()]
        .sort((a, b) => a.index - b.index)
        .map((p) => {
          const copy: PartProgress = { index: p.index, id: p.id, url: p.url };
          if (p.extra) copy.extra = { ...p.extra };
          return copy;
        }),
    };
    if (Object.keys(this.media).length > 0) out.media = { ...this.media };
    if (this.container) out.container = { ...this.container };
    return out;
  }

  private announce(): void {
    this.ctx.onProgress?.(this.snapshot());
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export const FORM_HEADERS = { 'Content-Type': 'application/x-www-form-urlencoded' } as const;

/** Headers for a multipart body: fetch sets the Content-Type with its boundary itself. */
export function withoutContentType(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'content-type') out[k] = v;
  return out;
}

/** A Blob for FormData from bytes. */
export function blobOf(bytes: Buffer, contentType: string): Blob {
  return new Blob([new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)], { type: contentType });
}

export function fileNameFor(imageId: string, contentType: string): string {
  const ext = contentType.split('/')[1]?.replace(/[^a-z0-9]/gi, '') || 'bin';
  return `${imageId.replace(/[^A-Za-z0-9._-]/g, '_') || 'image'}.${ext === 'jpeg' ? 'jpg' : ext}`;
}

function networkCode(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; name?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.name === 'string') return cause.name;
  const name = (e as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : 'network error';
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The Authorization header for a bearer token. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}
