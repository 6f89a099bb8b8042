// Instagram (Graph API content publishing): create a container with image_url and caption, poll its status_code until
// FINISHED, then POST /{ig-user}/media_publish {creation_id}. Images must be at public URLs; text-only is impossible.
import { PermanentError } from '../errors';
import { BEARER_REDACTED, JSON_HEADERS, joinParts, notAvailableYet, placeholder, setting, trimTrailingSlash } from './common';
import { META_DEFAULT_GRAPH_BASE_URL } from './meta';
import type { PreparedRequest, Publisher, PublishInput, PublishResult } from './types';

export const INSTAGRAM_MAX_CAROUSEL_ITEMS = 10;

export interface InstagramPublisherConfig {
  /** Graph API base including the version, e.g. https://graph.facebook.com/v21.0. */
  graphBaseUrl?: string;
}

export function createInstagramPublisher(config: InstagramPublisherConfig = {}): Publisher {
  const base = trimTrailingSlash(config.graphBaseUrl ?? META_DEFAULT_GRAPH_BASE_URL);
  const headers = { Authorization: BEARER_REDACTED, ...JSON_HEADERS };
  const auth = { Authorization: BEARER_REDACTED };
  return {
    platform: 'instagram',
    preview(input: PublishInput): PreparedRequest[] {
      if (input.images.length === 0) {
        throw new PermanentError('instagram', 'an Instagram post needs at least one image at a public URL');
      }
      const igUser = setting(input, 'igUserId', 'instagramUserId', 'userId') ?? placeholder('account.igUserId');
      const caption = joinParts(input.parts);
      const images = input.images.slice(0, INSTAGRAM_MAX_CAROUSEL_ITEMS);
      const requests: PreparedRequest[] = [];
      const poll = (id: string, what: string): PreparedRequest => ({
        method: 'GET',
        url: `${base}/${id}?fields=status_code`,
        headers: { ...auth },
        body: null,
        note: `repeat until status_code is FINISHED (${what}); ERROR or EXPIRED fails`,
      });
      let containerId: string;
      if (images.length === 1) {
        containerId = placeholder('container.id');
        requests.push({
          method: 'POST',
          url: `${base}/${igUser}/media`,
          headers: { ...headers },
          body: { image_url: images[0].url, caption },
          note: 'create the media container; answers {id}',
        });
        requests.push(poll(containerId, 'container'));
      } else {
        const children = images.map((_, i) => placeholder(`item_${i + 1}.id`));
        images.forEach((img, i) => {
          requests.push({
            method: 'POST',
            url: `${base}/${igUser}/media`,
            headers: { ...headers },
            body: { image_url: img.url, is_carousel_item: true },
            note: `carousel item ${i + 1} of ${images.length}; answers {id}`,
          });
        });
        children.forEach((id, i) => requests.push(poll(id, `carousel item ${i + 1}`)));
        containerId = placeholder('carousel.id');
        requests.push({
          method: 'POST',
          url: `${base}/${igUser}/media`,
          headers: { ...headers },
          body: { media_type: 'CAROUSEL', children, caption },
          note: 'create the carousel container; answers {id}',
        });
        requests.push(poll(containerId, 'carousel'));
      }
      requests.push({
        method: 'POST',
        url: `${base}/${igUser}/media_publish`,
        headers: { ...headers },
        body: { creation_id: containerId },
        note: 'publish the container; answers {id}',
      });
      return requests;
    },
    async publish(): Promise<PublishResult> {
      throw notAvailableYet('instagram');
    },
  };
}
