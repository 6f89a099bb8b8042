// Instagram (Graph API content publishing): create a container with image_url and caption, ask its status_code until
// FINISHED, then POST /{ig-user}/media_publish {creation_id}. Images must be at public URLs; text-only is impossible.
// Never sleeps: a container still processing is a NotReadyError, and the retry resumes from the recorded container.
// A container that ends in ERROR for a reason that may pass (Meta could not fetch the image: Herald's media URL answered
// 503 during a database outage, a timeout, an unknown reason) is forgotten and the next attempt makes a fresh one, a
// bounded number of times; a reason that cannot pass (format, aspect ratio, size, caption) fails at once.
import { PermanentError, RateLimitedError, TransientError } from '../errors';
import { isRecord, trimTrailingSlash } from '../http';
import { BEARER_REDACTED, JSON_HEADERS, joinParts, placeholder, setting } from './common';
import { type GraphCall, graphErrorOf, graphSend, META_BLOCK_RETRY_AFTER_MS, parseGraphTime } from './meta-errors';
import {
  CONTAINER_LIFETIME_MS,
  DEFAULT_CONTAINER_RETRY_MS,
  DEFAULT_RECONCILE_WINDOW_MS,
  META_DEFAULT_GRAPH_BASE_URL,
  type ContainerStatus,
  type MetaPublishSettings,
  ProgressBook,
  bareMessage,
  containerStatus,
  createdId,
  decideOnContainer,
  findPosted,
  permalinkOf,
  requireSetting,
  requireToken,
  withRetryDelay,
} from './meta';
import type { PreparedRequest, Publisher, PublishContext, PublishInput, PublishResult } from './types';

export const INSTAGRAM_MAX_CAROUSEL_ITEMS = 10;
export const INSTAGRAM_MAX_CAPTION = 2200;
/** Published posts allowed per rolling 24 h. */
export const INSTAGRAM_DAILY_POSTS = 50;
const DAY_MS = 24 * 60 * 60_000;
/**
 * Fresh containers made after containers ended in ERROR for a reason that may pass, before the publication fails.
 * Attempts follow Temporal's backoff (2 s, doubling), so 5 fresh containers span about a minute: a PostgreSQL
 * outage of 30 s behind the media URL is outlasted; Meta allows 400 containers a day.
 */
export const DEFAULT_CONTAINER_ERROR_RETRIES = 5;
/** Meta subcodes of media that can never be processed as sent: the post must change. */
const PERMANENT_CONTAINER_SUBCODES = [2207004, 2207005, 2207009, 2207010, 2207023, 2207026, 2207028];
/** Meta subcodes that say "try again": fetch timeouts and failures, server errors, unknown upload errors. */
const RETRYABLE_CONTAINER_SUBCODES = [2207001, 2207003, 2207008, 2207032, 2207052, 2207053];
const PERMANENT_CONTAINER_WORDS = /aspect ratio|unsupported|not supported|too (?:large|big|small|long|wide|tall)|caption|dimension|resolution|file format|media type is not/i;
const USER_SETTINGS = ['igUserId', 'instagramUserId', 'userId'] as const;
const TOKEN_FIELDS = ['accessToken'] as const;

export interface InstagramPublisherConfig extends MetaPublishSettings {
  /** Graph API base including the version, e.g. https://graph.facebook.com/v21.0. */
  graphBaseUrl?: string;
  /** Fresh containers after containers ended in ERROR for a reason that may pass; DEFAULT_CONTAINER_ERROR_RETRIES by default. */
  containerErrorRetries?: number;
}

/**
 * Whether a container's ERROR (its `status` text, or an error body's message and subcode) can never pass: the media
 * itself is refused. A fetch failure, a timeout or a reason Meta does not give may pass, and earns a fresh container.
 */
export function instagramContainerErrorIsPermanent(detail: string | undefined, subcode?: number): boolean {
  const codes = [...(subcode !== undefined ? [subcode] : []), ...[...(detail ?? '').matchAll(/\b(2207\d{3})\b/g)].map((m) => Number(m[1]))];
  if (codes.some((c) => RETRYABLE_CONTAINER_SUBCODES.includes(c))) return false;
  if (codes.some((c) => PERMANENT_CONTAINER_SUBCODES.includes(c))) return true;
  return detail !== undefined && PERMANENT_CONTAINER_WORDS.test(detail);
}

const HEADERS = { Authorization: BEARER_REDACTED, ...JSON_HEADERS };
const AUTH = { Authorization: BEARER_REDACTED };

export function instagramImageContainerRequest(base: string, igUser: string, imageUrl: string, caption: string): PreparedRequest {
  return { method: 'POST', url: `${base}/${igUser}/media`, headers: { ...HEADERS }, body: { image_url: imageUrl, caption }, note: 'create the media container; answers {id}' };
}

export function instagramCarouselItemRequest(base: string, igUser: string, imageUrl: string, n: number, total: number): PreparedRequest {
  return {
    method: 'POST',
    url: `${base}/${igUser}/media`,
    headers: { ...HEADERS },
    body: { image_url: imageUrl, is_carousel_item: true },
    note: `carousel item ${n} of ${total}; answers {id}`,
  };
}

export function instagramCarouselRequest(base: string, igUser: string, children: string[], caption: string): PreparedRequest {
  return {
    method: 'POST',
    url: `${base}/${igUser}/media`,
    headers: { ...HEADERS },
    body: { media_type: 'CAROUSEL', children, caption },
    note: 'create the carousel container; answers {id}',
  };
}

export function instagramStatusRequest(base: string, containerId: string, what: string): PreparedRequest {
  return {
    method: 'GET',
    url: `${base}/${containerId}?fields=status_code`,
    headers: { ...AUTH },
    body: null,
    note: `repeat until status_code is FINISHED (${what}); ERROR or EXPIRED fails`,
  };
}

/** Asked only of a container in ERROR: its `status` text carries Meta's reason. */
export function instagramStatusDetailRequest(base: string, containerId: string): PreparedRequest {
  return { method: 'GET', url: `${base}/${containerId}?fields=status_code,status`, headers: { ...AUTH }, body: null, note: 'why the container ended in ERROR' };
}

export function instagramPublishRequest(base: string, igUser: string, creationId: string): PreparedRequest {
  return { method: 'POST', url: `${base}/${igUser}/media_publish`, headers: { ...HEADERS }, body: { creation_id: creationId }, note: 'publish the container; answers {id}' };
}

/** The account's latest media (newest first), for reconciliation and the daily limit. */
export function instagramRecentMediaRequest(base: string, igUser: string, limit = 10): PreparedRequest {
  return { method: 'GET', url: `${base}/${igUser}/media?fields=id,caption,timestamp&limit=${limit}`, headers: { ...AUTH }, body: null };
}

export function instagramPublishingLimitRequest(base: string, igUser: string): PreparedRequest {
  return { method: 'GET', url: `${base}/${igUser}/content_publishing_limit?fields=quota_usage,config`, headers: { ...AUTH }, body: null };
}

/**
 * How many posts the account published in the rolling 24 h and how many it may (GET content_publishing_limit).
 * Throws the usual typed errors.
 */
export async function instagramQuotaUsage(
  input: PublishInput,
  config: Pick<InstagramPublisherConfig, 'graphBaseUrl' | 'timeoutMs'> & { signal?: AbortSignal } = {},
): Promise<{ used: number; limit: number }> {
  const base = trimTrailingSlash(config.graphBaseUrl ?? META_DEFAULT_GRAPH_BASE_URL);
  const igUser = requireSetting(input, 'Instagram user id', ...USER_SETTINGS);
  const token = requireToken(input, ...TOKEN_FIELDS);
  const { json } = await graphSend(instagramPublishingLimitRequest(base, igUser), { provider: 'instagram', token, timeoutMs: config.timeoutMs, signal: config.signal });
  const first = Array.isArray(json.data) && isRecord(json.data[0]) ? json.data[0] : {};
  const used = typeof first.quota_usage === 'number' ? first.quota_usage : 0;
  const cfg = isRecord(first.config) ? first.config : {};
  const limit = typeof cfg.quota_total === 'number' ? cfg.quota_total : INSTAGRAM_DAILY_POSTS;
  return { used, limit };
}

export function createInstagramPublisher(config: InstagramPublisherConfig = {}): Publisher {
  const base = trimTrailingSlash(config.graphBaseUrl ?? META_DEFAULT_GRAPH_BASE_URL);
  const now = config.now ?? Date.now;
  const settings = {
    containerRetryMs: config.containerRetryMs ?? DEFAULT_CONTAINER_RETRY_MS,
    containerLifetimeMs: config.containerLifetimeMs ?? CONTAINER_LIFETIME_MS,
  };
  const windowMs = config.reconcileWindowMs ?? DEFAULT_RECONCILE_WINDOW_MS;
  const maxFresh = Math.max(0, config.containerErrorRetries ?? DEFAULT_CONTAINER_ERROR_RETRIES);

  /** Meta's reason for a container in ERROR (its `status` text), or undefined when it cannot be had. */
  async function errorDetail(containerId: string, call: GraphCall): Promise<string | undefined> {
    try {
      const { json } = await graphSend(instagramStatusDetailRequest(base, containerId), call);
      const text = typeof json.status === 'string' ? json.status : typeof json.error_message === 'string' ? json.error_message : '';
      return text && text.toUpperCase() !== 'ERROR' ? text : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Containers (or a container's creation) failed: fails for good when the reason cannot pass or fresh containers are
   * used up; otherwise forgets the failed containers (`dropContainer`, and the carousel items in `imageIds`), counts
   * one more round in the progress, and throws a TransientError so Temporal's retry makes fresh ones. Never returns.
   */
  function containerFailed(
    book: ProgressBook,
    what: string,
    reason: { detail?: string; permanent: boolean },
    forget: { dropContainer: boolean; imageIds: string[] },
  ): never {
    const why = reason.detail ? `: ${reason.detail}` : ' (Meta gave no reason)';
    if (reason.permanent) {
      throw new PermanentError('instagram', `Instagram refused the ${what}${why}`);
    }
    const used = book.value.containerErrors ?? 0;
    if (used >= maxFresh) {
      throw new PermanentError(
        'instagram',
        `the ${what} ended in ERROR${why}; gave up after ${used + 1} rounds of containers (is every image at a public URL that answers with an image?)`,
      );
    }
    const { container: _c, media, ...rest } = book.value;
    const keptMedia = Object.fromEntries(Object.entries(media ?? {}).filter(([k]) => !forget.imageIds.includes(k)));
    book.save({
      ...rest,
      ...(forget.dropContainer || !book.value.container ? {} : { container: book.value.container }),
      ...(forget.dropContainer || Object.keys(keptMedia).length === 0 ? {} : { media: keptMedia }),
      containerErrors: used + 1,
    });
    throw new TransientError('instagram', `the ${what} ended in ERROR${why}; the next attempt makes a fresh one (${used + 1} of ${maxFresh})`);
  }

  /** Creates a container; Meta's synchronous "could not fetch the media" (2207052, 2207003...) counts like an ERROR. */
  async function createContainer(req: PreparedRequest, what: string, call: GraphCall, book: ProgressBook, imageIds: string[]): Promise<string> {
    try {
      const { json } = await graphSend(req, call);
      return createdId('instagram', json, what);
    } catch (e) {
      const info = graphErrorOf(e);
      if (info?.subcode !== undefined && RETRYABLE_CONTAINER_SUBCODES.includes(info.subcode) && info.subcode !== 2207001) {
        containerFailed(book, what, { detail: `${info.message} (subcode ${info.subcode})`, permanent: false }, { dropContainer: false, imageIds });
      }
      throw e;
    }
  }

  /** Until ~24 h after the oldest of the last 50 posts inside the window; 1 h when that cannot be known. */
  async function dailyLimitRetryAfter(igUser: string, call: GraphCall): Promise<number> {
    try {
      const { json } = await graphSend(instagramRecentMediaRequest(base, igUser, INSTAGRAM_DAILY_POSTS), call);
      const t = now();
      const times = (Array.isArray(json.data) ? json.data : [])
        .map((d) => (isRecord(d) ? parseGraphTime(d.timestamp) : undefined))
        .filter((x): x is number => x !== undefined && x > t - DAY_MS);
      if (times.length === 0) return META_BLOCK_RETRY_AFTER_MS;
      return Math.max(60_000, Math.min(...times) + DAY_MS - t);
    } catch {
      return META_BLOCK_RETRY_AFTER_MS;
    }
  }

  return {
    platform: 'instagram',
    preview(input: PublishInput): PreparedRequest[] {
      if (input.images.length === 0) {
        throw new PermanentError('instagram', 'an Instagram post needs at least one image at a public URL');
      }
      const igUser = setting(input, ...USER_SETTINGS) ?? placeholder('account.igUserId');
      const caption = joinParts(input.parts);
      const images = input.images.slice(0, INSTAGRAM_MAX_CAROUSEL_ITEMS);
      const requests: PreparedRequest[] = [];
      let containerId: string;
      if (images.length === 1) {
        containerId = placeholder('container.id');
        requests.push(instagramImageContainerRequest(base, igUser, images[0].url, caption));
        requests.push(instagramStatusRequest(base, containerId, 'container'));
      } else {
        const children = images.map((_, i) => placeholder(`item_${i + 1}.id`));
        images.forEach((img, i) => requests.push(instagramCarouselItemRequest(base, igUser, img.url, i + 1, images.length)));
        children.forEach((id, i) => requests.push(instagramStatusRequest(base, id, `carousel item ${i + 1}`)));
        containerId = placeholder('carousel.id');
        requests.push(instagramCarouselRequest(base, igUser, children, caption));
        requests.push(instagramStatusRequest(base, containerId, 'carousel'));
      }
      requests.push(instagramPublishRequest(base, igUser, containerId));
      return requests;
    },

    async publish(input: PublishInput, ctx: PublishContext = {}): Promise<PublishResult> {
      if (input.images.length === 0) {
        throw new PermanentError('instagram', 'an Instagram post needs at least one image at a public URL');
      }
      const igUser = requireSetting(input, 'Instagram user id', ...USER_SETTINGS);
      const token = requireToken(input, ...TOKEN_FIELDS);
      const caption = joinParts(input.parts);
      if ([...caption].length > INSTAGRAM_MAX_CAPTION) {
        throw new PermanentError('instagram', `the caption has ${[...caption].length} characters; Instagram allows ${INSTAGRAM_MAX_CAPTION}`);
      }
      const call: GraphCall = { provider: 'instagram', token, timeoutMs: config.timeoutMs, signal: ctx.signal, report: ctx.report, now };
      const book = new ProgressBook(ctx);
      const done = book.part(0);
      if (done) return { externalId: done.id, url: done.url };

      const finish = async (id: string): Promise<PublishResult> => {
        const url = await permalinkOf(base, id, call);
        book.addPart(0, id, url);
        return { externalId: id, url };
      };

      // Lost progress after an unknown outcome: the post may exist without a recorded container. Look first.
      if (!book.value.container && ctx.reconcile) {
        const found = await findPosted(instagramRecentMediaRequest(base, igUser), call, 'caption', 'timestamp', caption, now() - windowMs);
        if (found) return finish(found);
      }

      // Step 1, once per publication: the container (a carousel's items are recorded as media as they are made).
      let container = book.value.container;
      if (!container) {
        const images = input.images.slice(0, INSTAGRAM_MAX_CAROUSEL_ITEMS);
        let creationId: string;
        if (images.length === 1) {
          creationId = await createContainer(instagramImageContainerRequest(base, igUser, images[0].url, caption), 'media container', call, book, []);
        } else {
          const children: string[] = [];
          for (const [i, img] of images.entries()) {
            let child = book.value.media?.[img.id];
            if (!child) {
              child = await createContainer(instagramCarouselItemRequest(base, igUser, img.url, i + 1, images.length), `carousel item ${i + 1}`, call, book, [img.id]);
              book.addMedia(img.id, child);
            }
            children.push(child);
          }
          // Every item is asked before deciding, so all the items in ERROR are replaced in one round.
          const states: { status: ContainerStatus; detail?: string }[] = [];
          for (const [i, child] of children.entries()) {
            const state = await containerStatus(instagramStatusRequest(base, child, `carousel item ${i + 1}`), call);
            if (state.status === 'PUBLISHED') throw new PermanentError('instagram', `carousel item ${i + 1} was already used`);
            states.push(state);
          }
          const failed = states.map((st, i) => ({ st, i })).filter(({ st }) => st.status === 'ERROR');
          if (failed.length > 0) {
            const reasons: string[] = [];
            let permanent = false;
            for (const { st, i } of failed) {
              const detail = st.detail ?? (await errorDetail(children[i], call));
              permanent ||= instagramContainerErrorIsPermanent(detail);
              reasons.push(`item ${i + 1} (${children[i]}): ${detail ?? 'no reason given'}`);
            }
            const label = failed.length === 1 ? `carousel item ${failed[0].i + 1} container` : `carousel item containers ${failed.map((f) => f.i + 1).join(', ')}`;
            containerFailed(book, label, { detail: reasons.join('; '), permanent }, { dropContainer: false, imageIds: failed.map(({ i }) => images[i].id) });
          }
          for (const [i, state] of states.entries()) {
            // Items have no recorded time of their own; they are as old as the attempt that made them.
            decideOnContainer('instagram', `carousel item ${i + 1}`, state, 0, settings, book);
          }
          creationId = await createContainer(instagramCarouselRequest(base, igUser, children, caption), 'carousel container', call, book, []);
        }
        container = { id: creationId, createdAt: now() };
        book.setContainer(container.id, container.createdAt);
      }

      // Step 2: is it ready? (Also how an earlier attempt's lost publish answer is discovered: PUBLISHED.)
      const state = await containerStatus(instagramStatusRequest(base, container.id, 'container'), call);
      if (state.status === 'ERROR') {
        // A carousel's items go with it: they are made again with the fresh carousel.
        const detail = state.detail ?? (await errorDetail(container.id, call));
        containerFailed(book, `media container ${container.id}`, { detail, permanent: instagramContainerErrorIsPermanent(detail) }, { dropContainer: true, imageIds: Object.keys(book.value.media ?? {}) });
      }
      const next = decideOnContainer('instagram', 'media container', state, now() - container.createdAt, settings, book);
      if (next === 'published') {
        const found = await findPosted(instagramRecentMediaRequest(base, igUser), call, 'caption', 'timestamp', caption, container.createdAt);
        if (found) return finish(found);
        throw new TransientError('instagram', 'the container was already published, but the post is not among the latest media yet');
      }

      // Step 3: publish it.
      let id: string;
      try {
        const { json } = await graphSend(instagramPublishRequest(base, igUser, container.id), call);
        id = createdId('instagram', json, 'media_publish');
      } catch (e) {
        const info = graphErrorOf(e);
        if (info?.subcode === 2207020) {
          book.dropContainer();
          throw new TransientError('instagram', `${bareMessage(e as Error, 'instagram')}; the next attempt makes a new container`, info.status);
        }
        if (info?.subcode === 2207042 && e instanceof RateLimitedError) {
          throw new RateLimitedError('instagram', bareMessage(e, 'instagram'), await dailyLimitRetryAfter(igUser, call), e.status);
        }
        throw withRetryDelay(e, 'instagram', settings.containerRetryMs);
      }
      return finish(id);
    },
  };
}
