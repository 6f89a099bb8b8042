// Threads: POST /{user}/threads (media_type TEXT or IMAGE) creates a container, POST /{user}/threads_publish
// {creation_id} publishes it. Thread parts reply to the previous post with reply_to_id. Each published part and the
// current part's container are recorded, so a retry never posts a part twice and never makes a second container.
import { TransientError } from '../errors';
import { isRecord, trimTrailingSlash } from '../http';
import { BEARER_REDACTED, JSON_HEADERS, partLabel, placeholder, setting } from './common';
import { type GraphCall, graphSend } from './meta-errors';
import {
  CONTAINER_LIFETIME_MS,
  DEFAULT_CONTAINER_RETRY_MS,
  DEFAULT_RECONCILE_WINDOW_MS,
  type MetaPublishSettings,
  ProgressBook,
  THREADS_DEFAULT_API_BASE_URL,
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

export const THREADS_MAX_CAROUSEL_ITEMS = 20;
const USER_SETTINGS = ['threadsUserId', 'userId'] as const;
const TOKEN_FIELDS = ['accessToken'] as const;

export interface ThreadsPublisherConfig extends MetaPublishSettings {
  apiBaseUrl?: string;
}

const HEADERS = { Authorization: BEARER_REDACTED, ...JSON_HEADERS };
const AUTH = { Authorization: BEARER_REDACTED };

type Image = PublishInput['images'][number];

export function threadsCarouselItemRequest(base: string, user: string, img: Image, n: number, total: number): PreparedRequest {
  return {
    method: 'POST',
    url: `${base}/${user}/threads`,
    headers: { ...HEADERS },
    body: { media_type: 'IMAGE', image_url: img.url, is_carousel_item: true },
    note: `carousel item ${n} of ${total}; answers {id}`,
  };
}

/**
 * The container for part `index` of `total`: TEXT (replying to `replyTo` when given), or for the first part IMAGE with
 * one image, CAROUSEL with several (`children` are the item containers).
 */
export function threadsContainerRequest(
  base: string,
  user: string,
  text: string,
  index: number,
  total: number,
  opts: { replyTo?: string; image?: Image; children?: string[] } = {},
): PreparedRequest {
  let body: Record<string, unknown>;
  if (opts.image) body = { media_type: 'IMAGE', image_url: opts.image.url, text, ...(opts.replyTo ? { reply_to_id: opts.replyTo } : {}) };
  else if (opts.children) body = { media_type: 'CAROUSEL', children: opts.children, text, ...(opts.replyTo ? { reply_to_id: opts.replyTo } : {}) };
  else body = { media_type: 'TEXT', text, ...(opts.replyTo ? { reply_to_id: opts.replyTo } : {}) };
  return {
    method: 'POST',
    url: `${base}/${user}/threads`,
    headers: { ...HEADERS },
    body,
    note: `container for ${partLabel(index, total)}${index > 0 ? `, replies to post ${index}` : ''}; answers {id}`,
  };
}

export function threadsPublishRequest(base: string, user: string, creationId: string, index: number, total: number, hasMedia: boolean): PreparedRequest {
  return {
    method: 'POST',
    url: `${base}/${user}/threads_publish`,
    headers: { ...HEADERS },
    body: { creation_id: creationId },
    note: `publish ${partLabel(index, total)}; answers {id}${hasMedia ? ' (wait until the image container is FINISHED)' : ''}`,
  };
}

export function threadsStatusRequest(base: string, containerId: string): PreparedRequest {
  return { method: 'GET', url: `${base}/${containerId}?fields=status,error_message`, headers: { ...AUTH }, body: null };
}

/** The user's latest posts (part 1) or replies (later parts), newest first, for reconciliation. */
export function threadsRecentRequest(base: string, user: string, replies: boolean): PreparedRequest {
  const fields = replies ? 'id,text,timestamp,replied_to' : 'id,text,timestamp';
  return { method: 'GET', url: `${base}/${user}/${replies ? 'replies' : 'threads'}?fields=${fields}&limit=10`, headers: { ...AUTH }, body: null };
}

/** A reply listed with `replied_to` must reply to `parent`; one listed without it is judged by its text alone. */
function repliesTo(parent: string | undefined): (item: Record<string, unknown>) => boolean {
  return (item) => {
    if (!parent || !isRecord(item.replied_to)) return true;
    return item.replied_to.id === parent;
  };
}

export function createThreadsPublisher(config: ThreadsPublisherConfig = {}): Publisher {
  const base = trimTrailingSlash(config.apiBaseUrl ?? THREADS_DEFAULT_API_BASE_URL);
  const now = config.now ?? Date.now;
  const settings = {
    containerRetryMs: config.containerRetryMs ?? DEFAULT_CONTAINER_RETRY_MS,
    containerLifetimeMs: config.containerLifetimeMs ?? CONTAINER_LIFETIME_MS,
  };
  const windowMs = config.reconcileWindowMs ?? DEFAULT_RECONCILE_WINDOW_MS;
  return {
    platform: 'threads',
    preview(input: PublishInput): PreparedRequest[] {
      const user = setting(input, ...USER_SETTINGS) ?? placeholder('account.userId');
      const total = input.parts.length;
      const images = input.images.slice(0, THREADS_MAX_CAROUSEL_ITEMS);
      const requests: PreparedRequest[] = [];
      input.parts.forEach((text, i) => {
        const replyTo = i > 0 ? placeholder(`post_${i}.id`) : undefined;
        let opts: Parameters<typeof threadsContainerRequest>[5] = { replyTo };
        if (i === 0 && images.length === 1) opts = { image: images[0] };
        else if (i === 0 && images.length > 1) {
          images.forEach((img, k) => requests.push(threadsCarouselItemRequest(base, user, img, k + 1, images.length)));
          opts = { children: images.map((_, k) => placeholder(`item_${k + 1}.id`)) };
        }
        requests.push(threadsContainerRequest(base, user, text, i, total, opts));
        requests.push(threadsPublishRequest(base, user, placeholder(`container_${i + 1}.id`), i, total, i === 0 && images.length > 0));
      });
      return requests;
    },

    async publish(input: PublishInput, ctx: PublishContext = {}): Promise<PublishResult> {
      const user = requireSetting(input, 'Threads user id', ...USER_SETTINGS);
      const token = requireToken(input, ...TOKEN_FIELDS);
      const call: GraphCall = { provider: 'threads', token, timeoutMs: config.timeoutMs, signal: ctx.signal, report: ctx.report, now };
      const book = new ProgressBook(ctx);
      const images = input.images.slice(0, THREADS_MAX_CAROUSEL_ITEMS);
      const total = input.parts.length;
      // After an unknown outcome, parts may exist that progress does not record: look for them, in order, until one
      // is missing (a later part cannot exist without it).
      let reconciling = ctx.reconcile === true;

      for (const [i, text] of input.parts.entries()) {
        if (book.part(i)) continue;
        const replyTo = i > 0 ? book.part(i - 1)?.id : undefined;
        if (i > 0 && !replyTo) throw new TransientError('threads', `post ${i} is not recorded, so post ${i + 1} has nothing to reply to`);
        const hasMedia = i === 0 && images.length > 0;

        if (reconciling && !book.value.container) {
          const found = await findPosted(threadsRecentRequest(base, user, i > 0), call, 'text', 'timestamp', text, now() - windowMs, repliesTo(replyTo));
          if (found) {
            book.addPart(i, found, null);
            continue;
          }
        }
        reconciling = false;

        // The recorded container belongs to this part: parts are made strictly in order.
        let container = book.value.container;
        const resumed = container !== undefined;
        if (!container) {
          let opts: Parameters<typeof threadsContainerRequest>[5] = { replyTo };
          if (hasMedia && images.length === 1) opts = { image: images[0] };
          else if (hasMedia) {
            const children: string[] = [];
            for (const [k, img] of images.entries()) {
              let child = book.value.media?.[img.id];
              if (!child) {
                const { json } = await graphSend(threadsCarouselItemRequest(base, user, img, k + 1, images.length), call);
                child = createdId('threads', json, `carousel item ${k + 1}`);
                book.addMedia(img.id, child);
              }
              children.push(child);
            }
            opts = { children };
          }
          const { json } = await graphSend(threadsContainerRequest(base, user, text, i, total, opts), call);
          container = { id: createdId('threads', json, `the container for post ${i + 1}`), createdAt: now() };
          book.setContainer(container.id, container.createdAt);
        }

        // Media containers need processing; a resumed one may even have been published by the lost attempt.
        if (resumed || hasMedia) {
          const state = await containerStatus(threadsStatusRequest(base, container.id), call);
          const next = decideOnContainer('threads', `container for post ${i + 1}`, state, now() - container.createdAt, settings, book);
          if (next === 'published') {
            const found = await findPosted(threadsRecentRequest(base, user, i > 0), call, 'text', 'timestamp', text, container.createdAt, repliesTo(replyTo));
            if (!found) throw new TransientError('threads', `post ${i + 1} was already published, but it is not among the latest posts yet`);
            book.addPart(i, found, null);
            continue;
          }
        }

        let id: string;
        try {
          const { json } = await graphSend(threadsPublishRequest(base, user, container.id, i, total, hasMedia), call);
          id = createdId('threads', json, `threads_publish for post ${i + 1}`);
        } catch (e) {
          throw withRetryDelay(e, 'threads', settings.containerRetryMs);
        }
        book.addPart(i, id, null);
      }

      const first = book.part(0);
      if (!first) throw new TransientError('threads', 'nothing was published');
      if (first.url === null) {
        const url = await permalinkOf(base, first.id, call);
        if (url) book.save({ ...book.value, parts: book.value.parts.map((p) => (p.index === 0 ? { ...p, url } : p)) });
        return { externalId: first.id, url };
      }
      return { externalId: first.id, url: first.url };
    },
  };
}
