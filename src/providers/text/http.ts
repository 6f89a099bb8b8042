// Plain HTTP for the AI text adapters: one POST, no retries (Temporal owns retries), a timeout, and typed errors for
// what goes wrong below HTTP (timeouts, refused or dropped connections) and for 2xx answers that are not JSON.
// Also the small parsing helpers the three adapters share (Retry-After, Go durations, exhausted windows).
import { TransientError } from '../errors';
import type { CallContext, RateInfo } from '../rate-info';

/** A completion can take a while (an article is thousands of tokens); callers pass less where they know better. */
export const DEFAULT_TEXT_TIMEOUT_MS = 60_000;
/** Used when a 429 carries no hint at all of when to come back. */
export const DEFAULT_RETRY_AFTER_MS = 20_000;

export interface HttpReply {
  status: number;
  headers: Headers;
  /** The whole body as text (read under the same timeout). */
  text: string;
}

export interface PostOptions {
  timeoutMs?: number;
  /** The caller's signal (activity cancellation). */
  signal?: AbortSignal;
}

/**
 * POSTs `body` as JSON and returns whatever the server answered, any status. Throws only when there is no answer:
 * a timeout or a network failure becomes a TransientError; the caller's own abort is rethrown as its reason (so a
 * Temporal activity's CancelledFailure reaches Temporal unchanged), or a TransientError when the reason is not an Error.
 * Error messages name the host, never the headers (they hold the key).
 */
export async function postJson(
  provider: string,
  url: string,
  headers: Record<string, string>,
  body: unknown,
  opts: PostOptions = {},
): Promise<HttpReply> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TEXT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: JSON.stringify(body),
      signal,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  } catch (e) {
    if (opts.signal?.aborted) {
      const reason: unknown = opts.signal.reason;
      if (reason instanceof Error) throw reason;
      throw new TransientError(provider, `request to ${hostOf(url)} was aborted by the caller`);
    }
    if (timeout.aborted) {
      throw new TransientError(provider, `${hostOf(url)} did not answer within ${formatSeconds(timeoutMs)} (timeout)`);
    }
    // Deliberately no `cause`: undici errors can carry request details.
    throw new TransientError(provider, `could not reach ${hostOf(url)} or the connection dropped (${networkCode(e)})`);
  }
}

/**
 * The JSON of a 2xx answer. A body that is not JSON (cut short, an HTML page from a proxy) is a TransientError: the
 * same request may well get a proper answer next time.
 */
export function parseJsonBody(provider: string, reply: HttpReply): unknown {
  try {
    return JSON.parse(reply.text);
  } catch {
    const snippet = reply.text.slice(0, 80).replace(/\s+/g, ' ');
    throw new TransientError(provider, `malformed JSON in the HTTP ${reply.status} answer: ${JSON.stringify(snippet)}`, reply.status);
  }
}

/** The JSON of an error answer, or undefined when it is not JSON (error bodies are only read for detail). */
export function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Tells the caller what the provider said about its limits. A failing reporter never fails the call. */
export function reportRate(ctx: CallContext | undefined, info: RateInfo): void {
  try {
    ctx?.report?.(info);
  } catch {
    // The completion (possibly paid for) matters more than the bookkeeping.
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A finite non-negative number from a header or JSON value, else undefined. */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const n = Number(v.trim());
  return Number.isFinite(n) ? n : undefined;
}

export function trimTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** A provider's message, one line, short enough for a log line and a failure message. */
export function clipMessage(message: string, max = 300): string {
  const one = message.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/**
 * A Go duration as OpenAI sends it ("1s", "6m0s", "12ms", "1h2m3.5s", "2m59.56s") in milliseconds. A bare number is
 * taken as seconds. Undefined when it is neither.
 */
export function parseGoDurationMs(raw: string | null | undefined): number | undefined {
  if (raw == null) return undefined;
  const s = raw.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  if (!/^(\d+(\.\d+)?(ns|us|µs|μs|ms|s|m|h))+$/.test(s)) return undefined;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]];
  return total;
}

/** Retry-After: delay seconds or an HTTP date, in ms from `now`. */
export function parseRetryAfterMs(raw: string | null | undefined, now: number): number | undefined {
  if (raw == null || raw.trim() === '') return undefined;
  const secs = num(raw);
  if (secs !== undefined) return secs * 1000;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * When a window that ran out (remaining 0) fills again, in ms from now: the latest of them, because every exhausted
 * window has to have room. Without an exhausted window, the window of `preferKind` (what the 429 body blamed).
 */
export function exhaustedWindowDelayMs(info: RateInfo, now: number, preferKind?: 'requests' | 'tokens'): number | undefined {
  const withReset = info.windows.filter((w) => w.resetAt !== undefined);
  let candidates = withReset.filter((w) => w.remaining === 0);
  if (!candidates.length && preferKind) candidates = withReset.filter((w) => w.kind === preferKind);
  if (!candidates.length) return undefined;
  return Math.max(...candidates.map((w) => (w.resetAt as number) - now), 0);
}

/** "… Please try again in 1.5s." / "Please retry in 53.163s." in a provider's message, in ms. */
export function delayFromMessageMs(message: string): number | undefined {
  const m = /(?:try again|retry) in ((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)/i.exec(message);
  return m ? parseGoDurationMs(m[1]) : undefined;
}

/** The first defined delay, rounded up to whole ms, never negative; `fallback` when none. */
export function firstDelay(candidates: (number | undefined)[], fallback = DEFAULT_RETRY_AFTER_MS): number {
  const d = candidates.find((c) => c !== undefined && Number.isFinite(c));
  return Math.max(0, Math.ceil(d ?? fallback));
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the provider';
  }
}

function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

function networkCode(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  const message = typeof cause?.message === 'string' ? cause.message : e instanceof Error ? e.message : String(e);
  return code ? `${code}: ${message}` : message;
}
