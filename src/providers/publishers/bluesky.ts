// Bluesky (AT Protocol): createSession with an app password, then com.atproto.repo.createRecord per part. Links and
// hashtags are not detected by the server: they need facets whose offsets are UTF-8 byte positions.
import { BEARER_REDACTED, JSON_HEADERS, REDACTED, bytesOf, findLinks, notAvailableYet, partLabel, placeholder, setting, trimTrailingSlash } from './common';
import type { PreparedRequest, Publisher, PublishInput, PublishResult } from './types';

export const BLUESKY_DEFAULT_SERVICE_URL = 'https://bsky.social';
export const BLUESKY_MAX_IMAGES = 4;

export interface BlueskyPublisherConfig {
  serviceUrl?: string;
  /** Clock for `createdAt`; tests pass a fixed one. */
  now?: () => Date;
}

export interface BlueskyFacet {
  index: { byteStart: number; byteEnd: number };
  features: ({ $type: 'app.bsky.richtext.facet#link'; uri: string } | { $type: 'app.bsky.richtext.facet#tag'; tag: string })[];
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Link and hashtag facets for a post text, with UTF-8 byte offsets as the AT Protocol requires. */
export function blueskyFacets(text: string): BlueskyFacet[] {
  const facets: BlueskyFacet[] = [];
  const taken: [number, number][] = [];
  for (const link of findLinks(text)) {
    taken.push([link.start, link.end]);
    facets.push({
      index: { byteStart: utf8Length(text.slice(0, link.start)), byteEnd: utf8Length(text.slice(0, link.end)) },
      features: [{ $type: 'app.bsky.richtext.facet#link', uri: link.url }],
    });
  }
  // A hashtag starts the text or follows whitespace; digits alone are not a tag.
  const tagRe = /(^|\s)([#＃])([^\s#＃]+)/gu;
  let m: RegExpExecArray | null;
  while ((m = tagRe.exec(text)) !== null) {
    const tag = m[3].replace(/[.,;:!?'")\]}>]+$/u, '');
    if (!tag || /^\d+$/.test(tag) || [...tag].length > 64) continue;
    const start = m.index + m[1].length;
    const end = start + m[2].length + tag.length;
    if (taken.some(([a, b]) => start < b && end > a)) continue;
    facets.push({
      index: { byteStart: utf8Length(text.slice(0, start)), byteEnd: utf8Length(text.slice(0, end)) },
      features: [{ $type: 'app.bsky.richtext.facet#tag', tag }],
    });
  }
  return facets.sort((a, b) => a.index.byteStart - b.index.byteStart);
}

export function createBlueskyPublisher(config: BlueskyPublisherConfig = {}): Publisher {
  const service = trimTrailingSlash(config.serviceUrl ?? BLUESKY_DEFAULT_SERVICE_URL);
  const now = config.now ?? (() => new Date());
  return {
    platform: 'bluesky',
    preview(input: PublishInput): PreparedRequest[] {
      const identifier = setting(input, 'identifier', 'handle') ?? input.account?.handle ?? placeholder('account.handle');
      const repo = setting(input, 'did') ?? placeholder('session.did');
      const requests: PreparedRequest[] = [
        {
          method: 'POST',
          url: `${service}/xrpc/com.atproto.server.createSession`,
          headers: { ...JSON_HEADERS },
          body: { identifier, password: REDACTED },
          note: 'log in with the app password; answers {accessJwt, refreshJwt, did}',
        },
      ];
      const images = input.images.slice(0, BLUESKY_MAX_IMAGES);
      images.forEach((img, i) => {
        requests.push({
          method: 'POST',
          url: `${service}/xrpc/com.atproto.repo.uploadBlob`,
          headers: { Authorization: BEARER_REDACTED, 'Content-Type': img.contentType },
          body: bytesOf(img.url),
          note: `upload image ${i + 1} of ${images.length}; answers {blob}`,
        });
      });
      const createdAt = now().toISOString();
      const total = input.parts.length;
      input.parts.forEach((text, i) => {
        const record: Record<string, unknown> = { $type: 'app.bsky.feed.post', text, createdAt };
        const facets = blueskyFacets(text);
        if (facets.length > 0) record.facets = facets;
        if (i === 0 && images.length > 0) {
          record.embed = {
            $type: 'app.bsky.embed.images',
            images: images.map((img, k) => ({ alt: img.alt, image: placeholder(`blob_${k + 1}`) })),
          };
        }
        if (i > 0) {
          record.reply = {
            root: { uri: placeholder('post_1.uri'), cid: placeholder('post_1.cid') },
            parent: { uri: placeholder(`post_${i}.uri`), cid: placeholder(`post_${i}.cid`) },
          };
        }
        requests.push({
          method: 'POST',
          url: `${service}/xrpc/com.atproto.repo.createRecord`,
          headers: { Authorization: BEARER_REDACTED, ...JSON_HEADERS },
          body: { repo, collection: 'app.bsky.feed.post', record },
          note: `${partLabel(i, total)}${i > 0 ? `, replies to post ${i} in the thread of post 1` : ''}; answers {uri, cid}`,
        });
      });
      return requests;
    },
    async publish(): Promise<PublishResult> {
      throw notAvailableYet('bluesky');
    },
  };
}
