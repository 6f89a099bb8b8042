// LinkedIn Posts API: POST {base}/rest/posts, versioned headers; answers 201 with the id in `x-restli-id`.
// LinkedIn has no threads (the parts become one post) and no idempotency key, but it refuses a repeat with
// 422 "Content is a duplicate of urn:li:share:N": that URN is taken as the post. A retry after an unknown outcome
// first looks among the author's latest posts (the Posts finder, q=author), so it never counts on that refusal.
import { escapeLittleText } from '../../domain/text-count';
import { AuthExpiredError, PermanentError, RateLimitedError, ReauthRequiredError, TransientError, type ProviderError } from '../errors';
import { type HttpAnswer, type HttpCall, httpRequest, isRecord, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import { bearer, BEARER_REDACTED, bytesOf, joinParts, JSON_HEADERS, jsonWire, placeholder, requireCredential, setting, str } from './common';
import { fetchImage } from './image-bytes';
import { ProgressTracker } from './progress';
import { DEFAULT_RETRY_AFTER_MS, DEFAULT_SOCIAL_TIMEOUT_MS, secretsOf, withDetail } from './social-errors';
import type { PreparedRequest, Publisher, PublishContext, PublishInput, PublishResult } from './types';

export const LINKEDIN_DEFAULT_API_BASE_URL = 'https://api.linkedin.com';
export const LINKEDIN_DEFAULT_VERSION = '202511';
export const LINKEDIN_MAX_IMAGES = 20;

export interface LinkedInPublisherConfig {
  apiBaseUrl?: string;
  /** YYYYMM, sent as `LinkedIn-Version`. */
  version?: string;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  /** LinkedIn's 429 carries no Retry-After: how long to wait then. Default 60 s. */
  rateLimitRetryMs?: number;
}

/** The post author: settings.authorUrn, else a person or organization id, else a placeholder. */
export function linkedInAuthor(input: PublishInput): string {
  const urn = setting(input, 'authorUrn', 'urn');
  if (urn) return urn;
  const org = setting(input, 'organizationId');
  if (org) return `urn:li:organization:${org}`;
  const person = setting(input, 'personId', 'memberId', 'sub');
  if (person) return `urn:li:person:${person}`;
  return `urn:li:person:${placeholder('account.id')}`;
}

// ---------------------------------------------------------------------------------------------
// Requests, shared by preview() and publish() so the two never drift

function restHeaders(auth: string, version: string): Record<string, string> {
  return { Authorization: auth, 'LinkedIn-Version': version, 'X-Restli-Protocol-Version': '2.0.0', ...JSON_HEADERS };
}

export function linkedInInitializeUploadRequest(base: string, version: string, author: string, auth: string, n: number, total: number): PreparedRequest {
  return {
    method: 'POST',
    url: `${base}/rest/images?action=initializeUpload`,
    headers: restHeaders(auth, version),
    body: { initializeUploadRequest: { owner: author } },
    note: `register image ${n} of ${total}; answers {value:{uploadUrl, image}}`,
  };
}

export function linkedInUploadRequest(uploadUrl: string, contentType: string, auth: string, bytes: unknown, n: number): PreparedRequest {
  return {
    method: 'PUT',
    url: uploadUrl,
    headers: { Authorization: auth, 'Content-Type': contentType },
    body: bytes,
    note: `upload the bytes of image ${n}`,
  };
}

export function linkedInPostRequest(
  base: string,
  version: string,
  author: string,
  parts: string[],
  media: { id: string; altText: string }[],
  auth: string,
): PreparedRequest {
  const body: Record<string, unknown> = {
    author,
    commentary: escapeLittleText(joinParts(parts)),
    visibility: 'PUBLIC',
    distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
    lifecycleState: 'PUBLISHED',
    isReshareDisabledByAuthor: false,
  };
  if (media.length === 1) body.content = { media: { id: media[0].id, altText: media[0].altText } };
  if (media.length > 1) body.content = { multiImage: { images: media } };
  return {
    method: 'POST',
    url: `${base}/rest/posts`,
    headers: restHeaders(auth, version),
    body,
    note: 'the post; answers 201 with an empty body and the id in x-restli-id',
  };
}

// ---------------------------------------------------------------------------------------------
// Answers

/** The URN LinkedIn names in its 422 "Content is a duplicate of urn:li:share:N" answer. */
export function linkedInDuplicateUrn(reply: HttpAnswer): string | undefined {
  if (reply.status !== 422) return undefined;
  const m = /duplicate of (urn:li:(?:share|ugcPost|activity):[0-9A-Za-z_-]+)/i.exec(reply.text);
  return m?.[1];
}

export function linkedInPostUrl(urn: string): string {
  return `https://www.linkedin.com/feed/update/${urn}`;
}

function serviceErrorCode(reply: HttpAnswer): number | undefined {
  const code = isRecord(reply.json) ? reply.json.serviceErrorCode : undefined;
  return typeof code === 'number' ? code : typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : undefined;
}

/** A LinkedIn error answer as a typed error. */
export function linkedInError(reply: HttpAnswer, what: string, secrets: readonly string[], rateLimitRetryMs: number = DEFAULT_RETRY_AFTER_MS): ProviderError {
  const { status } = reply;
  const code = serviceErrorCode(reply);
  if (status === 429) {
    // LinkedIn sends no headers with its 429 (daily limits reset at midnight UTC); Retry-After is honoured if it ever does.
    return new RateLimitedError('linkedin', withDetail(`${what}: rate limited (429)`, reply, secrets), retryAfterHeaderMs(reply.headers) ?? rateLimitRetryMs, status);
  }
  if (code === 65601 || /revoked/i.test(str(reply.json, 'code') ?? '')) {
    return new ReauthRequiredError('linkedin', withDetail(`${what}: the access token was revoked (${status}); reconnect the account`, reply, secrets), status);
  }
  if (status === 401 || code === 65600) {
    return new AuthExpiredError('linkedin', withDetail(`${what}: the access token was refused (${status}); refresh it and retry`, reply, secrets), status);
  }
  if (status === 426) {
    return new PermanentError('linkedin', withDetail(`${what}: LinkedIn retired this API version (426); set LINKEDIN_VERSION`, reply, secrets), status);
  }
  if (status === 408 || status >= 500) return new TransientError('linkedin', withDetail(`${what}: HTTP ${status}`, reply, secrets), status);
  return new PermanentError('linkedin', withDetail(`${what}: HTTP ${status}`, reply, secrets), status);
}

/** How many of the author's latest posts are searched when reconciling (LinkedIn's finder pages hold up to 100). */
export const LINKEDIN_RECENT_LOOKUP = 50;
/** Reconciling only accepts a post this recent. */
const LINKEDIN_RECONCILE_WINDOW_MS = 24 * 3_600_000;

/** The author's latest post whose commentary is exactly `commentary` (the Posts API finder `q=author`), if any. */
async function findRecentLinkedInPost(
  base: string,
  version: string,
  author: string,
  auth: string,
  commentary: string,
  opts: HttpCall,
  secrets: readonly string[],
  rateLimitRetryMs: number,
): Promise<string | undefined> {
  const url = `${base}/rest/posts?q=author&author=${encodeURIComponent(author)}&count=${LINKEDIN_RECENT_LOOKUP}&sortBy=LAST_MODIFIED`;
  const headers = { Authorization: auth, 'LinkedIn-Version': version, 'X-Restli-Protocol-Version': '2.0.0', 'X-RestLi-Method': 'FINDER' };
  const reply = await httpRequest(url, { method: 'GET', headers }, opts);
  if (reply.status !== 200) throw linkedInError(reply, 'searching recent posts', secrets, rateLimitRetryMs);
  const elements = isRecord(reply.json) && Array.isArray(reply.json.elements) ? reply.json.elements : [];
  const since = Date.now() - LINKEDIN_RECONCILE_WINDOW_MS;
  for (const e of elements) {
    if (!isRecord(e) || e.commentary !== commentary) continue;
    if (typeof e.createdAt === 'number' && e.createdAt < since) continue;
    const id = str(e, 'id');
    if (id) return id;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------

export function createLinkedInPublisher(config: LinkedInPublisherConfig = {}): Publisher {
  const base = trimTrailingSlash(config.apiBaseUrl ?? LINKEDIN_DEFAULT_API_BASE_URL);
  const version = config.version ?? LINKEDIN_DEFAULT_VERSION;
  const timeoutMs = config.timeoutMs ?? DEFAULT_SOCIAL_TIMEOUT_MS;
  const rateLimitRetryMs = config.rateLimitRetryMs ?? DEFAULT_RETRY_AFTER_MS;

  return {
    platform: 'linkedin',
    preview(input: PublishInput): PreparedRequest[] {
      const author = linkedInAuthor(input);
      const requests: PreparedRequest[] = [];
      const images = input.images.slice(0, LINKEDIN_MAX_IMAGES);
      const media: { id: string; altText: string }[] = [];
      images.forEach((img, i) => {
        const n = i + 1;
        requests.push(linkedInInitializeUploadRequest(base, version, author, BEARER_REDACTED, n, images.length));
        requests.push(linkedInUploadRequest(placeholder(`image_${n}.uploadUrl`), img.contentType, BEARER_REDACTED, bytesOf(img.url), n));
        media.push({ id: placeholder(`image_${n}.urn`), altText: img.alt });
      });
      requests.push(linkedInPostRequest(base, version, author, input.parts, media, BEARER_REDACTED));
      return requests;
    },

    async publish(input: PublishInput, ctx: PublishContext = {}): Promise<PublishResult> {
      const token = requireCredential(input, 'linkedin', 'accessToken', 'access_token');
      const auth = bearer(token);
      const secrets = secretsOf(input.credentials);
      if (input.parts.every((p) => p.trim() === '')) throw new PermanentError('linkedin', 'nothing to publish: no text');
      const progress = new ProgressTracker(ctx);
      const done = progress.part(0);
      if (done) return { externalId: done.id, url: done.url ?? linkedInPostUrl(done.id) };

      const opts = (what: string) => ({ provider: 'linkedin' as const, what, timeoutMs, signal: ctx.signal, report: ctx.report });
      let author = linkedInAuthor(input);
      if (author.includes('{{')) {
        // No author in the settings: the member behind the token (OpenID userinfo; needs the openid scope).
        const what = 'looking up the member';
        const reply = await httpRequest(`${base}/v2/userinfo`, { method: 'GET', headers: { Authorization: auth } }, opts(what));
        if (reply.status !== 200) throw linkedInError(reply, what, secrets, rateLimitRetryMs);
        const sub = str(reply.json, 'sub');
        if (!sub) throw new PermanentError('linkedin', 'no author: set settings.authorUrn (or personId / organizationId) on the account');
        author = `urn:li:person:${sub}`;
      }

      const images = input.images.slice(0, LINKEDIN_MAX_IMAGES);
      const media: { id: string; altText: string }[] = [];
      for (const [k, img] of images.entries()) {
        const n = k + 1;
        let urn = progress.mediaOf(img.id);
        if (!urn) {
          const { bytes, contentType } = await fetchImage('linkedin', img, { timeoutMs, signal: ctx.signal });
          const what = `registering image ${n} of ${images.length}`;
          const initReq = linkedInInitializeUploadRequest(base, version, author, auth, n, images.length);
          const initReply = await httpRequest(initReq.url, jsonWire(initReq), opts(what));
          if (initReply.status < 200 || initReply.status >= 300) throw linkedInError(initReply, what, secrets, rateLimitRetryMs);
          const value = isRecord(initReply.json) ? initReply.json.value : undefined;
          const uploadUrl = str(value, 'uploadUrl');
          const image = str(value, 'image');
          if (!uploadUrl || !image) throw new TransientError('linkedin', `${what}: answer without uploadUrl and image`, initReply.status);
          const upload = linkedInUploadRequest(uploadUrl, contentType, auth, bytes, n);
          const putWhat = `uploading image ${n} of ${images.length}`;
          const put = await httpRequest(upload.url, { method: 'PUT', headers: upload.headers, body: bytes }, opts(putWhat));
          if (put.status < 200 || put.status >= 300) throw linkedInError(put, putWhat, secrets, rateLimitRetryMs);
          urn = image;
          progress.addMedia(img.id, urn);
        }
        media.push({ id: urn, altText: img.alt });
      }

      const req = linkedInPostRequest(base, version, author, input.parts, media, auth);
      // The previous attempt's outcome is unknown: its post may be out although no answer came back. Look among the
      // author's latest posts first, rather than counting on LinkedIn to refuse the same text again.
      if (ctx.reconcile) {
        const earlier = await findRecentLinkedInPost(base, version, author, auth, (req.body as { commentary: string }).commentary, opts('searching recent posts'), secrets, rateLimitRetryMs);
        if (earlier) {
          const url = linkedInPostUrl(earlier);
          progress.addPart({ index: 0, id: earlier, url });
          return { externalId: earlier, url };
        }
      }
      const reply = await httpRequest(req.url, jsonWire(req), opts('post'));
      let id: string | undefined;
      if (reply.status === 201 || reply.status === 200) {
        id = reply.headers.get('x-restli-id') ?? reply.headers.get('x-linkedin-id') ?? str(reply.json, 'id');
        // Posted, but the answer does not say as what: a retry meets the duplicate answer, which names it.
        if (!id) throw new TransientError('linkedin', 'post: 201 without x-restli-id', reply.status);
      } else {
        id = linkedInDuplicateUrn(reply);
        if (!id) throw linkedInError(reply, 'post', secrets, rateLimitRetryMs);
      }
      const url = linkedInPostUrl(id);
      progress.addPart({ index: 0, id, url });
      return { externalId: id, url };
    },
  };
}
