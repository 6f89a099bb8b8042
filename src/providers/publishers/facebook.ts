// Facebook Pages: POST {graph}/{version}/{page-id}/feed {message, link?} -> {id:"{page}_{post}"}.
// Images are uploaded unpublished to /{page-id}/photos first and attached to the feed post.
import { BEARER_REDACTED, JSON_HEADERS, findLinks, joinParts, notAvailableYet, placeholder, setting, trimTrailingSlash } from './common';
import { META_DEFAULT_GRAPH_BASE_URL } from './meta';
import type { PreparedRequest, Publisher, PublishInput, PublishResult } from './types';

export const FACEBOOK_MAX_IMAGES = 10;

export interface FacebookPublisherConfig {
  /** Graph API base including the version, e.g. https://graph.facebook.com/v21.0. */
  graphBaseUrl?: string;
}

export function createFacebookPublisher(config: FacebookPublisherConfig = {}): Publisher {
  const base = trimTrailingSlash(config.graphBaseUrl ?? META_DEFAULT_GRAPH_BASE_URL);
  const headers = { Authorization: BEARER_REDACTED, ...JSON_HEADERS };
  return {
    platform: 'facebook',
    preview(input: PublishInput): PreparedRequest[] {
      const pageId = setting(input, 'pageId', 'page_id') ?? placeholder('account.pageId');
      const message = joinParts(input.parts);
      const images = input.images.slice(0, FACEBOOK_MAX_IMAGES);
      const requests: PreparedRequest[] = images.map((img, i) => ({
        method: 'POST' as const,
        url: `${base}/${pageId}/photos`,
        headers: { ...headers },
        body: { url: img.url, published: false, ...(img.alt ? { alt_text_custom: img.alt } : {}) },
        note: `upload image ${i + 1} of ${images.length} unpublished; answers {id}`,
      }));
      const body: Record<string, unknown> = { message };
      if (images.length > 0) {
        body.attached_media = images.map((_, i) => ({ media_fbid: placeholder(`photo_${i + 1}.id`) }));
      } else {
        const link = findLinks(message)[0];
        if (link) body.link = link.url;
      }
      requests.push({
        method: 'POST',
        url: `${base}/${pageId}/feed`,
        headers: { ...headers },
        body,
        note: 'the page post; answers {id:"{page}_{post}"}',
      });
      return requests;
    },
    async publish(): Promise<PublishResult> {
      throw notAvailableYet('facebook');
    },
  };
}
