// Sending to incoming-webhook URLs (Slack, Discord, generic webhooks). The URL is the credential: it never appears in
// an error message, a preview or a log line. Errors name the destination as "slack webhook" and so on.
import type { Platform } from '../../domain/types';
import { PermanentError, RateLimitedError, TransientError } from '../errors';
import { REDACTED } from './common';
import type { PublishInput } from './types';

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Used when a 429 carries no hint at all. */
const DEFAULT_RETRY_AFTER_MS = 60_000;

/** The webhook URL from the decrypted credentials, checked; throws PermanentError (without the URL) otherwise. */
export function webhookUrlFrom(platform: Platform, label: string, input: PublishInput): URL {
  const raw = input.credentials?.url;
  if (typeof raw !== 'string' || raw.trim() === '') {
    throw new PermanentError(platform, `no ${label} URL: the account's credentials need a "url"`);
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new PermanentError(platform, `the ${label} URL in the account's credentials is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new PermanentError(platform, `the ${label} URL must use https (or http)`);
  }
  return url;
}

/**
 * The webhook URL as it may be shown: scheme and host only, everything after it redacted
 * ("https://hooks.slack.com/[redacted]"). A missing URL gives a placeholder, an invalid one only "[redacted]".
 */
export function redactWebhookUrl(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') return '{{credentials.url}}';
  try {
    const url = new URL(raw.trim());
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return REDACTED;
    return `${url.protocol}//${url.host}/${REDACTED}`;
  } catch {
    return REDACTED;
  }
}

export interface WebhookResponse {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * POSTs JSON to a webhook URL and returns the 2xx response. Failures become typed provider errors:
 * 429 -> RateLimitedError (Discord's body `retry_after` seconds, else Retry-After, else X-RateLimit-Reset-After),
 * 408, 5xx, timeouts and network errors -> TransientError, other statuses -> PermanentError.
 */
export async function postWebhookJson(
  platform: Platform,
  label: string,
  url: URL,
  headers: Record<string, string>,
  body: unknown,
  timeoutMs: number = DEFAULT_WEBHOOK_TIMEOUT_MS,
): Promise<WebhookResponse> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    // Deliberately no `cause`: undici's errors can carry the request URL.
    if (isTimeout(e)) {
      throw new TransientError(platform, `${label} did not answer within ${formatSeconds(timeoutMs)}`);
    }
    throw new TransientError(platform, `${label} unreachable (${networkCode(e)})`);
  }

  let text = '';
  try {
    text = await res.text();
  } catch (e) {
    if (res.ok) {
      // The request was delivered; only reading the answer failed. Treat as delivered.
      return { status: res.status, headers: res.headers, text: '' };
    }
    if (isTimeout(e)) throw new TransientError(platform, `${label} did not finish answering within ${formatSeconds(timeoutMs)}`, res.status);
  }
  if (res.ok) return { status: res.status, headers: res.headers, text };

  const detail = describeBody(text, url);
  const suffix = detail ? `: ${detail}` : '';
  if (res.status === 429) {
    const retryAfterMs = retryAfterFrom(text, res.headers) ?? DEFAULT_RETRY_AFTER_MS;
    throw new RateLimitedError(platform, `${label} rate limited (429)${suffix}`, retryAfterMs, 429);
  }
  if (res.status === 408 || res.status >= 500) {
    throw new TransientError(platform, `${label} answered HTTP ${res.status}${suffix}`, res.status);
  }
  throw new PermanentError(platform, `${label} answered HTTP ${res.status}${suffix}`, res.status);
}

/** Milliseconds until capacity returns, from a 429 body or headers; undefined when nothing says. */
export function retryAfterFrom(text: string, headers: Headers, now: number = Date.now()): number | undefined {
  const json = parseJson(text);
  if (json && typeof json === 'object') {
    const ra = (json as Record<string, unknown>).retry_after;
    const seconds = typeof ra === 'number' ? ra : typeof ra === 'string' ? Number(ra) : NaN;
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  }
  const header = headers.get('retry-after');
  if (header) {
    const seconds = Number(header.trim());
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const resetAfter = Number(headers.get('x-ratelimit-reset-after') ?? NaN);
  if (Number.isFinite(resetAfter) && resetAfter >= 0) return Math.ceil(resetAfter * 1000);
  return undefined;
}

export function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A short, URL-free description of an error body: Discord's `message` (and code), else the text itself. */
function describeBody(text: string, url: URL): string {
  let detail = text.trim();
  const json = parseJson(detail);
  if (json && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    const message = typeof o.message === 'string' ? o.message : typeof o.error === 'string' ? o.error : undefined;
    if (message) detail = typeof o.code === 'number' || typeof o.code === 'string' ? `${message} (code ${o.code})` : message;
  } else if (/^\s*</.test(detail)) {
    detail = ''; // an HTML error page says nothing useful
  }
  detail = scrub(detail.replace(/\s+/g, ' '), url);
  return detail.length > 200 ? `${detail.slice(0, 200)}...` : detail;
}

/** Removes the URL (and its secret path) from text that might echo it. */
function scrub(text: string, url: URL): string {
  let out = text;
  const secrets = [url.href, decodeSafe(url.href), url.pathname + url.search, url.pathname];
  for (const s of secrets) {
    if (s.length >= 8) out = out.split(s).join(REDACTED);
  }
  return out;
}

function decodeSafe(s: string): string {
  try {
    return decodeURI(s);
  } catch {
    return s;
  }
}

function isTimeout(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function networkCode(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; name?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.name === 'string') return cause.name;
  return 'network error';
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
