// Mastodon: POST https://{instance}/api/v1/statuses {status, visibility, in_reply_to_id?, media_ids?} with an
// Idempotency-Key header (a repeated key within about an hour returns the original status). Media via /api/v2/media.
// A retry after an unknown outcome first looks for the part among the account's latest statuses.
import { NotReadyError, PermanentError, RateLimitedError, ReauthRequiredError, TransientError, type ProviderError } from '../errors';
import { type HttpAnswer, httpRequest, retryAfterHeaderMs, trimTrailingSlash } from '../http';
import { isoTime, type RateInfo, untilMs, windowFrom } from '../rate-info';
import { bearer, BEARER_REDACTED, bytesOf, JSON_HEADERS, jsonWire, partLabel, placeholder, requireCredential, setting, str, withoutContentType } from './common';
import { blobOf, fetchImage, fileNameFor } from './image-bytes';
import { ProgressTracker } from './progress';
import { DEFAULT_RETRY_AFTER_MS, DEFAULT_SOCIAL_TIMEOUT_MS, describe, secretsOf, withDetail } from './social-errors';
import type { PreparedRequest, Publisher, PublishContext, PublishInput, PublishResult } from './types';

export const MASTODON_MAX_MEDIA = 4;
const VISIBILITIES = ['public', 'unlisted', 'private', 'direct'];

export interface MastodonPublisherConfig {
  /** Used only when the account has no instance URL (each Mastodon account carries its own). */
  defaultInstanceUrl?: string;
  /** Per request; default 30 s. */
  timeoutMs?: number;
  /** Media answered 202 is processed in the background: how often, and how long, to ask whether it is ready. */
  mediaPollIntervalMs?: number;
  mediaPollTimeoutMs?: number;
}

/** The account's instance as an origin ("https://mastodon.social"), or a placeholder. */
export function mastodonInstance(input: PublishInput, fallback?: string): string {
  const raw = setting(input, 'instanceUrl', 'instance', 'baseUrl') ?? fallback;
  if (!raw) return `https://${placeholder('account.instance')}`;
  return trimTrailingSlash(/^https?:\/\//i.test(raw) ? raw : `https://${raw}`);
}

/** How many of the account's latest statuses are searched when reconciling (Mastodon's page maximum). */
export const MASTODON_RECENT_LOOKUP = 40;
/** How many pages of MASTODON_RECENT_LOOKUP statuses a reconciling retry reads at most (200 statuses). */
export const MASTODON_RECONCILE_PAGES = 5;
/** Reconciling only accepts a status this recent. */
const MASTODON_RECONCILE_WINDOW_MS = 24 * 3_600_000;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** The text of a status's HTML `content`: line breaks and paragraphs kept as newlines, tags dropped, entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<\/p>\s*<p[^>]*>/gi, '\n\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : m;
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

/** Whitespace does not tell two statuses apart (servers render line breaks their own way). */
function comparableStatusText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Stable per publication and part, so a retried part returns the status already created. */
export function mastodonIdempotencyKey(idempotencyKey: string, index: number): string {
  return `${idempotencyKey}:${index + 1}`;
}

// ---------------------------------------------------------------------------------------------
// Requests, shared by preview() and publish() so the two never drift

export function mastodonMediaRequest(instance: string, img: PublishInput['images'][number], auth: string, file: unknown, n: number, total: number): PreparedRequest {
  return {
    method: 'POST',
    url: `${instance}/api/v2/media`,
    headers: { Authorization: auth, 'Content-Type': 'multipart/form-data' },
    body: { file, description: img.alt },
    note: `upload image ${n} of ${total}; answers {id} (202 while processing: wait until its url is set)`,
  };
}

export function mastodonStatusRequest(
  instance: string,
  input: PublishInput,
  opts: { index: number; visibility: string; mediaIds?: string[]; replyTo?: string },
  auth: string,
): PreparedRequest {
  const { index: i } = opts;
  const total = input.parts.length;
  const body: Record<string, unknown> = { status: input.parts[i], visibility: opts.visibility };
  if (opts.mediaIds && opts.mediaIds.length > 0) body.media_ids = opts.mediaIds;
  if (opts.replyTo !== undefined) body.in_reply_to_id = opts.replyTo;
  return {
    method: 'POST',
    url: `${instance}/api/v1/statuses`,
    headers: { Authorization: auth, ...JSON_HEADERS, 'Idempotency-Key': mastodonIdempotencyKey(input.idempotencyKey, i) },
    body,
    note: `${partLabel(i, total)}${i > 0 ? `, replies to post ${i}` : ''}; answers {id, url}`,
  };
}

function visibilityOf(input: PublishInput): string {
  const v = setting(input, 'visibility');
  return v && VISIBILITIES.includes(v) ? v : 'public';
}

// ---------------------------------------------------------------------------------------------
// Answers

/** X-RateLimit-Limit / -Remaining / -Reset, the reset being an ISO 8601 time. */
export function mastodonRateInfo(headers: Headers): RateInfo | undefined {
  const w = windowFrom(headers, { limit: 'x-ratelimit-limit', remaining: 'x-ratelimit-remaining', reset: 'x-ratelimit-reset' }, isoTime);
  return w ? { windows: [w] } : undefined;
}

/** A Mastodon error answer as a typed error. */
export function mastodonError(reply: HttpAnswer, what: string, secrets: readonly string[]): ProviderError {
  const { status } = reply;
  if (status === 429) {
    const reset = reply.headers.get('x-ratelimit-reset');
    const retryAfterMs = untilMs(reset ? isoTime(reset.trim()) : undefined) ?? retryAfterHeaderMs(reply.headers) ?? DEFAULT_RETRY_AFTER_MS;
    return new RateLimitedError('mastodon', withDetail(`${what}: rate limited (429)`, reply, secrets), retryAfterMs, status);
  }
  if (status === 401) {
    // Mastodon tokens do not expire: a refused token was revoked (or the app deleted), and only reconnecting helps.
    return new ReauthRequiredError('mastodon', withDetail(`${what}: the access token was refused (401); reconnect the account`, reply, secrets), status);
  }
  if (status === 422) {
    const detail = describe(reply, secrets);
    if (/not finished processing/i.test(detail)) return new NotReadyError('mastodon', `${what}: ${detail}`, 5_000);
    return new PermanentError('mastodon', detail ? `${what}: ${detail}` : `${what}: HTTP 422`, status);
  }
  if (status === 408 || status >= 500) return new TransientError('mastodon', withDetail(`${what}: HTTP ${status}`, reply, secrets), status);
  return new PermanentError('mastodon', withDetail(`${what}: HTTP ${status}`, reply, secrets), status);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------

export function createMastodonPublisher(config: MastodonPublisherConfig = {}): Publisher {
  const timeoutMs = config.timeoutMs ?? DEFAULT_SOCIAL_TIMEOUT_MS;
  const pollIntervalMs = config.mediaPollIntervalMs ?? 1_000;
  const pollTimeoutMs = config.mediaPollTimeoutMs ?? 30_000;

  return {
    platform: 'mastodon',
    preview(input: PublishInput): PreparedRequest[] {
      const instance = mastodonInstance(input, config.defaultInstanceUrl);
      const visibility = visibilityOf(input);
      const images = input.images.slice(0, MASTODON_MAX_MEDIA);
      const requests: PreparedRequest[] = images.map((img, i) => mastodonMediaRequest(instance, img, BEARER_REDACTED, bytesOf(img.url), i + 1, images.length));
      const mediaIds = images.map((_, k) => placeholder(`media_${k + 1}.id`));
      input.parts.forEach((_, i) => {
        requests.push(
          mastodonStatusRequest(instance, input, { index: i, visibility, mediaIds: i === 0 ? mediaIds : undefined, replyTo: i > 0 ? placeholder(`post_${i}.id`) : undefined }, BEARER_REDACTED),
        );
      });
      return requests;
    },

    async publish(input: PublishInput, ctx: PublishContext = {}): Promise<PublishResult> {
      const instance = mastodonInstance(input, config.defaultInstanceUrl);
      if (instance.includes('{{')) throw new PermanentError('mastodon', "no instance: set settings.instanceUrl on the account (e.g. https://mastodon.social)");
      const token = requireCredential(input, 'mastodon', 'accessToken', 'access_token');
      const auth = bearer(token);
      const secrets = secretsOf(input.credentials);
      const total = input.parts.length;
      if (total === 0) throw new PermanentError('mastodon', 'nothing to publish: no parts');
      const visibility = visibilityOf(input);
      const progress = new ProgressTracker(ctx);
      const opts = (what: string) => ({ provider: 'mastodon' as const, what, timeoutMs, signal: ctx.signal, report: ctx.report, rateInfo: mastodonRateInfo });

      const waitForMedia = async (id: string, n: number): Promise<void> => {
        const what = `waiting for image ${n} to be processed`;
        const deadline = Date.now() + pollTimeoutMs;
        for (;;) {
          const reply = await httpRequest(`${instance}/api/v1/media/${encodeURIComponent(id)}`, { method: 'GET', headers: { Authorization: auth } }, opts(what));
          if (reply.status === 200 && str(reply.json, 'url')) return;
          if (reply.status !== 200 && reply.status !== 206) throw mastodonError(reply, what, secrets);
          if (Date.now() + pollIntervalMs > deadline) throw new NotReadyError('mastodon', `${what}: still processing`, pollIntervalMs * 5);
          await sleep(pollIntervalMs, ctx.signal);
        }
      };

      let accountId = setting(input, 'accountId');
      /** The account's latest status with this text (replying to `replyTo`, or to nothing), if any. */
      const findRecent = async (text: string, replyTo: string | undefined): Promise<{ id: string; url: string | null } | undefined> => {
        if (!accountId) {
          const what = 'looking up the account';
          const me = await httpRequest(`${instance}/api/v1/accounts/verify_credentials`, { method: 'GET', headers: { Authorization: auth } }, opts(what));
          if (me.status !== 200) throw mastodonError(me, what, secrets);
          accountId = str(me.json, 'id');
          if (!accountId) throw new TransientError('mastodon', `${what}: answer without an id`, me.status);
        }
        const what = 'searching recent statuses';
        const wanted = comparableStatusText(text);
        const since = Date.now() - MASTODON_RECONCILE_WINDOW_MS;
        // A busy account may have posted more than a page since the lost attempt (other pipelines' posts, a burst):
        // older pages are read too, up to MASTODON_RECONCILE_PAGES, until the statuses are older than the window.
        let maxId: string | undefined;
        for (let page = 0; page < MASTODON_RECONCILE_PAGES; page++) {
          const url = `${instance}/api/v1/accounts/${encodeURIComponent(accountId)}/statuses?limit=${MASTODON_RECENT_LOOKUP}&exclude_reblogs=true${maxId ? `&max_id=${encodeURIComponent(maxId)}` : ''}`;
          const reply = await httpRequest(url, { method: 'GET', headers: { Authorization: auth } }, opts(what));
          if (reply.status !== 200) throw mastodonError(reply, what, secrets);
          const statuses: unknown[] = Array.isArray(reply.json) ? reply.json : [];
          let olderThanWindow = false;
          for (const st of statuses) {
            const id = str(st, 'id');
            const created = Date.parse(str(st, 'created_at') ?? '');
            if (Number.isFinite(created) && created < since) {
              olderThanWindow = true;
              continue;
            }
            // `text` (the source) where the server sends it, else the rendered HTML `content`.
            const content = str(st, 'content');
            const shown = str(st, 'text') ?? (content === undefined ? undefined : htmlToText(content));
            if (!id || shown === undefined || comparableStatusText(shown) !== wanted) continue;
            if (str(st, 'in_reply_to_id') !== replyTo) continue;
            return { id, url: str(st, 'url') ?? str(st, 'uri') ?? null };
          }
          maxId = str(statuses[statuses.length - 1], 'id');
          if (statuses.length < MASTODON_RECENT_LOOKUP || olderThanWindow || !maxId) break;
        }
        return undefined;
      };

      const images = input.images.slice(0, MASTODON_MAX_MEDIA);
      const mediaIds: string[] = [];
      if (!progress.part(0)) {
        for (const [k, img] of images.entries()) {
          const n = k + 1;
          let mediaId = progress.mediaOf(img.id);
          if (!mediaId) {
            const { bytes, contentType } = await fetchImage('mastodon', img, { timeoutMs, signal: ctx.signal });
            const req = mastodonMediaRequest(instance, img, auth, bytes, n, images.length);
            const form = new FormData();
            form.append('file', blobOf(bytes, contentType), fileNameFor(img.id, contentType));
            if (img.alt.trim()) form.append('description', img.alt.trim().slice(0, 1500));
            const what = `uploading image ${n} of ${images.length}`;
            const reply = await httpRequest(req.url, { method: 'POST', headers: withoutContentType(req.headers), body: form }, opts(what));
            if (reply.status !== 200 && reply.status !== 202) throw mastodonError(reply, what, secrets);
            const id = str(reply.json, 'id');
            if (!id) throw new TransientError('mastodon', `${what}: answer without an id`, reply.status);
            mediaId = id;
            progress.addMedia(img.id, id);
            if (reply.status === 202 || str(reply.json, 'url') === undefined) await waitForMedia(id, n);
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
        const what = partLabel(i, total);
        // The previous attempt's outcome is unknown: look among the account's latest statuses first. The
        // Idempotency-Key below is a second guard, but Mastodon keeps it only about an hour and not on every server.
        const earlier = ctx.reconcile ? await findRecent(input.parts[i], previous) : undefined;
        if (earlier) {
          progress.addPart({ index: i, id: earlier.id, url: earlier.url });
          previous = earlier.id;
          continue;
        }
        // The same Idempotency-Key on every attempt: after an unknown outcome Mastodon answers with the original status.
        const req = mastodonStatusRequest(instance, input, { index: i, visibility, mediaIds: i === 0 ? mediaIds : undefined, replyTo: previous }, auth);
        const reply = await httpRequest(req.url, jsonWire(req), opts(what));
        if (reply.status !== 200) throw mastodonError(reply, what, secrets);
        const id = str(reply.json, 'id');
        if (!id) throw new TransientError('mastodon', `${what}: answer without an id`, reply.status);
        const url = str(reply.json, 'url') ?? str(reply.json, 'uri') ?? null;
        progress.addPart({ index: i, id, url });
        previous = id;
      }
      const first = progress.part(0);
      if (!first) throw new TransientError('mastodon', 'the first post is missing from the progress');
      return { externalId: first.id, url: first.url };
    },
  };
}
