// One Publisher per platform, built from configuration (see contract.md: X_API_BASE_URL, LINKEDIN_API_BASE_URL,
// LINKEDIN_VERSION, META_GRAPH_BASE_URL, THREADS_API_BASE_URL, BLUESKY_SERVICE_URL).
import type { Platform } from '../../domain/types';
import { createBlueskyPublisher } from './bluesky';
import { createDiscordPublisher } from './discord';
import { createFacebookPublisher } from './facebook';
import { createInstagramPublisher } from './instagram';
import { createLinkedInPublisher } from './linkedin';
import { createMastodonPublisher } from './mastodon';
import { createSlackPublisher } from './slack';
import { createThreadsPublisher } from './threads';
import type { Publisher } from './types';
import { createWebhookPublisher } from './webhook';
import { createXPublisher } from './x';

export interface PublishersConfig {
  /** X_API_BASE_URL; default https://api.x.com */
  xApiBaseUrl?: string;
  /** LINKEDIN_API_BASE_URL; default https://api.linkedin.com */
  linkedinApiBaseUrl?: string;
  /** LINKEDIN_VERSION (YYYYMM); default 202511 */
  linkedinVersion?: string;
  /** META_GRAPH_BASE_URL including the version, for Facebook and Instagram; default https://graph.facebook.com/v21.0 */
  metaGraphBaseUrl?: string;
  /** THREADS_API_BASE_URL; default https://graph.threads.net/v1.0 */
  threadsApiBaseUrl?: string;
  /** BLUESKY_SERVICE_URL; default https://bsky.social */
  blueskyServiceUrl?: string;
  /** Timeout per webhook request (Slack, Discord, webhook); default 10 000 ms. */
  webhookTimeoutMs?: number;
  /** Clock for timestamps inside requests (Bluesky `createdAt`); default the system clock. */
  now?: () => Date;
}

export function createPublishers(config: PublishersConfig = {}): Record<Platform, Publisher> {
  const timeoutMs = config.webhookTimeoutMs;
  return {
    x: createXPublisher({ apiBaseUrl: config.xApiBaseUrl }),
    linkedin: createLinkedInPublisher({ apiBaseUrl: config.linkedinApiBaseUrl, version: config.linkedinVersion }),
    facebook: createFacebookPublisher({ graphBaseUrl: config.metaGraphBaseUrl }),
    instagram: createInstagramPublisher({ graphBaseUrl: config.metaGraphBaseUrl }),
    threads: createThreadsPublisher({ apiBaseUrl: config.threadsApiBaseUrl }),
    mastodon: createMastodonPublisher(),
    bluesky: createBlueskyPublisher({ serviceUrl: config.blueskyServiceUrl, now: config.now }),
    slack: createSlackPublisher({ timeoutMs }),
    discord: createDiscordPublisher({ timeoutMs }),
    webhook: createWebhookPublisher({ timeoutMs }),
  };
}

export type { Publisher } from './types';
export { createXPublisher } from './x';
export { createLinkedInPublisher } from './linkedin';
export { createFacebookPublisher } from './facebook';
export { createInstagramPublisher } from './instagram';
export { createThreadsPublisher } from './threads';
export { createMastodonPublisher } from './mastodon';
export { createBlueskyPublisher } from './bluesky';
export { createSlackPublisher } from './slack';
export { createDiscordPublisher } from './discord';
export { createWebhookPublisher } from './webhook';
