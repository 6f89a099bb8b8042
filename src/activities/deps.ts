import type { Logger } from 'pino';
import type { AdaptOptions } from '../domain/adapt';
import type { Platform } from '../domain/types';
import type { AccountRepository } from '../db/accounts-repo';
import type { MediaRepository } from '../db/media-repo';
import type { PipelineRepository } from '../db/pipelines-repo';
import type { ScheduleRunRepository } from '../db/schedule-runs-repo';
import type { WebhookRepository } from '../db/webhooks-repo';
import type { ImageSource } from '../providers/images/types';
import type { Publisher, TokenRefresher } from '../providers/publishers/types';
import type { CallContext } from '../providers/rate-info';
import type { TextGenerator } from '../providers/text/types';
import type { Leases } from '../resilience/lease';
import type { Resolve } from '../webhooks/address';

/** Every provider call goes through this: breaker, shared rate limits, learning from the provider's headers. */
export interface ProviderGuard {
  execute<T>(
    provider: string,
    opts: {
      /** Requests this call counts as (default 1; 0 for a call that resumes one already counted). */
      requests?: number;
      tokens?: number;
      usage?: (result: T) => number | undefined;
      /** Stable across retries of one call: a refused caller keeps its reserved future slot. */
      ticket?: string;
      /** Reserve no slot further away than this (a fallback is better than a long wait). */
      maxWaitMs?: number;
      /** Aborts the provider's HTTP request: the activity's cancellationSignal (cancel, heartbeat timeout, shutdown). */
      signal?: AbortSignal;
    },
    fn: (ctx: CallContext) => Promise<T>,
  ): Promise<T>;
}

/** AI responses by provider, model, prompt and parameters. */
export interface AiCache {
  key(parts: unknown): string;
  get<T>(provider: string, key: string): Promise<T | null>;
  set(provider: string, key: string, value: unknown, ttlMs: number): Promise<void>;
}

/** Everything activities need, built once by the worker entry point. */
export interface ActivityDeps {
  pipelines: PipelineRepository;
  media: MediaRepository;
  accounts: AccountRepository;
  /** By name; `offline` is always there. */
  textGenerators: Record<string, TextGenerator>;
  /** By name; `card` is always there. */
  imageSources: Record<string, ImageSource>;
  textChain: string[];
  imageChain: string[];
  guard: ProviderGuard;
  aiCache: AiCache;
  cacheTtlMs: number;
  publishers: Record<Platform, Publisher>;
  /** Platforms whose tokens expire; absent ones (Mastodon, webhooks) never need a refresh. */
  refreshers: Partial<Record<Platform, TokenRefresher>>;
  adaptOptions: AdaptOptions;
  /** Absolute base for media URLs that platforms fetch. */
  publicBaseUrl: string;
  /** Keys media ids so they are unguessable yet stable across activity retries. */
  mediaIdSecret: Buffer;
  logger: Logger;
  /** Skipped runs of recurring pipelines. */
  scheduleRuns: ScheduleRunRepository;
  /** TENANT_MAX_ACTIVE_PIPELINES: a scheduled run that would pass it is skipped; unset: no limit. */
  tenantMaxActivePipelines?: number;
  /** Webhook subscriptions, deliveries and the lifecycle-event outbox. */
  webhooks: WebhookRepository;
  /** WEBHOOK_ALLOW_PRIVATE: deliveries may go to private and loopback addresses. */
  webhookAllowPrivate: boolean;
  /** How webhook hosts are resolved (the system resolver; tests answer for it). */
  webhookResolve: Resolve;
  /** One attempt of a publication posts at a time, across workers (the resilience layer's; absent: this process's). */
  leases?: Leases;
}
