// X (Twitter) API v2: POST {base}/2/tweets {text, reply?, media?}; threads reply to the previous post's id.
// X has no idempotency key. After an unknown outcome a retry first searches the account's recent posts for the same
// text and takes that post as this part; X's 403 "duplicate content" answer (not a promise) also leads to that search.
import { AuthExpiredError, DuplicateError, PermanentError, QuotaExhaustedError, RateLimitedError, TransientError, type ProviderError } from '../errors';
import { headerNumber, type HttpAnswer, httpRequest, isRecord, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import { epochSeconds, type RateInfo, type RateWindowInfo, untilMs, windowFrom } from '../rate-info';
import { bearer, BEARER_REDACTED, bytesOf, JSON_HEADERS, jsonWire, optionalCredential, partLabel, placeholder, requireCredential, setting, str, withoutContentType } from './common';
import { blobOf, fetchImage, fileNameFor } from './image-bytes';
import { ProgressTracker } from './progress';
import { DEFAULT_RETRY_AFTER_MS, DEFAULT_SOCIAL_TIMEOUT_MS, secretsOf, withDetail } from './social-errors';
import type { PreparedRequest, Publisher, PublishContext, PublishInput, PublishResult } from './types';

export const X_DEFAULT_API_BASE_URL = 'https://api.x.com';
export const X_MAX_IMAGES = 4;
/** How many of the account's latest posts are searched after a duplicate answer (X's maximum page, so posts made by
 * other publications while this one waited for its retry do not push its own post out of sight). */
export const X_RECENT_LOOKUP = 100;

export interface XPublisherConfig {
  apiBaseUrl?: string;
  /** Per request; default 30 s. */
  timeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Requests, shared by preview() and publish() so the two never drift

export function xMediaUploadRequest(base: string, img: PublishInput['images'][number], auth: string, media: unknown, n: number, total: number): PreparedRequest {
  return {
    method: 'POST',
    url: `${base}/2/media/upload`,
    headers: { Authorization: auth, 'Content-Type': 'multipart/form-data' },
    body: { media, media_category: 'tweet_image', media_type: img.contentType },
    note: `upload image ${n} of ${total}; answers {data:{id}}`,
  };
}

export function xAltTextRequest(base: string, mediaId: string, alt: string, auth: string, n: number): PreparedRequest {
  return {
    method: 'POST',
    url: `${base}/2/media/metadata`,
    headers: { Authorization: auth, ...JSON_HEADERS },
    body: { id: mediaId, metadata: { alt_text: { text: alt.trim().slice(0, 1000) } } },
    note: `alt text for image ${n}`,
  };
}

export function xTweetRequest(
  base: string,
  text: string,
  opts: { index: number; total: number; replyTo?: string; mediaIds?: string[] },
  auth: string,
): PreparedRequest {
  const body: Record<string, unknown> = { text };
  if (opts.mediaIds && opts.mediaIds.length > 0) body.media = { media_ids: opts.mediaIds };
  if (opts.replyTo !== undefined) body.reply = { in_reply_to_tweet_id: opts.replyTo };
  const { index: i, total } = opts;
  return {
    method: 'POST',
    url: `${base}/2/tweets`,
    headers: { Authorization: auth, ...JSON_HEADERS },
    body,
    note: i === 0 ? `${partLabel(i, total)}; answers 201 {data:{id}}` : `${partLabel(i, total)}, replies to post ${i}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Answers

/** x-rate-limit-* (the endpoint's window, epoch-second resets) and the 24-hour user and app windows when sent. */
export function xRateInfo(headers: Headers): RateInfo | undefined {
  const windows: RateWindowInfo[] = [];
  for (const prefix of ['x-rate-limit', 'x-user-limit-24hour', 'x-app-limit-24hour']) {
    const w = windowFrom(headers, { limit: `${prefix}-limit`, remaining: `${prefix}-remaining`, reset: `${prefix}-reset` }, epochSeconds);
    if (w) windows.push(w);
  }
  return windows.length > 0 ? { windows } : undefined;
}

/** When X says capacity returns: an exhausted 24-hour window first, then the endpoint window, then Retry-After. */
export function xRetryAfterMs(headers: Headers, now: number = Date.now()): number {
  for (const prefix of ['x-user-limit-24hour', 'x-app-limit-24hour']) {
    if (headerNumber(headers, `${prefix}-remaining`) === 0) {
      const reset = headerNumber(headers, `${prefix}-reset`);
      if (reset !== undefined) return untilMs(reset * 1000, now) as number;
    }
  }
  const reset = headerNumber(headers, 'x-rate-limit-reset');
  if (reset !== undefined) return untilMs(reset * 1000, now) as number;
  return retryAfterHeaderMs(headers, now) ?? DEFAULT_RETRY_AFTER_MS;
}

function problemType(reply: HttpAnswer): string {
  const j = reply.json;
  if (!isRecord(j)) return '';
  if (typeof j.type === 'string') return j.type;
  if (Array.isArray(j.errors) && isRecord(j.errors[0]) && typeof j.errors[0].type === 'string') return j.errors[0].type;
  return '';
}

export function isXDuplicate(reply: HttpAnswer): boolean {
  return reply.status === 403 && /duplicate content/i.test(reply.text);
}

/** An X error answer as a typed error. */
export function xError(reply: HttpAnswer, what: string, secrets: readonly string[]): ProviderError {
  const { status } = reply;
  if (status === 429) {
    if (/usage-capped$/i.test(problemType(reply))) {
      return new QuotaExhaustedError('x', withDetail(`${what}: the app's X usage cap is reached (429)`, reply, secrets), status);
    }
    return new RateLimitedError('x', withDetail(`${what}: rate limited (429)`, reply, secrets), xRetryAfterMs(reply.headers), status);
  }
  if (status === 401) return new AuthExpiredError('x', withDetail(`${what}: the access token was refused (401); refresh it and retry`, reply, secrets), status);
  if (status === 408 || status >= 500) return new TransientError('x', withDetail(`${what}: HTTP ${status}`, reply, secrets), status);
  return new PermanentError('x', withDetail(`${what}: HTTP ${status}`, reply, secrets), status);
}

/** Text as X shows it back: entities decoded, links (rewritten to t.co) and whitespace normalised. */
export function comparableTweetText(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/https?:\/\/\S+/g, '<link>')
    .replace(/\s+/g, ' ')
    .trim();
}

// ---------------------------------------------------------------------------------------------

export function createXPublisher(config: XPublisherConfig = {}): Publisher {
  const base = trimTrailingSlash(config.apiBaseUrl ?? X_DEFAULT_API_BASE_URL);
  const timeoutMs = config.timeoutMs ?? DEFAULT_SOCIAL_TIMEOUT_MS;

  return {
    platform: 'x',
    preview(input: PublishInput): PreparedRequest[] {
      const requests: PreparedRequest[] = [];
      const images = input.images.slice(0, X_MAX_IMAGES);
      const mediaIds: string[] = [];
      images.forEach((img, i) => {
        const mediaId = placeholder(`media_${i + 1}.id`);
        mediaIds.push(mediaId);
        requests.push(xMediaUploadRequest(base, img, BEARER_REDACTED, bytesOf(img.url), i + 1, images.length));
        if (img.alt.trim()) requests.push(xAltTextRequest(base, mediaId, img.alt, BEARER_REDACTED, i + 1));
      });
      const total = input.parts.length;
      input.parts.forEach((text, i) => {
        requests.push(
          xTweetRequest(base, text, { index: i, total, mediaIds: i === 0 ? mediaIds : undefined, replyTo: i > 0 ? placeholder(`post_${i}.id`) : undefined }, BEARER_REDACTED),
        );
      });
      return requests;
    },

    async publish(input: PublishInput, ctx: PublishContext = {}): Promise<PublishResult> {
      const token = requireCredential(input, 'x', 'accessToken', 'access_token');
      const auth = bearer(token);
      const secrets = secretsOf(input.credentials);
      const total = input.parts.length;
      if (total === 0) throw new PermanentError('x', 'nothing to publish: no parts');
      const progress = new ProgressTracker(ctx);
      const call = (what: string, req: PreparedRequest, body?: FormData) =>
        httpRequest(req.url, body ? { method: req.method, headers: withoutContentType(req.headers), body } : jsonWire(req), {
          provider: 'x',
          what,
          timeoutMs,
          signal: ctx.signal,
          report: ctx.report,
          rateInfo: xRateInfo,
        });

      let me: { id: string; username?: string } | undefined;
      const account = async (): Promise<{ id: string; username?: string }> => {
        if (me) return me;
        const id = optionalCredential(input.credentials, 'userId', 'user_id') ?? setting(input, 'userId', 'id');
        if (id) return (me = { id });
        const reply = await httpRequest(`${base}/2/users/me`, { method: 'GET', headers: { Authorization: auth } }, {
          provider: 'x',
          what: 'looking up the account',
          timeoutMs,
          signal: ctx.signal,
          report: ctx.report,
          rateInfo: xRateInfo,
        });
        if (reply.status !== 200) throw xError(reply, 'looking up the account', secrets);
        const data = isRecord(reply.json) ? reply.json.data : undefined;
        const found = str(data, 'id');
        if (!found) throw new TransientError('x', 'looking up the account: answer without data.id', reply.status);
        return (me = { id: found, username: str(data, 'username') });
      };
      const handle = (): string | undefined => {
        const h = setting(input, 'username', 'handle') ?? input.account?.handle ?? me?.username;
        return h ? h.replace(/^@/, '') : undefined;
      };
      const tweetUrl = (id: string): string => `https://x.com/${handle() ?? 'i/web'}/status/${id}`;

      /** The account's latest post with this text (replying to `replyTo` when set), if any. */
      const findRecent = async (text: string, replyTo: string | undefined): Promise<string | undefined> => {
        const { id } = await account();
        const url = `${base}/2/users/${encodeURIComponent(id)}/tweets?max_results=${X_RECENT_LOOKUP}&tweet.fields=created_at,referenced_tweets`;
        const reply = await httpRequest(url, { method: 'GET', headers: { Authorization: auth } }, {
          provider: 'x',
          what: 'searching recent posts',
          timeoutMs,
          signal: ctx.signal,
          report: ctx.report,
          rateInfo: xRateInfo,
        });
        if (reply.status !== 200) throw xError(reply, 'searching recent posts', secrets);
        const data = isRecord(reply.json) && Array.isArray(reply.json.data) ? reply.json.data : [];
        const wanted = comparableTweetText(text);
        for (const t of data) {
          if (!isRecord(t) || typeof t.text !== 'string' || comparableTweetText(t.text) !== wanted) continue;
          const refs = Array.isArray(t.referenced_tweets) ? t.referenced_tweets : undefined;
          const repliesTo = refs?.find((r) => isRecord(r) && r.type === 'replied_to');
          if (refs && (replyTo === undefined ? repliesTo !== undefined : !isRecord(repliesTo) || repliesTo.id !== replyTo)) continue;
          const tid = str(t, 'id');
          if (tid) return tid;
        }
        return undefined;
      };

      // Media goes only on the first post: once it is out, nothing more to upload.
      const images = input.images.slice(0, X_MAX_IMAGES);
      const mediaIds: string[] = [];
      if (!progress.part(0)) {
        for (const [k, img] of images.entries()) {
          const n = k + 1;
          let mediaId = progress.mediaOf(img.id);
          if (!mediaId) {
            const { bytes, contentType } = await fetchImage('x', img, { timeoutMs, signal: ctx.signal });
            const req = xMediaUploadRequest(base, { ...img, contentType }, auth, bytes, n, images.length);
            const form = new FormData();
            form.append('media', blobOf(bytes, contentType), fileNameFor(img.id, contentType));
            form.append('media_category', 'tweet_image');
            form.append('media_type', contentType);
            const what = `uploading image ${n} of ${images.length}`;
            const reply = await call(what, req, form);
            if (reply.status < 200 || reply.status >= 300) throw xError(reply, what, secrets);
            const data = isRecord(reply.json) ? reply.json.data : undefined;
            mediaId = str(data, 'id') ?? str(reply.json, 'media_id_string');
            if (!mediaId) throw new TransientError('x', `${what}: answer without a media id`, reply.status);
            progress.addMedia(img.id, mediaId);
          }
          // Alt text is set again for media kept from an earlier attempt: it is idempotent, and that attempt may
          // have stopped between the upload and this call.
          if (img.alt.trim()) {
            const what = `setting alt text of image ${n}`;
            const reply = await call(what, xAltTextRequest(base, mediaId, img.alt, auth, n));
            if (reply.status < 200 || reply.status >= 300) throw xError(reply, what, secrets);
          }
          mediaIds.push(mediaId);
        }
      }

      let previous: string | undefined;
      for (let i = 0; i < total; i++) {
        const done = progress.part(i);
        if (done) {
          previous = done.id;
          continue;
        }
        const text = input.parts[i];
        const what = partLabel(i, total);
        // The previous attempt's outcome is unknown: its post may be out although no answer came back. Look first,
        // rather than counting on X to refuse the same text again (its duplicate check is not a promise).
        const earlier = ctx.reconcile ? await findRecent(text, previous) : undefined;
        if (earlier) {
          progress.addPart({ index: i, id: earlier, url: tweetUrl(earlier) });
          previous = earlier;
          continue;
        }
        const req = xTweetRequest(base, text, { index: i, total, replyTo: previous, mediaIds: i === 0 ? mediaIds : undefined }, auth);
        const reply = await call(what, req);
        let id: string | undefined;
        if (reply.status === 200 || reply.status === 201) {
          id = str(isRecord(reply.json) ? reply.json.data : undefined, 'id');
          if (!id) throw new TransientError('x', `${what}: answer without data.id`, reply.status);
        } else if (isXDuplicate(reply)) {
          const found = await findRecent(text, previous);
          // After an unknown outcome (or on a resumed attempt) the duplicate is our own earlier post: take it.
          if (found && (ctx.reconcile || ctx.progress)) id = found;
          else {
            const where = found ? ` (the account already has it as post ${found})` : '';
            throw new DuplicateError('x', `${what}: X refused it as duplicate content${where}`, found, 403);
          }
        } else {
          throw xError(reply, what, secrets);
        }
        progress.addPart({ index: i, id, url: tweetUrl(id) });
        previous = id;
      }
      const first = progress.part(0);
      if (!first) throw new TransientError('x', 'the first post is missing from the progress');
      return { externalId: first.id, url: first.url ?? tweetUrl(first.id) };
    },
  };
}
