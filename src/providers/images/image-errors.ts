// What image sources' answers mean beyond HTTP: a short description of an error body, and the statuses of an image
// download. The HTTP itself is ../http.ts; imageCall gives its options as every image source sends them.
import { PermanentError, RateLimitedError, TransientError } from '../errors';
import { clip, type HttpCall, isRecord, parseJson, httpRequest, retryAfterHeaderMs } from '../http';
import type { CallContext, RateInfo } from '../rate-info';
import { asImage, type ImageInfo } from './image-info';

/** Largest answer read into memory: a base64 1536x1024 PNG is about 4 MB, a large stock JPEG a few MB. */
export const MAX_RESPONSE_BYTES = 40 * 1024 * 1024;

/** The request options of an image source's call: its timeout, the caller's signal and reporter, the size cap. */
export function imageCall(provider: string, what: string, timeoutMs: number, ctx?: CallContext, rateInfo?: (headers: Headers, now: number) => RateInfo | undefined): HttpCall {
  return { provider, what, timeoutMs, signal: ctx?.signal, report: ctx?.report, rateInfo, maxBytes: MAX_RESPONSE_BYTES };
}

/**
 * A short description of an error body: `error.message`, a top-level `message`, `errors[]`, or the text itself
 * (HTML pages say nothing useful). At most 200 characters.
 */
export function errorDetail(body: string): string {
  const text = body.trim();
  const json = parseJson(text);
  let detail = text;
  if (isRecord(json)) {
    const err = isRecord(json.error) ? json.error : json;
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
  return clip(detail, 200);
}

export function withDetail(message: string, body: string): string {
  const detail = errorDetail(body);
  return detail ? `${message}: ${detail}` : message;
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
  const answer = await httpRequest(
    url,
    { method: 'GET', headers: { Accept: 'image/png,image/jpeg,image/webp;q=0.9,image/gif;q=0.8', ...opts.headers } },
    imageCall(opts.provider, what, opts.timeoutMs, opts.ctx),
  );
  if (answer.status < 200 || answer.status >= 300) {
    const message = `${what} answered HTTP ${answer.status}`;
    if (answer.status === 429) throw new RateLimitedError(opts.provider, message, retryAfterHeaderMs(answer.headers) ?? 60_000, 429);
    if (answer.status === 408 || answer.status >= 500) throw new TransientError(opts.provider, message, answer.status);
    throw new PermanentError(opts.provider, message, answer.status);
  }
  return { bytes: answer.bytes, ...asImage(opts.provider, 'the downloaded file', answer.bytes) };
}
