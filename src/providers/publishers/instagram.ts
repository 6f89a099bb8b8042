// Instagram (Graph API content publishing): create a container with image_url and caption, ask its status_code until
// FINISHED, then POST /{ig-user}/media_publish {creation_id}. Images must be at public URLs; text-only is impossible.
// Never sleeps: a container still processing is a NotReadyError, and the retry resumes from the recorded container.
import { PermanentError, RateLimitedError, TransientError } from '../errors';
import { BEARER_REDACTED, JSON_HEADERS, joinParts, placeholder, setting, trimTrailingSlash } from './common';
import { type GraphCall, graphErrorOf, graphSend, isRecord, META_BLOCK_RETRY_AFTER_MS, parseGraphTime } from './meta-http';
import {
  CONTAINER_LIFETIME_MS,
  DEFAULT_CONTAINER_RETRY_MS,
  DEFAULT_RECONCILE_WINDOW_MS,
  META_DEFAULT_GRAPH_BASE_URL,
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
const USER_SETTINGS = ['igUserId', 'instagramUserId', 'userId'] as const;
const TOKEN_FIELDS = ['accessToken'] as const;

export interface InstagramPublisherConfig extends MetaPublishSettings {
  /** Graph API base including the version, e.g. https://graph.facebook.com/v21.0. */
  graphBaseUrl?: string;
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
          const { json } = await graphSend(instagramImageContainerRequest(base, igUser, images[0].url, caption), call);
          creationId = createdId('instagram', json, 'the container');
        } else {
          const children: string[] = [];
          for (const [i, img] of images.entries()) {
            let child = book.value.media?.[img.id];
            if (!child) {
              const { json } = await graphSend(instagramCarouselItemRequest(base, igUser, img.url, i + 1, images.length), call);
              child = createdId('instagram', json, `carousel item ${i + 1}`);
              book.addMedia(img.id, child);
            }
            children.push(child);
          }
          for (const [i, child] of children.entries()) {
            const state = await containerStatus(instagramStatusRequest(base, child, `carousel item ${i + 1}`), call);
            if (state.status === 'PUBLISHED') throw new PermanentError('instagram', `carousel item ${i + 1} was already used`);
            // Items have no recorded time of their own; they are as old as the attempt that made them.
            decideOnContainer('instagram', `carousel item ${i + 1}`, state, 0, settings, book);
          }
          const { json } = await graphSend(instagramCarouselRequest(base, igUser, children, caption), call);
          creationId = createdId('instagram', json, 'the carousel container');
        }
        container = { id: creationId, createdAt: now() };
        book.setContainer(container.id, container.createdAt);
      }

      // Step 2: is it ready? (Also how an earlier attempt's lost publish answer is discovered: PUBLISHED.)
      const state = await containerStatus(instagramStatusRequest(base, container.id, 'container'), call);
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
