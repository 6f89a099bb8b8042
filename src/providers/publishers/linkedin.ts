// LinkedIn Posts API: POST {base}/rest/posts, versioned headers; answers 201 with the id in `x-restli-id`.
import { BEARER_REDACTED, JSON_HEADERS, bytesOf, joinParts, notAvailableYet, placeholder, setting, trimTrailingSlash } from './common';
import type { PreparedRequest, Publisher, PublishInput, PublishResult } from './types';

export const LINKEDIN_DEFAULT_API_BASE_URL = 'https://api.linkedin.com';
export const LINKEDIN_DEFAULT_VERSION = '202511';
export const LINKEDIN_MAX_IMAGES = 20;

export interface LinkedInPublisherConfig {
  apiBaseUrl?: string;
  /** YYYYMM, sent as `LinkedIn-Version`. */
  version?: string;
}

/**
 * LinkedIn "little text": these characters must be backslash-escaped in `commentary`, or the post is silently cut at
 * the first one: \ | { } @ [ ] ( ) < > # * _ ~
 */
export function escapeLittleText(text: string): string {
  return text.replace(/[\\|{}@[\]()<>#*_~]/g, (c) => `\\${c}`);
}

/** The post author: settings.authorUrn, else a person or organization id, else a placeholder. */
export function linkedInAuthor(input: PublishInput): string {
  const urn = setting(input, 'authorUrn', 'urn');
  if (urn) return urn;
  const org = setting(input, 'organizationId');
  if (org) return `urn:li:organization:${org}`;
  const person = setting(input, 'personId', 'memberId', 'sub');
  if (person) return `urn:li:person:${person}`;
  return `urn:li:person:${placeholder('account.id')}`;
}

export function createLinkedInPublisher(config: LinkedInPublisherConfig = {}): Publisher {
  const base = trimTrailingSlash(config.apiBaseUrl ?? LINKEDIN_DEFAULT_API_BASE_URL);
  const version = config.version ?? LINKEDIN_DEFAULT_VERSION;
  const headers = {
    Authorization: BEARER_REDACTED,
    'LinkedIn-Version': version,
    'X-Restli-Protocol-Version': '2.0.0',
    ...JSON_HEADERS,
  };
  return {
    platform: 'linkedin',
    preview(input: PublishInput): PreparedRequest[] {
      const author = linkedInAuthor(input);
      const requests: PreparedRequest[] = [];
      const images = input.images.slice(0, LINKEDIN_MAX_IMAGES);
      const media: { id: string; altText: string }[] = [];
      images.forEach((img, i) => {
        const n = i + 1;
        requests.push({
          method: 'POST',
          url: `${base}/rest/images?action=initializeUpload`,
          headers: { ...headers },
          body: { initializeUploadRequest: { owner: author } },
          note: `register image ${n} of ${images.length}; answers {value:{uploadUrl, image}}`,
        });
        requests.push({
          method: 'PUT',
          url: placeholder(`image_${n}.uploadUrl`),
          headers: { Authorization: BEARER_REDACTED, 'Content-Type': img.contentType },
          body: bytesOf(img.url),
          note: `upload the bytes of image ${n}`,
        });
        media.push({ id: placeholder(`image_${n}.urn`), altText: img.alt });
      });
      const body: Record<string, unknown> = {
        author,
        commentary: escapeLittleText(joinParts(input.parts)),
        visibility: 'PUBLIC',
        distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
        lifecycleState: 'PUBLISHED',
        isReshareDisabledByAuthor: false,
      };
      if (media.length === 1) body.content = { media: { id: media[0].id, altText: media[0].altText } };
      if (media.length > 1) body.content = { multiImage: { images: media } };
      requests.push({
        method: 'POST',
        url: `${base}/rest/posts`,
        headers: { ...headers },
        body,
        note: 'the post; answers 201 with an empty body and the id in x-restli-id',
      });
      return requests;
    },
    async publish(): Promise<PublishResult> {
      throw notAvailableYet('linkedin');
    },
  };
}
