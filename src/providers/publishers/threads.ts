// Threads: POST /{user}/threads (media_type TEXT or IMAGE) creates a container, POST /{user}/threads_publish
// {creation_id} publishes it. Thread parts reply to the previous post with reply_to_id.
import { BEARER_REDACTED, JSON_HEADERS, notAvailableYet, partLabel, placeholder, setting, trimTrailingSlash } from './common';
import { THREADS_DEFAULT_API_BASE_URL } from './meta';
import type { PreparedRequest, Publisher, PublishInput, PublishResult } from './types';

export const THREADS_MAX_CAROUSEL_ITEMS = 20;

export interface ThreadsPublisherConfig {
  apiBaseUrl?: string;
}

export function createThreadsPublisher(config: ThreadsPublisherConfig = {}): Publisher {
  const base = trimTrailingSlash(config.apiBaseUrl ?? THREADS_DEFAULT_API_BASE_URL);
  const headers = { Authorization: BEARER_REDACTED, ...JSON_HEADERS };
  return {
    platform: 'threads',
    preview(input: PublishInput): PreparedRequest[] {
      const user = setting(input, 'threadsUserId', 'userId') ?? placeholder('account.userId');
      const total = input.parts.length;
      const images = input.images.slice(0, THREADS_MAX_CAROUSEL_ITEMS);
      const requests: PreparedRequest[] = [];
      input.parts.forEach((text, i) => {
        const n = i + 1;
        const label = partLabel(i, total);
        const replyTo = i > 0 ? { reply_to_id: placeholder(`post_${i}.id`) } : {};
        let body: Record<string, unknown>;
        if (i === 0 && images.length === 1) {
          body = { media_type: 'IMAGE', image_url: images[0].url, text };
        } else if (i === 0 && images.length > 1) {
          images.forEach((img, k) => {
            requests.push({
              method: 'POST',
              url: `${base}/${user}/threads`,
              headers: { ...headers },
              body: { media_type: 'IMAGE', image_url: img.url, is_carousel_item: true },
              note: `carousel item ${k + 1} of ${images.length}; answers {id}`,
            });
          });
          body = { media_type: 'CAROUSEL', children: images.map((_, k) => placeholder(`item_${k + 1}.id`)), text };
        } else {
          body = { media_type: 'TEXT', text, ...replyTo };
        }
        requests.push({
          method: 'POST',
          url: `${base}/${user}/threads`,
          headers: { ...headers },
          body,
          note: `container for ${label}${i > 0 ? `, replies to post ${i}` : ''}; answers {id}`,
        });
        requests.push({
          method: 'POST',
          url: `${base}/${user}/threads_publish`,
          headers: { ...headers },
          body: { creation_id: placeholder(`container_${n}.id`) },
          note: `publish ${label}; answers {id}${i === 0 && images.length > 0 ? ' (wait until the image container is FINISHED)' : ''}`,
        });
      });
      return requests;
    },
    async publish(): Promise<PublishResult> {
      throw notAvailableYet('threads');
    },
  };
}
