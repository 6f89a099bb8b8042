// Unsplash photo search. Using a photo obliges two things: credit the photographer, and GET its
// links.download_location once (the "download ping" that counts the download for the photographer).
import { PermanentError, RateLimitedError, TransientError } from '../errors';
import { headerNumber, type HttpAnswer, isRecord, jsonObject, httpRequest, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import { type CallContext, type RateInfo, rateWindow } from '../rate-info';
import { downloadImage, imageCall, withDetail } from './image-errors';
import { stockQuery } from './prompts';
import type { FoundImage, ImageRequest, ImageSource } from './types';

export interface UnsplashImageOptions {
  accessKey: string;
  /** Default https://api.unsplash.com */
  baseUrl?: string;
  /** Per request; default 15 000. */
  timeoutMs?: number;
  /** utm_source on the credit link, as Unsplash's guidelines ask. Default herald. */
  appName?: string;
}

export const UNSPLASH_DEFAULTS = {
  baseUrl: 'https://api.unsplash.com',
  timeoutMs: 15_000,
  appName: 'herald',
};

/** Unsplash's limits are per hour and it sends no reset: assume the hour ends an hour from now. */
const HOUR_MS = 3_600_000;
const PROVIDER = 'unsplash';

interface UnsplashPhoto {
  regular: string;
  downloadLocation: string;
  alt: string | undefined;
  userName: string;
  userLink: string | undefined;
}

export function createUnsplashImageSource(options: UnsplashImageOptions): ImageSource {
  const baseUrl = trimTrailingSlash(options.baseUrl ?? UNSPLASH_DEFAULTS.baseUrl);
  const timeoutMs = options.timeoutMs ?? UNSPLASH_DEFAULTS.timeoutMs;
  const appName = options.appName ?? UNSPLASH_DEFAULTS.appName;
  const headers = { Authorization: `Client-ID ${options.accessKey}`, 'Accept-Version': 'v1', Accept: 'application/json' };

  const api = async (url: string, what: string, ctx?: CallContext): Promise<HttpAnswer> => {
    const answer = await httpRequest(url, { method: 'GET', headers }, imageCall(PROVIDER, what, timeoutMs, ctx, unsplashRateInfo));
    if (answer.status < 200 || answer.status >= 300) throw classifyUnsplashError(what, answer);
    return answer;
  };

  return {
    name: PROVIDER,
    async find(request: ImageRequest, ctx?: CallContext): Promise<FoundImage[]> {
      const query = stockQuery(request);
      if (!query) return [];
      const params = new URLSearchParams({ query, per_page: '10', orientation: 'landscape', content_filter: 'high' });
      const answer = await api(`${baseUrl}/search/photos?${params}`, 'search', ctx);
      const json = jsonObject(answer, { provider: PROVIDER, what: 'search' });
      if (!isRecord(json) || !Array.isArray(json.results)) throw new TransientError(PROVIDER, 'search answered without results[]', answer.status);
      const photo = json.results.map(toPhoto).find((p): p is UnsplashPhoto => p !== undefined);
      if (!photo) return [];

      const image = await downloadImage(photo.regular, { provider: PROVIDER, timeoutMs, ctx });
      // The photo is now used: tell Unsplash, once. Failing it fails the call, so a photo is never used unpinged.
      await api(onApi(photo.downloadLocation, baseUrl), 'download ping', ctx);

      const link = photo.userLink ? ` (${withUtm(photo.userLink, appName)})` : '';
      return [
        {
          bytes: image.bytes,
          contentType: image.contentType,
          width: image.width,
          height: image.height,
          source: PROVIDER,
          alt: photo.alt ?? `Photo: ${request.title.trim()}`,
          attribution: `Photo by ${photo.userName} on Unsplash${link}`,
        },
      ];
    },
  };
}

function toPhoto(raw: unknown): UnsplashPhoto | undefined {
  if (!isRecord(raw) || !isRecord(raw.urls) || !isRecord(raw.links)) return undefined;
  const regular = raw.urls.regular;
  const downloadLocation = raw.links.download_location;
  if (typeof regular !== 'string' || !regular || typeof downloadLocation !== 'string' || !downloadLocation) return undefined;
  const user = isRecord(raw.user) ? raw.user : {};
  const userName = typeof user.name === 'string' && user.name.trim() ? user.name.trim() : typeof user.username === 'string' ? user.username : 'an Unsplash photographer';
  const userLink = isRecord(user.links) && typeof user.links.html === 'string' ? user.links.html : undefined;
  const altRaw = typeof raw.alt_description === 'string' && raw.alt_description.trim() ? raw.alt_description : typeof raw.description === 'string' ? raw.description : '';
  const alt = altRaw.trim() ? altRaw.trim().charAt(0).toUpperCase() + altRaw.trim().slice(1) : undefined;
  return { regular, downloadLocation, alt, userName, userLink };
}

/** The ping goes to the configured API host: the access key is never sent anywhere an answer names. */
function onApi(location: string, baseUrl: string): string {
  try {
    const url = new URL(location);
    return url.origin === new URL(baseUrl).origin ? url.toString() : `${baseUrl}${url.pathname}${url.search}`;
  } catch {
    return `${baseUrl}/${location.replace(/^\/+/, '')}`;
  }
}

function withUtm(link: string, appName: string): string {
  try {
    const url = new URL(link);
    url.searchParams.set('utm_source', appName);
    url.searchParams.set('utm_medium', 'referral');
    return url.toString();
  } catch {
    return link;
  }
}

/**
 * Over the limit Unsplash answers 403 with the plain text "Rate Limit Exceeded" (observed) or 429: both wait for the
 * hour (Retry-After when sent). Any other 401/403 is a bad or revoked key.
 */
export function classifyUnsplashError(what: string, answer: HttpAnswer): Error {
  const { status, headers, text } = answer;
  const message = withDetail(`${what} answered HTTP ${status}`, text);
  const rateLimited = status === 429 || (status === 403 && (/rate limit exceeded/i.test(text) || headerNumber(headers, 'x-ratelimit-remaining') === 0));
  if (rateLimited) return new RateLimitedError(PROVIDER, message, retryAfterHeaderMs(headers) ?? HOUR_MS, status);
  if (status === 408 || status >= 500) return new TransientError(PROVIDER, message, status);
  return new PermanentError(PROVIDER, message, status);
}

/** X-Ratelimit-Limit / X-Ratelimit-Remaining per hour; no reset header, so resetAt is an hour from now. */
export function unsplashRateInfo(headers: Headers, now: number): RateInfo | undefined {
  const limit = headerNumber(headers, 'x-ratelimit-limit');
  const remaining = headerNumber(headers, 'x-ratelimit-remaining');
  if (limit === undefined && remaining === undefined) return undefined;
  return { windows: [rateWindow('requests', { limit, remaining, resetAt: now + HOUR_MS })] };
}
