// X (Twitter) API v2: POST {base}/2/tweets {text, reply?, media?}; threads reply to the previous post's id.
import { BEARER_REDACTED, JSON_HEADERS, bytesOf, notAvailableYet, partLabel, placeholder, trimTrailingSlash } from './common';
import type { PreparedRequest, Publisher, PublishInput, PublishResult } from './types';

export const X_DEFAULT_API_BASE_URL = 'https://api.x.com';
export const X_MAX_IMAGES = 4;

export interface XPublisherConfig {
  apiBaseUrl?: string;
}

export function createXPublisher(config: XPublisherConfig = {}): Publisher {
  const base = trimTrailingSlash(config.apiBaseUrl ?? X_DEFAULT_API_BASE_URL);
  return {
    platform: 'x',
    preview(input: PublishInput): PreparedRequest[] {
      const requests: PreparedRequest[] = [];
      const images = input.images.slice(0, X_MAX_IMAGES);
      const mediaIds: string[] = [];
      images.forEach((img, i) => {
        const mediaId = placeholder(`media_${i + 1}.id`);
        mediaIds.push(mediaId);
        requests.push({
          method: 'POST',
          url: `${base}/2/media/upload`,
          headers: { Authorization: BEARER_REDACTED, 'Content-Type': 'multipart/form-data' },
          body: { media: bytesOf(img.url), media_category: 'tweet_image', media_type: img.contentType },
          note: `upload image ${i + 1} of ${images.length}; answers {data:{id}}`,
        });
        if (img.alt.trim()) {
          requests.push({
            method: 'POST',
            url: `${base}/2/media/metadata`,
            headers: { Authorization: BEARER_REDACTED, ...JSON_HEADERS },
            body: { id: mediaId, metadata: { alt_text: { text: img.alt.trim().slice(0, 1000) } } },
            note: `alt text for image ${i + 1}`,
          });
        }
      });
      const total = input.parts.length;
      input.parts.forEach((text, i) => {
        const body: Record<string, unknown> = { text };
        if (i === 0 && mediaIds.length > 0) body.media = { media_ids: mediaIds };
        if (i > 0) body.reply = { in_reply_to_tweet_id: placeholder(`post_${i}.id`) };
        requests.push({
          method: 'POST',
          url: `${base}/2/tweets`,
          headers: { Authorization: BEARER_REDACTED, ...JSON_HEADERS },
          body,
          note: i === 0 ? `${partLabel(i, total)}; answers 201 {data:{id}}` : `${partLabel(i, total)}, replies to post ${i}`,
        });
      });
      return requests;
    },
    async publish(): Promise<PublishResult> {
      throw notAvailableYet('x');
    },
  };
}
