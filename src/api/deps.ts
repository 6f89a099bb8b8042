import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config';
import type { AccountRepository } from '../db/accounts-repo';
import type { MediaRepository } from '../db/media-repo';
import type { PipelineRepository } from '../db/pipelines-repo';
import type { TenantRepository } from '../db/tenants-repo';
import type { WebhookRepository } from '../db/webhooks-repo';
import type { Resilience } from '../resilience';

export interface ApiDeps {
  config: Config;
  pool: Pool;
  temporal: Client;
  pipelines: PipelineRepository;
  tenants: TenantRepository;
  media: MediaRepository;
  accounts: AccountRepository;
  /** Outgoing webhook subscriptions and their delivery log. */
  webhooks: WebhookRepository;
  logger: Logger;
  metrics: Registry;
  /** Limits, breakers and cache: shared with the worker in `npm start`, through Redis otherwise. */
  resilience: Resilience;
  /** Signs review links: derived from TOKEN_ENCRYPTION_KEY for that purpose only (src/domain/review-token.ts). */
  reviewLinkKey: Buffer;
  /** How often an SSE stream looks for a new state, ms. */
  eventsPollMs?: number;
}
