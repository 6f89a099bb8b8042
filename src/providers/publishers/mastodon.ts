// Mastodon: POST https://{instance}/api/v1/statuses {status, visibility, in_reply_to_id?, media_ids?} with an
// Idempotency-Key header (a repeated key within about an hour returns the original status). Media via /api/v2/media.
import { BEARER_REDACTED, JSON_HEADERS, bytesOf, notAvailableYet, partLabel, placeholder, setting, trimTrailingSlash } from './common';
import type { PreparedRequest, Publisher, PublishInput, PublishResult } from './types';

export const MASTODON_MAX_MEDIA = 4;
const VISIBILITIES = ['public', 'unlisted', 'private', 'direct'];

export interface MastodonPublisherConfig {
  /** Used only when the account has no instance URL (each Mastodon account carries its own). */
  defaultInstanceUrl?: string;
}

/** The account's instance as an origin ("https://mastodon.social"), or a placeholder. */
export function mastodonInstance(input: PublishInput, fallback?: string): string {
  const raw = setting(input, 'instanceUrl', 'instance', 'baseUrl') ?? fallback;
  if (!raw) return `https://${placeholder('account.instance')}`;
  return trimTrailingSlash(/^https?:\/\//i.test(raw) ? raw : `https://${raw}`);
}

/** Stable per publication and part, so a retried part returns the status already created. */
export function mastodonIdempotencyKey(idempotencyKey: string, index: number): string {
  return `${idempotencyKey}:${index + 1}`;
}

export function createMastodonPublisher(config: MastodonPublisherConfig = {}): Publisher {
  return {
    platform: 'mastodon',
    preview(input: PublishInput): PreparedRequest[] {
      const instance = mastodonInstance(input, config.defaultInstanceUrl);
      const visibilitySetting = setting(input, 'visibility');
      const visibility = visibilitySetting && VISIBILITIES.includes(visibilitySetting) ? visibilitySetting : 'public';
      const images = input.images.slice(0, MASTODON_MAX_MEDIA);
      const requests: PreparedRequest[] = images.map((img, i) => ({
        method: 'POST' as const,
        url: `${instance}/api/v2/media`,
        headers: { Authorization: BEARER_REDACTED, 'Content-Type': 'multipart/form-data' },
        body: { file: bytesOf(img.url), description: img.alt },
        note: `upload image ${i + 1} of ${images.length}; answers {id} (202 while processing: wait until its url is set)`,
      }));
      const total = input.parts.length;
      input.parts.forEach((status, i) => {
        const body: Record<string, unknown> = { status, visibility };
        if (i === 0 && images.length > 0) body.media_ids = images.map((_, k) => placeholder(`media_${k + 1}.id`));
        if (i > 0) body.in_reply_to_id = placeholder(`post_${i}.id`);
        requests.push({
          method: 'POST',
          url: `${instance}/api/v1/statuses`,
          headers: {
            Authorization: BEARER_REDACTED,
            ...JSON_HEADERS,
            'Idempotency-Key': mastodonIdempotencyKey(input.idempotencyKey, i),
          },
          body,
          note: `${partLabel(i, total)}${i > 0 ? `, replies to post ${i}` : ''}; answers {id, url}`,
        });
      });
      return requests;
    },
    async publish(): Promise<PublishResult> {
      throw notAvailableYet('mastodon');
    },
  };
}
