import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { ActivityDeps, AiCache, ProviderGuard } from '../activities';
import type { Config } from '../config';
import { createAccountRepository } from '../db/accounts-repo';
import { createMediaRepository } from '../db/media-repo';
import { createPipelineRepository } from '../db/pipelines-repo';
import { createScheduleRunRepository } from '../db/schedule-runs-repo';
import { createSecretBox } from '../db/secret-box';
import { createWebhookRepository } from '../db/webhooks-repo';
import { systemResolve } from '../webhooks/address';
import { createCardImageSource } from '../providers/images/card';
import { createOpenAIImageSource } from '../providers/images/openai-images';
import { createPexelsImageSource } from '../providers/images/pexels';
import { createStabilityImageSource } from '../providers/images/stability';
import type { ImageSource } from '../providers/images/types';
import { createUnsplashImageSource } from '../providers/images/unsplash';
import { createPublishers } from '../providers/publishers';
import { createFacebookTokenRefresher, createInstagramTokenRefresher, createThreadsTokenRefresher } from '../providers/publishers/meta-refreshers';
import { createBlueskyTokenRefresher, createLinkedInTokenRefresher, createXTokenRefresher } from '../providers/publishers/refreshers';
import type { TokenRefresher } from '../providers/publishers/types';
import type { Platform } from '../domain/types';
import { createAnthropicTextGenerator } from '../providers/text/anthropic';
import { createGeminiTextGenerator } from '../providers/text/gemini';
import { createOfflineTextGenerator } from '../providers/text/offline';
import { createOpenAITextGenerator } from '../providers/text/openai';
import type { TextGenerator } from '../providers/text/types';
import type { Resilience } from '../resilience';
import { cacheKey } from '../resilience/response-cache';

/** Text generators for every configured provider, `offline` always. */
export function buildTextGenerators(config: Config): Record<string, TextGenerator> {
  const { ai } = config;
  const out: Record<string, TextGenerator> = { offline: createOfflineTextGenerator() };
  if (ai.openai) out.openai = createOpenAITextGenerator({ apiKey: ai.openai.apiKey, baseUrl: ai.openai.baseUrl, model: ai.openai.model, timeoutMs: ai.timeoutMs });
  if (ai.anthropic) out.anthropic = createAnthropicTextGenerator({ apiKey: ai.anthropic.apiKey, baseUrl: ai.anthropic.baseUrl, model: ai.anthropic.model, timeoutMs: ai.timeoutMs });
  if (ai.gemini) out.gemini = createGeminiTextGenerator({ apiKey: ai.gemini.apiKey, baseUrl: ai.gemini.baseUrl, model: ai.gemini.model, timeoutMs: ai.timeoutMs });
  return out;
}

/** Image sources for every configured source, `card` always. */
export function buildImageSources(config: Config): Record<string, ImageSource> {
  const { ai } = config;
  const out: Record<string, ImageSource> = { card: createCardImageSource() };
  if (ai.openai) out.openai = createOpenAIImageSource({ apiKey: ai.openai.apiKey, baseUrl: ai.openai.baseUrl, model: ai.openai.imageModel, timeoutMs: ai.timeoutMs });
  if (ai.stability) out.stability = createStabilityImageSource({ apiKey: ai.stability.apiKey, baseUrl: ai.stability.baseUrl, engine: ai.stability.engine });
  if (ai.unsplash) out.unsplash = createUnsplashImageSource({ accessKey: ai.unsplash.accessKey, baseUrl: ai.unsplash.baseUrl });
  if (ai.pexels) out.pexels = createPexelsImageSource({ apiKey: ai.pexels.apiKey, baseUrl: ai.pexels.baseUrl });
  return out;
}

/** Token refreshers for the platforms whose tokens expire and whose OAuth app is configured. */
export function buildRefreshers(config: Config): Partial<Record<Platform, TokenRefresher>> {
  const { oauth, publishers } = config;
  const out: Partial<Record<Platform, TokenRefresher>> = {
    bluesky: createBlueskyTokenRefresher({ serviceUrl: publishers.blueskyServiceUrl }),
    // Instagram-login and Threads tokens refresh with the token itself, no app secret needed.
    instagram: createInstagramTokenRefresher(publishers.metaGraphBaseUrl ? { graphBaseUrl: publishers.metaGraphBaseUrl } : {}),
    threads: createThreadsTokenRefresher(publishers.threadsApiBaseUrl ? { apiBaseUrl: publishers.threadsApiBaseUrl } : {}),
  };
  if (oauth.x) out.x = createXTokenRefresher({ apiBaseUrl: publishers.xApiBaseUrl, clientId: oauth.x.clientId, clientSecret: oauth.x.clientSecret });
  if (oauth.linkedin) out.linkedin = createLinkedInTokenRefresher({ oauthBaseUrl: oauth.linkedin.oauthBaseUrl, clientId: oauth.linkedin.clientId, clientSecret: oauth.linkedin.clientSecret });
  if (oauth.meta) out.facebook = createFacebookTokenRefresher({ graphBaseUrl: publishers.metaGraphBaseUrl, appId: oauth.meta.appId, appSecret: oauth.meta.appSecret });
  return out;
}

/** The activities' view of the shared response cache. */
export function aiCacheOf(resilience: Resilience): AiCache {
  return {
    key: (parts) => cacheKey(parts),
    get: async <T>(provider: string, key: string) => ((await resilience.cache.get<T>(key, provider)) ?? null) as T | null,
    set: (provider, key, value, ttlMs) => resilience.cache.set(key, value, ttlMs),
  };
}

/** Builds every provider and repository the activities use. Called by entry points only. */
export function buildActivityDeps(config: Config, pool: Pool, encryptionKey: Buffer, logger: Logger, resilience: Resilience): ActivityDeps {
  const guard: ProviderGuard = { execute: (provider, opts, fn) => resilience.execute(provider, opts, fn) };
  const box = createSecretBox(encryptionKey);
  return {
    pipelines: createPipelineRepository(pool),
    media: createMediaRepository(pool),
    accounts: createAccountRepository(pool, box),
    textGenerators: buildTextGenerators(config),
    imageSources: buildImageSources(config),
    textChain: config.ai.textChain,
    imageChain: config.ai.imageChain,
    guard,
    aiCache: aiCacheOf(resilience),
    cacheTtlMs: config.ai.cacheTtlMs,
    publishers: createPublishers(config.publishers),
    refreshers: buildRefreshers(config),
    adaptOptions: { instagramHashtagCap: config.instagramMaxHashtags },
    publicBaseUrl: config.publicBaseUrl,
    mediaIdSecret: encryptionKey,
    logger,
    scheduleRuns: createScheduleRunRepository(pool),
    tenantMaxActivePipelines: config.tenantMaxActivePipelines,
    webhooks: createWebhookRepository(pool, box),
    webhookAllowPrivate: config.webhookAllowPrivate,
    webhookResolve: systemResolve,
    leases: resilience.leases,
  };
}
