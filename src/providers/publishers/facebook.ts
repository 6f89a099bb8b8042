// Facebook Pages: POST {graph}/{version}/{page-id}/feed {message, link?} -> {id:"{page}_{post}"}.
// Images are uploaded unpublished to /{page-id}/photos first and attached to the feed post. Facebook's duplicate
// answer (code 506) and the page's recent posts are how an unknown earlier outcome is reconciled.
import { DuplicateError } from '../errors';
import { trimTrailingSlash } from '../http';
import { BEARER_REDACTED, JSON_HEADERS, findLinks, joinParts, placeholder, setting } from './common';
import { type GraphCall, graphSend } from './meta-errors';
import {
  DEFAULT_RECONCILE_WINDOW_MS,
  META_DEFAULT_GRAPH_BASE_URL,
  type MetaPublishSettings,
  ProgressBook,
  bareMessage,
  createdId,
  findPosted,
  requireSetting,
  requireToken,
} from './meta';
import type { PreparedRequest, Publisher, PublishContext, PublishInput, PublishResult } from './types';

export const FACEBOOK_MAX_IMAGES = 10;
/** Credential fields read for the page access token, in order. */
export const FACEBOOK_TOKEN_FIELDS = ['pageAccessToken', 'accessToken'] as const;

export interface FacebookPublisherConfig extends MetaPublishSettings {
  /** Graph API base including the version, e.g. https://graph.facebook.com/v21.0. */
  graphBaseUrl?: string;
}

const HEADERS = { Authorization: BEARER_REDACTED, ...JSON_HEADERS };

export function facebookPhotoRequest(base: string, pageId: string, img: PublishInput['images'][number], n: number, total: number): PreparedRequest {
  return {
    method: 'POST',
    url: `${base}/${pageId}/photos`,
    headers: { ...HEADERS },
    body: { url: img.url, published: false, ...(img.alt ? { alt_text_custom: img.alt } : {}) },
    note: `upload image ${n} of ${total} unpublished; answers {id}`,
  };
}

/** The page post; `photoIds` are the unpublished photos to attach (none: the message's first link is attached). */
export function facebookFeedRequest(base: string, pageId: string, message: string, photoIds: string[]): PreparedRequest {
  const body: Record<string, unknown> = { message };
  if (photoIds.length > 0) {
    body.attached_media = photoIds.map((id) => ({ media_fbid: id }));
  } else {
    const link = findLinks(message)[0];
    if (link) body.link = link.url;
  }
  return { method: 'POST', url: `${base}/${pageId}/feed`, headers: { ...HEADERS }, body, note: 'the page post; answers {id:"{page}_{post}"}' };
}

/** The page's latest posts, for reconciliation. */
export function facebookRecentPostsRequest(base: string, pageId: string): PreparedRequest {
  return {
    method: 'GET',
    url: `${base}/${pageId}/posts?limit=10&fields=id,message,created_time`,
    headers: { Authorization: BEARER_REDACTED },
    body: null,
    note: "the page's latest posts, to find one an earlier attempt made",
  };
}

/** https://www.facebook.com/{page}/posts/{post} for an id "{page}_{post}". */
export function facebookPostUrl(id: string): string {
  const [page, post] = id.split('_');
  return post ? `https://www.facebook.com/${page}/posts/${post}` : `https://www.facebook.com/${id}`;
}

export function createFacebookPublisher(config: FacebookPublisherConfig = {}): Publisher {
  const base = trimTrailingSlash(config.graphBaseUrl ?? META_DEFAULT_GRAPH_BASE_URL);
  const now = config.now ?? Date.now;
  const windowMs = config.reconcileWindowMs ?? DEFAULT_RECONCILE_WINDOW_MS;
  return {
    platform: 'facebook',
    preview(input: PublishInput): PreparedRequest[] {
      const pageId = setting(input, 'pageId', 'page_id') ?? placeholder('account.pageId');
      const message = joinParts(input.parts);
      const images = input.images.slice(0, FACEBOOK_MAX_IMAGES);
      const requests = images.map((img, i) => facebookPhotoRequest(base, pageId, img, i + 1, images.length));
      requests.push(facebookFeedRequest(base, pageId, message, images.map((_, i) => placeholder(`photo_${i + 1}.id`))));
      return requests;
    },
    async publish(input: PublishInput, ctx: PublishContext = {}): Promise<PublishResult> {
      const pageId = requireSetting(input, 'page id', 'pageId', 'page_id');
      const token = requireToken(input, ...FACEBOOK_TOKEN_FIELDS);
      const call: GraphCall = { provider: 'facebook', token, timeoutMs: config.timeoutMs, signal: ctx.signal, report: ctx.report, now };
      const book = new ProgressBook(ctx);
      const done = book.part(0);
      if (done) return { externalId: done.id, url: done.url };

      const message = joinParts(input.parts);
      const finish = (id: string): PublishResult => {
        const url = facebookPostUrl(id);
        book.addPart(0, id, url);
        return { externalId: id, url };
      };
      const lookUp = (): Promise<string | undefined> =>
        findPosted(facebookRecentPostsRequest(base, pageId), call, 'message', 'created_time', message, now() - windowMs);

      // The earlier attempt may have posted without hearing the answer: look before posting again.
      if (ctx.reconcile) {
        const found = await lookUp();
        if (found) return finish(found);
      }

      const images = input.images.slice(0, FACEBOOK_MAX_IMAGES);
      const photoIds: string[] = [];
      for (const [i, img] of images.entries()) {
        const known = book.value.media?.[img.id];
        if (known) {
          photoIds.push(known);
          continue;
        }
        const { json } = await graphSend(facebookPhotoRequest(base, pageId, img, i + 1, images.length), call);
        const id = createdId('facebook', json, `photo upload ${i + 1}`);
        book.addMedia(img.id, id);
        photoIds.push(id);
      }

      try {
        const { json } = await graphSend(facebookFeedRequest(base, pageId, message, photoIds), call);
        return finish(createdId('facebook', json, 'the page post'));
      } catch (e) {
        if (!(e instanceof DuplicateError)) throw e;
        // 506: the page already has this message. After an unknown outcome it is ours; otherwise say which post it is.
        const existing = await lookUp().catch(() => undefined);
        if (existing && ctx.reconcile) return finish(existing);
        throw new DuplicateError('facebook', bareMessage(e, 'facebook'), existing, e.status);
      }
    },
  };
}
