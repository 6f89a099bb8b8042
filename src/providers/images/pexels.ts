// Pexels photo search. Successful answers carry X-Ratelimit-Limit/Remaining/Reset (reset in epoch seconds); a 429
// carries none, so the last reset seen is remembered to say when an exhausted allowance comes back.
import { PermanentError, RateLimitedError, TransientError } from '../errors';
import { headerNumber, isRecord, jsonObject, httpRequest, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import { type CallContext, type RateInfo, rateWindow } from '../rate-info';
import { downloadImage, imageCall, withDetail } from './image-errors';
import { stockQuery } from './prompts';
import type { FoundImage, ImageRequest, ImageSource } from './types';

export interface PexelsImageOptions {
  apiKey: string;
  /** Default https://api.pexels.com */
  baseUrl?: string;
  /** Per request; default 15 000. */
  timeoutMs?: number;
}

export const PEXELS_DEFAULTS = {
  baseUrl: 'https://api.pexels.com',
  timeoutMs: 15_000,
};

/** Used when a 429 gives no reset and none is known. */
const DEFAULT_RETRY_AFTER_MS = 60_000;
const PROVIDER = 'pexels';

export function createPexelsImageSource(options: PexelsImageOptions): ImageSource {
  const baseUrl = trimTrailingSlash(options.baseUrl ?? PEXELS_DEFAULTS.baseUrl);
  const timeoutMs = options.timeoutMs ?? PEXELS_DEFAULTS.timeoutMs;
  // What the last successful answer said (Pexels' own advice: its 429 carries no headers).
  let last: { remaining?: number; resetAt?: number } = {};

  return {
    name: PROVIDER,
    async find(request: ImageRequest, ctx?: CallContext): Promise<FoundImage[]> {
      const query = stockQuery(request);
      if (!query) return [];
      const params = new URLSearchParams({ query, per_page: '10', orientation: 'landscape' });
      const answer = await httpRequest(
        `${baseUrl}/v1/search?${params}`,
        { method: 'GET', headers: { Authorization: options.apiKey, Accept: 'application/json' } },
        imageCall(PROVIDER, 'search', timeoutMs, ctx, pexelsRateInfo),
      );
      const { status, headers, text } = answer;
      const now = Date.now();
      if (status >= 200 && status < 300) {
        const window = pexelsRateInfo(headers, now)?.windows[0];
        if (window) last = { remaining: window.remaining, resetAt: window.resetAt };
      } else {
        const message = withDetail(`search answered HTTP ${status}`, text);
        if (status === 429) {
          throw new RateLimitedError(PROVIDER, message, pexelsRetryAfterMs(headers, last, now), status);
        }
        if (status === 408 || status >= 500) throw new TransientError(PROVIDER, message, status);
        throw new PermanentError(PROVIDER, message, status);
      }

      const json = jsonObject(answer, { provider: PROVIDER, what: 'search' });
      if (!isRecord(json) || !Array.isArray(json.photos)) throw new TransientError(PROVIDER, 'search answered without photos[]', status);
      const photo = json.photos.map(toPhoto).find((p) => p !== undefined);
      if (!photo) return [];

      const image = await downloadImage(photo.src, { provider: PROVIDER, timeoutMs, ctx });
      const link = photo.url ? ` (${photo.url})` : '';
      return [
        {
          bytes: image.bytes,
          contentType: image.contentType,
          width: image.width,
          height: image.height,
          source: PROVIDER,
          alt: photo.alt ?? `Photo: ${request.title.trim()}`,
          attribution: `Photo by ${photo.photographer} on Pexels${link}`,
        },
      ];
    },
  };
}

function toPhoto(raw: unknown): { src: string; url?: string; alt?: string; photographer: string } | undefined {
  if (!isRecord(raw) || !isRecord(raw.src)) return undefined;
  const src = [raw.src.large2x, raw.src.large, raw.src.original].find((s): s is string => typeof s === 'string' && s !== '');
  if (!src) return undefined;
  const photographer = typeof raw.photographer === 'string' && raw.photographer.trim() ? raw.photographer.trim() : 'a Pexels photographer';
  const alt = typeof raw.alt === 'string' && raw.alt.trim() ? raw.alt.trim() : undefined;
  const url = typeof raw.url === 'string' && raw.url ? raw.url : undefined;
  return { src, url, alt, photographer };
}

/**
 * When to come back after a 429: the 429's own X-Ratelimit-Reset or Retry-After if it has one; else the reset
 * remembered from the last success when that success had used up the allowance; else 60 s.
 */
export function pexelsRetryAfterMs(headers: Headers, last: { remaining?: number; resetAt?: number }, now: number): number {
  const reset = headerNumber(headers, 'x-ratelimit-reset');
  if (reset !== undefined) return Math.max(1000, reset * 1000 - now);
  const after = retryAfterHeaderMs(headers, now);
  if (after !== undefined) return after;
  if (last.remaining === 0 && last.resetAt !== undefined && last.resetAt > now) return Math.max(1000, last.resetAt - now);
  return DEFAULT_RETRY_AFTER_MS;
}

/** X-Ratelimit-Limit / Remaining / Reset (epoch seconds). */
export function pexelsRateInfo(headers: Headers, _now: number): RateInfo | undefined {
  const limit = headerNumber(headers, 'x-ratelimit-limit');
  const remaining = headerNumber(headers, 'x-ratelimit-remaining');
  const reset = headerNumber(headers, 'x-ratelimit-reset');
  if (limit === undefined && remaining === undefined && reset === undefined) return undefined;
  return { windows: [rateWindow('requests', { limit, remaining, resetAt: reset === undefined ? undefined : reset * 1000 })] };
}
