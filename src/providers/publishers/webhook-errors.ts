// What incoming-webhook URLs (Slack, Discord, generic webhooks) answer, as typed errors, and the URL kept secret: it is
// the credential, so it never appears in an error message, a preview or a log line (errors name the destination as
// "slack webhook" and so on). The HTTP itself is ../http.ts.
import type { Platform } from '../../domain/types';
import { PermanentError, type ProviderError, RateLimitedError, TransientError } from '../errors';
import { clip, headerNumber, type HttpAnswer, isRecord, parseJson, httpRequest, retryAfterHeaderMs } from '../http';
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

/**
 * POSTs JSON to a webhook URL and returns the 2xx answer (a 2xx whose body could not be read still counts: the message
 * was delivered, and a webhook has no way to look for it before sending again). Failures are typed by
 * classifyWebhookAnswer; the URL never reaches a message.
 */
export async function postWebhookJson(
  platform: Platform,
  label: string,
  url: URL,
  headers: Record<string, string>,
  body: unknown,
  timeoutMs: number = DEFAULT_WEBHOOK_TIMEOUT_MS,
): Promise<HttpAnswer> {
  const answer = await httpRequest(url, { method: 'POST', headers, body: JSON.stringify(body) }, { provider: platform, what: label, timeoutMs, bodyOptional: true });
  if (answer.ok) return answer;
  throw classifyWebhookAnswer(platform, label, url, answer);
}

/**
 * A webhook's error answer as a typed error: 429 -> RateLimitedError (Discord's body `retry_after` seconds, else
 * Retry-After, else X-RateLimit-Reset-After), 408 and 5xx -> TransientError, other statuses -> PermanentError.
 */
export function classifyWebhookAnswer(platform: Platform, label: string, url: URL, answer: HttpAnswer): ProviderError {
  const detail = describeBody(answer.text, url);
  const suffix = detail ? `: ${detail}` : '';
  if (answer.status === 429) {
    const retryAfterMs = retryAfterFrom(answer.text, answer.headers) ?? DEFAULT_RETRY_AFTER_MS;
    return new RateLimitedError(platform, `${label} rate limited (429)${suffix}`, retryAfterMs, 429);
  }
  if (answer.status === 408 || answer.status >= 500) return new TransientError(platform, `${label} answered HTTP ${answer.status}${suffix}`, answer.status);
  return new PermanentError(platform, `${label} answered HTTP ${answer.status}${suffix}`, answer.status);
}

/** Milliseconds until capacity returns, from a 429 body or headers; undefined when nothing says. */
export function retryAfterFrom(text: string, headers: Headers, now: number = Date.now()): number | undefined {
  const json = parseJson(text);
  if (isRecord(json)) {
    const ra = json.retry_after;
    const seconds = typeof ra === 'number' ? ra : typeof ra === 'string' ? Number(ra) : NaN;
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  }
  const fromHeader = retryAfterHeaderMs(headers, now);
  if (fromHeader !== undefined) return fromHeader;
  const resetAfter = headerNumber(headers, 'x-ratelimit-reset-after');
  return resetAfter !== undefined && resetAfter >= 0 ? Math.ceil(resetAfter * 1000) : undefined;
}

/** A short, URL-free description of an error body: Discord's `message` (and code), else the text itself. */
function describeBody(text: string, url: URL): string {
  let detail = text.trim();
  const o = parseJson(detail);
  if (isRecord(o)) {
    const message = typeof o.message === 'string' ? o.message : typeof o.error === 'string' ? o.error : undefined;
    if (message) detail = typeof o.code === 'number' || typeof o.code === 'string' ? `${message} (code ${o.code})` : message;
  } else if (/^\s*</.test(detail)) {
    detail = ''; // an HTML error page says nothing useful
  }
  return clip(scrub(detail.replace(/\s+/g, ' '), url), 200);
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
