// The one HTTP client of the provider adapters (text, images, social, Meta, webhooks): one plain fetch per call, never
// a retry (Temporal owns retries); a timeout joined with the caller's signal; the whole answer read under that same
// timeout; rate headers handed to the caller on every answer, errors included; and the shared reading of answers (JSON,
// Retry-After, clipped one-line messages). What a status or a body MEANS is each provider family's own classifier.
import { inProviderSpan } from '../observability/provider-span';
import { PermanentError, TransientError } from './errors';
import type { RateInfo } from './rate-info';

export interface HttpCall {
  /** The provider name every error carries ("openai", "x", "slack"). */
  provider: string;
  /**
   * How messages name this call: a host ("api.openai.com"), a destination ("slack webhook") or a step ("uploading
   * image 1 of 2"). Never a full URL (some carry keys) and never a token.
   */
  what: string;
  timeoutMs: number;
  /** The caller's signal (activity cancellation). */
  signal?: AbortSignal;
  /**
   * Parses this provider's rate headers; called on every answer, errors included. Returning windows (even none)
   * reports them; undefined reports nothing.
   */
  rateInfo?(headers: Headers, now: number): RateInfo | undefined;
  /** Receives what rateInfo returned, when it returned something. A failing reporter never fails the call. */
  report?(info: RateInfo): void;
  /** Larger answers are refused (PermanentError) before or while they are read. */
  maxBytes?: number;
  /**
   * A 2xx whose body could not be read counts as answered (with an empty body): the request was delivered, and a
   * caller with no way to look for its effect (a webhook) must not send it twice.
   */
  bodyOptional?: boolean;
}

export interface HttpRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string | Buffer | FormData;
}

export interface HttpAnswer {
  status: number;
  ok: boolean;
  headers: Headers;
  bytes: Buffer;
  /** The body as UTF-8 text. */
  readonly text: string;
  /** The body as JSON, or undefined when it is empty or not JSON. */
  readonly json: unknown;
  /** What rateInfo parsed from this answer's headers. */
  rate: RateInfo | undefined;
}

/**
 * Sends one request and reads the whole answer, whatever its status (the caller classifies). Throws only when there
 * is no (whole) answer: a timeout or a refused or dropped connection is a TransientError (for a write, the outcome is
 * then unknown); the caller's abort rethrows its reason when that is an Error of its own (a Temporal activity's
 * CancelledFailure reaches Temporal unchanged), otherwise it is a TransientError saying "cancelled".
 */
export function httpRequest(url: string | URL, req: HttpRequest, call: HttpCall): Promise<HttpAnswer> {
  return inProviderSpan({ provider: call.provider, method: req.method, host: hostOf(url, 'unknown') }, () => send(url, req, call));
}

async function send(url: string | URL, req: HttpRequest, call: HttpCall): Promise<HttpAnswer> {
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { method: req.method, headers: req.headers, body: req.body as RequestInit['body'], signal });
  } catch (e) {
    throw noAnswer(e, call, timeout);
  }
  const rate = call.rateInfo?.(res.headers, Date.now());
  if (rate) reportRate(call, rate);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (call.maxBytes !== undefined && Number.isFinite(declared) && declared > call.maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new PermanentError(call.provider, `${call.what}: answer too large (${declared} bytes)`, res.status);
  }
  let bytes: Buffer;
  try {
    bytes = Buffer.from(await res.arrayBuffer());
  } catch (e) {
    if (!(res.ok && call.bodyOptional)) throw noAnswer(e, call, timeout, res.status);
    bytes = Buffer.alloc(0);
  }
  if (call.maxBytes !== undefined && bytes.length > call.maxBytes) {
    throw new PermanentError(call.provider, `${call.what}: answer too large (${bytes.length} bytes)`, res.status);
  }
  // Text and JSON are read on demand: an image's bytes need neither.
  let text: string | undefined;
  let json: { value: unknown } | undefined;
  const textOf = (): string => (text ??= new TextDecoder().decode(bytes));
  return {
    status: res.status,
    ok: res.ok,
    headers: res.headers,
    bytes,
    rate,
    get text() {
      return textOf();
    },
    get json() {
      return (json ??= { value: parseJson(textOf()) }).value;
    },
  };
}

/** The JSON object of a 2xx answer; anything else (cut short, a proxy's HTML page) may pass next time: TransientError. */
export function jsonObject(answer: HttpAnswer, call: Pick<HttpCall, 'provider' | 'what'>): Record<string, unknown> {
  if (isRecord(answer.json)) return answer.json;
  const snippet = answer.text.slice(0, 80).replace(/\s+/g, ' ');
  throw new TransientError(call.provider, `malformed JSON in the HTTP ${answer.status} answer to ${call.what}: ${JSON.stringify(snippet)}`, answer.status);
}

/** JSON, or undefined when the text is empty or not JSON (error bodies are read for detail only). */
export function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A provider's text on one line, short enough for a log line and a failure message. */
export function clip(text: string, max = 300): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/**
 * Milliseconds until capacity returns from `retry-after-ms` or `Retry-After` (delay seconds or an HTTP date);
 * undefined when neither says.
 */
export function retryAfterHeaderMs(headers: Headers, now: number = Date.now()): number | undefined {
  const ms = headerNumber(headers, 'retry-after-ms');
  if (ms !== undefined && ms >= 0) return Math.ceil(ms);
  const raw = headers.get('retry-after')?.trim();
  if (!raw) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** A finite number header, or undefined. */
export function headerNumber(headers: Headers, name: string): number | undefined {
  const raw = headers.get(name);
  if (raw === null || raw.trim() === '') return undefined;
  const n = Number(raw.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** The host of a URL for messages (never its path or query: some carry keys). */
export function hostOf(url: string | URL, fallback = 'the provider'): string {
  try {
    return new URL(url).host;
  } catch {
    return fallback;
  }
}

export function trimTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** "30 s", "300 ms". */
export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** Tells the caller what the provider said about its limits (also from a body). A failing reporter never fails the call. */
export function reportRate(call: Pick<HttpCall, 'report'>, info: RateInfo): void {
  try {
    call.report?.(info);
  } catch {
    // The answer (possibly paid for, possibly a post made) matters more than the bookkeeping.
  }
}

function noAnswer(e: unknown, call: HttpCall, timeout: AbortSignal, status?: number): Error {
  if (call.signal?.aborted) {
    const reason: unknown = call.signal.reason;
    if (reason instanceof Error && reason.name !== 'AbortError') return reason;
    return new TransientError(call.provider, `${call.what}: cancelled by the caller`, status);
  }
  if (timeout.aborted) return new TransientError(call.provider, `${call.what}: no answer within ${formatMs(call.timeoutMs)} (timeout)`, status);
  // Deliberately no `cause`: undici's errors can carry the URL, and some URLs carry keys or tokens.
  return new TransientError(call.provider, `${call.what}: connection failed or dropped (${networkCode(e)})`, status);
}

function networkCode(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; name?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.name === 'string') return cause.name;
  const name = (e as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : 'network error';
}
