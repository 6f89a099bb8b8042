import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseDuration } from '../domain/duration';
import { PLATFORMS } from '../domain/types';
import { IMAGE_SOURCE_NAMES } from '../providers/images/types';
import type { StabilityEngine } from '../providers/images/stability';
import type { PublishersConfig } from '../providers/publishers';
import { DEFAULT_BREAKER, DEFAULT_CACHE_TTL_MS, DEFAULT_LIMITS } from '../resilience/defaults';
import { parseBreakerSpec, parseLimitSpec, type BreakerSettings, type ProviderLimits, type ResilienceConfig } from '../resilience/types';

// The only reader of process.env. A bad value stops start-up with a message naming the variable.

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The environment of a child process Herald starts (embedded PostgreSQL's initdb and server): this one's, with `overrides`. */
export function childProcessEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

const duration = (name: string) =>
  z.string().transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `${name} must be a duration such as 30s, 10m or 1h (got "${v}")` });
      return z.NEVER;
    }
    return ms;
  });

const port = (name: string) =>
  z.string().transform((v, ctx) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      ctx.addIssue({ code: 'custom', message: `${name} must be a port number 0..65535 (got "${v}")` });
      return z.NEVER;
    }
    return n;
  });

const optionalUrl = (name: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      try {
        new URL(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: `${name} must be a URL (got "${v}")` });
        return z.NEVER;
      }
      return v.replace(/\/+$/, '');
    });

/** A whole number >= min, or unset/empty (undefined: the library's default applies). */
const positiveIntOrUnset = (name: string, min = 1) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number >= ${min} (got "${v}")` });
        return z.NEVER;
      }
      return n;
    });

/** WORKER_MEMORY_TARGET_MB unset: a worker preparing 10,000 scheduled pipelines with title cards stays under 500 MB. */
export const DEFAULT_WORKER_MEMORY_TARGET_MB = 400;

/**
 * WORKER_BULK_LANE_NICE unset: the bulk lane's threads (a tenant's burst over its share) run at nice 19, so another
 * tenant's pipeline gets the worker's CPU first; alone, the burst still has all of it.
 */
export const DEFAULT_WORKER_BULK_LANE_NICE = 19;

/**
 * WORKER_LANES: which lanes a worker process serves (src/worker/lanes.ts). `both` (the default): the main and the bulk
 * lane in one process, the bulk lane's slots gated by the main lane's. `split`: the main lane here and the bulk lane in
 * a child process whose every thread runs at WORKER_BULK_LANE_NICE, gated over IPC (src/worker/bulk-process.ts).
 * `main` or `bulk`: that lane alone and ungated (the child process is `bulk`; benches compare).
 */
export const WORKER_LANE_CHOICES = ['both', 'split', 'main', 'bulk'] as const;
export type WorkerLanes = (typeof WORKER_LANE_CHOICES)[number];

const envSchema = z.object({
  PORT: port('PORT').default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  API_KEYS: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const keys: { tenantId: string; key: string }[] = [];
      for (const pair of v.split(',').map((s) => s.trim()).filter(Boolean)) {
        const i = pair.indexOf(':');
        const tenantId = pair.slice(0, i);
        const key = pair.slice(i + 1);
        if (i <= 0 || !key || !/^[A-Za-z0-9_-]{1,64}$/.test(tenantId)) {
          ctx.addIssue({ code: 'custom', message: 'API_KEYS must be tenant:key pairs separated by commas (tenant: letters, digits, _ or -)' });
          return z.NEVER;
        }
        keys.push({ tenantId, key });
      }
      return keys;
    }),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('herald'),
  TEMPORAL_TLS: z.enum(['true', 'false'], { message: 'TEMPORAL_TLS must be true or false' }).optional(),
  TEMPORAL_TLS_CERT: z.string().optional(),
  TEMPORAL_TLS_KEY: z.string().optional(),
  TEMPORAL_TLS_CA: z.string().optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional(),
  TEMPORAL_API_KEY: z.string().optional(),
  HERALD_TEMPORAL_UI_URL: optionalUrl('HERALD_TEMPORAL_UI_URL'),
  DATABASE_URL: z.string().optional(),
  REDIS_URL: z.string().optional(),
  TOKEN_ENCRYPTION_KEY: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (!v) return undefined;
      const buf = Buffer.from(v, 'base64');
      if (buf.length !== 32) {
        ctx.addIssue({ code: 'custom', message: 'TOKEN_ENCRYPTION_KEY must be 32 bytes, base64-encoded (openssl rand -base64 32)' });
        return z.NEVER;
      }
      return buf;
    }),
  PUBLIC_BASE_URL: optionalUrl('PUBLIC_BASE_URL'),
  TOKEN_REFRESH_EVERY: duration('TOKEN_REFRESH_EVERY').default(600_000),
  TOKEN_REFRESH_AHEAD: duration('TOKEN_REFRESH_AHEAD').default(1_800_000),
  TENANT_MAX_ACTIVE_PIPELINES: z
    .string()
    .default('1000')
    .transform((v, ctx) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) {
        ctx.addIssue({ code: 'custom', message: `TENANT_MAX_ACTIVE_PIPELINES must be a whole number >= 1 (got "${v}")` });
        return z.NEVER;
      }
      return n;
    }),
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
  REVIEW_LINK_TTL: duration('REVIEW_LINK_TTL').default(72 * 3_600_000),
  ACCOUNT_EXPIRY_WARNING: duration('ACCOUNT_EXPIRY_WARNING').default(7 * 86_400_000),
  STALL_NO_PROGRESS_AFTER: duration('STALL_NO_PROGRESS_AFTER').default(600_000),
  WORKER_METRICS_PORT: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) {
        ctx.addIssue({ code: 'custom', message: `WORKER_METRICS_PORT must be a port number 0..65535 (got "${v}")` });
        return z.NEVER;
      }
      return n;
    }),
  WORKER_MAX_ACTIVITIES: positiveIntOrUnset('WORKER_MAX_ACTIVITIES'),
  WORKER_MAX_WORKFLOW_TASKS: positiveIntOrUnset('WORKER_MAX_WORKFLOW_TASKS'),
  WORKER_MAX_CACHED_WORKFLOWS: positiveIntOrUnset('WORKER_MAX_CACHED_WORKFLOWS', 0),
  WORKER_MEMORY_TARGET_MB: positiveIntOrUnset('WORKER_MEMORY_TARGET_MB', 0),
  WORKER_BULK_LANE_NICE: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === '') return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 19) {
        ctx.addIssue({ code: 'custom', message: `WORKER_BULK_LANE_NICE must be a whole number 0..19 (got "${v}")` });
        return z.NEVER;
      }
      return n;
    }),
  WORKER_LANES: z.enum(WORKER_LANE_CHOICES, { message: `WORKER_LANES must be one of ${WORKER_LANE_CHOICES.join(', ')}` }).default('both'),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl('OTEL_EXPORTER_OTLP_ENDPOINT'),
  INSTAGRAM_MAX_HASHTAGS: z
    .string()
    .default('5')
    .transform((v, ctx) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 30) {
        ctx.addIssue({ code: 'custom', message: `INSTAGRAM_MAX_HASHTAGS must be a whole number 0..30 (got "${v}")` });
        return z.NEVER;
      }
      return n;
    }),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  DATA_DIR: z.string().default('.data'),
  TEXT_PROVIDERS: z.string().optional(),
  IMAGE_SOURCES: z.string().optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: optionalUrl('OPENAI_BASE_URL'),
  OPENAI_MODEL: z.string().optional(),
  OPENAI_IMAGE_MODEL: z.string().optional(),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: optionalUrl('ANTHROPIC_BASE_URL'),
  ANTHROPIC_MODEL: z.string().optional(),
  GEMINI_API_KEY: z.string().optional(),
  GEMINI_BASE_URL: optionalUrl('GEMINI_BASE_URL'),
  GEMINI_MODEL: z.string().optional(),
  STABILITY_API_KEY: z.string().optional(),
  STABILITY_BASE_URL: optionalUrl('STABILITY_BASE_URL'),
  STABILITY_MODEL: z.enum(['core', 'ultra', 'sd3'], { message: 'STABILITY_MODEL must be core, ultra or sd3' }).optional(),
  UNSPLASH_ACCESS_KEY: z.string().optional(),
  UNSPLASH_BASE_URL: optionalUrl('UNSPLASH_BASE_URL'),
  PEXELS_API_KEY: z.string().optional(),
  PEXELS_BASE_URL: optionalUrl('PEXELS_BASE_URL'),
  AI_CACHE_TTL: duration('AI_CACHE_TTL').default(DEFAULT_CACHE_TTL_MS),
  AI_TIMEOUT: duration('AI_TIMEOUT').default(120_000),
  X_API_BASE_URL: optionalUrl('X_API_BASE_URL'),
  X_CLIENT_ID: z.string().optional(),
  X_CLIENT_SECRET: z.string().optional(),
  LINKEDIN_OAUTH_BASE_URL: optionalUrl('LINKEDIN_OAUTH_BASE_URL'),
  LINKEDIN_CLIENT_ID: z.string().optional(),
  LINKEDIN_CLIENT_SECRET: z.string().optional(),
  META_APP_ID: z.string().optional(),
  META_APP_SECRET: z.string().optional(),
  LINKEDIN_API_BASE_URL: optionalUrl('LINKEDIN_API_BASE_URL'),
  LINKEDIN_VERSION: z
    .string()
    .regex(/^\d{6}$/, 'LINKEDIN_VERSION must be YYYYMM')
    .optional(),
  META_GRAPH_BASE_URL: optionalUrl('META_GRAPH_BASE_URL'),
  THREADS_API_BASE_URL: optionalUrl('THREADS_API_BASE_URL'),
  BLUESKY_SERVICE_URL: optionalUrl('BLUESKY_SERVICE_URL'),
});

/** Text providers in their default order: each one configured, `offline` (never fails) last. */
export const TEXT_PROVIDER_NAMES = ['openai', 'anthropic', 'gemini', 'offline'] as const;
/** Every provider with its own rate limits and breaker (contract: <PROVIDER>): the AI services, then every platform. */
export const PROVIDERS = ['openai', 'anthropic', 'gemini', 'stability', 'unsplash', 'pexels', ...PLATFORMS] as const;

/**
 * The AI services configured. A base URL or model left unset here is the provider's own default (src/providers/text,
 * src/providers/images own them).
 */
export interface AiConfig {
  textChain: string[];
  imageChain: string[];
  timeoutMs: number;
  cacheTtlMs: number;
  openai?: { apiKey?: string; baseUrl?: string; model?: string; imageModel?: string };
  anthropic?: { apiKey: string; baseUrl?: string; model?: string };
  gemini?: { apiKey: string; baseUrl?: string; model?: string };
  stability?: { apiKey: string; baseUrl?: string; engine?: StabilityEngine };
  unsplash?: { accessKey: string; baseUrl?: string };
  pexels?: { apiKey: string; baseUrl?: string };
}

/** How to reach Temporal beyond its address: TLS (a cluster's mTLS, Temporal Cloud) and an API key. */
export interface TemporalTls {
  /** PEM of the client certificate and key, for mTLS. */
  clientCertPair?: { crt: Buffer; key: Buffer };
  /** PEM of the CA that signed the server's certificate; unset: the system's roots. */
  serverRootCACertificate?: Buffer;
  serverNameOverride?: string;
}

/** The options every Temporal connection (API client, worker, worker's client) takes: the same server the same way. */
export interface TemporalConnectionOptions {
  address: string;
  /** false: plain gRPC (the dev server, a cluster inside a private network). */
  tls: TemporalTls | false;
  apiKey?: string;
}

export type Config = {
  port: number;
  host: string;
  apiKeys: { tenantId: string; key: string }[];
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string; tls: TemporalTls | false; apiKey: string | undefined };
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  encryptionKey: Buffer | undefined;
  publicBaseUrl: string;
  tokenRefreshEveryMs: number;
  tokenRefreshAheadMs: number;
  tenantMaxActivePipelines: number;
  /** Webhook URLs may point at private and loopback addresses (development, tests). */
  webhookAllowPrivate: boolean;
  /** How long a review link lives unless the request says otherwise. */
  reviewLinkTtlMs: number;
  /** How far ahead of a token's expiry `account.token_expiring` fires. */
  accountExpiryWarningMs: number;
  /** A started pipeline with no recorded step for this long is listed by GET /v1/stalls as stuck. */
  stallNoProgressAfterMs: number;
  /** The worker's own /metrics and /health; undefined: none (npm start sets one). */
  workerMetricsPort: number | undefined;
  /** Activity slots per worker process (maxConcurrentActivityTaskExecutions); undefined: the Temporal SDK's default. */
  workerMaxActivities: number | undefined;
  /** Workflow task slots per worker process (maxConcurrentWorkflowTaskExecutions); undefined: the SDK's default. */
  workerMaxWorkflowTasks: number | undefined;
  /** Workflows kept in the worker's cache (maxCachedWorkflows); undefined: src/bootstrap/worker.ts's default (100). */
  workerMaxCachedWorkflows: number | undefined;
  /** WORKER_MEMORY_TARGET_MB in bytes: above it a worker asks V8 for a full collection (src/worker/memory-guard.ts); 0 turns that off. */
  workerMemoryTargetBytes: number;
  /** WORKER_BULK_LANE_NICE: the OS nice value of the bulk lane's threads (src/worker/thread-priority.ts); 0 leaves them. */
  workerBulkLaneNice: number;
  /** WORKER_LANES: the lanes this worker process serves. */
  workerLanes: WorkerLanes;
  /** OTLP/HTTP endpoint for traces; undefined: no tracing. */
  otelEndpoint: string | undefined;
  instagramMaxHashtags: number;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  dataDir: string;
  ai: AiConfig;
  resilience: ResilienceConfig;
  /** OAuth apps for token refresh; absent: that platform's tokens are not refreshed by Herald. */
  oauth: {
    x?: { clientId: string; clientSecret?: string };
    linkedin?: { clientId: string; clientSecret: string; oauthBaseUrl?: string };
    meta?: { appId: string; appSecret: string };
  };
  publishers: PublishersConfig;
};

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') cleaned[k] = v;
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || 'env'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const host = e.HOST;
  const problems: string[] = [];
  const ai = aiConfig(e, problems);
  const resilience = resilienceConfig(cleaned, problems);
  const temporalTls = temporalTlsConfig(e, problems);
  if (problems.length) throw new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return {
    port: e.PORT,
    host,
    apiKeys: e.API_KEYS,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.HERALD_TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233',
      tls: temporalTls,
      apiKey: e.TEMPORAL_API_KEY,
    },
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    encryptionKey: e.TOKEN_ENCRYPTION_KEY,
    publicBaseUrl: e.PUBLIC_BASE_URL ?? `http://${host}:${e.PORT}`,
    tokenRefreshEveryMs: e.TOKEN_REFRESH_EVERY,
    tokenRefreshAheadMs: e.TOKEN_REFRESH_AHEAD,
    tenantMaxActivePipelines: e.TENANT_MAX_ACTIVE_PIPELINES,
    webhookAllowPrivate: e.WEBHOOK_ALLOW_PRIVATE === 'true',
    reviewLinkTtlMs: e.REVIEW_LINK_TTL,
    accountExpiryWarningMs: e.ACCOUNT_EXPIRY_WARNING,
    stallNoProgressAfterMs: e.STALL_NO_PROGRESS_AFTER,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    workerMaxActivities: e.WORKER_MAX_ACTIVITIES,
    workerMaxWorkflowTasks: e.WORKER_MAX_WORKFLOW_TASKS,
    workerMaxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
    workerMemoryTargetBytes: (e.WORKER_MEMORY_TARGET_MB ?? DEFAULT_WORKER_MEMORY_TARGET_MB) * 1_048_576,
    workerBulkLaneNice: e.WORKER_BULK_LANE_NICE ?? DEFAULT_WORKER_BULK_LANE_NICE,
    workerLanes: e.WORKER_LANES,
    otelEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    instagramMaxHashtags: e.INSTAGRAM_MAX_HASHTAGS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json'),
    dataDir: e.DATA_DIR,
    ai,
    resilience,
    oauth: {
      x: e.X_CLIENT_ID ? { clientId: e.X_CLIENT_ID, clientSecret: e.X_CLIENT_SECRET } : undefined,
      linkedin:
        e.LINKEDIN_CLIENT_ID && e.LINKEDIN_CLIENT_SECRET
          ? { clientId: e.LINKEDIN_CLIENT_ID, clientSecret: e.LINKEDIN_CLIENT_SECRET, oauthBaseUrl: e.LINKEDIN_OAUTH_BASE_URL }
          : undefined,
      meta: e.META_APP_ID && e.META_APP_SECRET ? { appId: e.META_APP_ID, appSecret: e.META_APP_SECRET } : undefined,
    },
    publishers: {
      xApiBaseUrl: e.X_API_BASE_URL,
      linkedinApiBaseUrl: e.LINKEDIN_API_BASE_URL,
      linkedinVersion: e.LINKEDIN_VERSION,
      metaGraphBaseUrl: e.META_GRAPH_BASE_URL,
      threadsApiBaseUrl: e.THREADS_API_BASE_URL,
      blueskyServiceUrl: e.BLUESKY_SERVICE_URL,
    },
  };
}

type Env = z.infer<typeof envSchema>;

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}

function aiConfig(e: Env, problems: string[]): AiConfig {
  const ai: AiConfig = { textChain: [], imageChain: [], timeoutMs: e.AI_TIMEOUT, cacheTtlMs: e.AI_CACHE_TTL };
  // OpenAI-compatible servers (Ollama, vLLM, LM Studio) often need no key: a base URL alone configures it.
  if (e.OPENAI_API_KEY || e.OPENAI_BASE_URL) {
    ai.openai = { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL, model: e.OPENAI_MODEL, imageModel: e.OPENAI_IMAGE_MODEL };
  }
  if (e.ANTHROPIC_API_KEY) ai.anthropic = { apiKey: e.ANTHROPIC_API_KEY, baseUrl: e.ANTHROPIC_BASE_URL, model: e.ANTHROPIC_MODEL };
  if (e.GEMINI_API_KEY) ai.gemini = { apiKey: e.GEMINI_API_KEY, baseUrl: e.GEMINI_BASE_URL, model: e.GEMINI_MODEL };
  if (e.STABILITY_API_KEY) ai.stability = { apiKey: e.STABILITY_API_KEY, baseUrl: e.STABILITY_BASE_URL, engine: e.STABILITY_MODEL };
  if (e.UNSPLASH_ACCESS_KEY) ai.unsplash = { accessKey: e.UNSPLASH_ACCESS_KEY, baseUrl: e.UNSPLASH_BASE_URL };
  if (e.PEXELS_API_KEY) ai.pexels = { apiKey: e.PEXELS_API_KEY, baseUrl: e.PEXELS_BASE_URL };

  const textConfigured = (n: string) => n === 'offline' || Boolean((ai as unknown as Record<string, unknown>)[n]);
  const text = list(e.TEXT_PROVIDERS);
  if (text) {
    for (const n of text) {
      if (!(TEXT_PROVIDER_NAMES as readonly string[]).includes(n)) problems.push(`TEXT_PROVIDERS: unknown provider "${n}" (one of ${TEXT_PROVIDER_NAMES.join(', ')})`);
      else if (!textConfigured(n)) problems.push(`TEXT_PROVIDERS: ${n} is listed but ${n.toUpperCase()}_API_KEY is not set`);
    }
    if (text.length === 0) problems.push('TEXT_PROVIDERS: name at least one provider');
    ai.textChain = [...new Set(text)];
  } else {
    ai.textChain = TEXT_PROVIDER_NAMES.filter(textConfigured);
  }

  const imageConfigured = (n: string) => n === 'card' || Boolean((ai as unknown as Record<string, unknown>)[n]);
  const images = list(e.IMAGE_SOURCES);
  if (images) {
    for (const n of images) {
      if (!(IMAGE_SOURCE_NAMES as readonly string[]).includes(n)) problems.push(`IMAGE_SOURCES: unknown source "${n}" (one of ${IMAGE_SOURCE_NAMES.join(', ')})`);
      else if (!imageConfigured(n)) problems.push(`IMAGE_SOURCES: ${n} is listed but its API key is not set`);
    }
    ai.imageChain = [...new Set([...images.filter((n) => n !== 'card'), 'card'])];
  } else {
    ai.imageChain = IMAGE_SOURCE_NAMES.filter(imageConfigured);
  }
  return ai;
}

/** Options for Connection.connect, Connection.lazy and NativeConnection.connect, from the configuration. */
export function temporalConnectionOptions(config: Pick<Config, 'temporal'>): TemporalConnectionOptions {
  const { address, tls, apiKey } = config.temporal;
  return apiKey ? { address, tls, apiKey } : { address, tls };
}

function readPem(name: string, file: string | undefined, problems: string[]): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    const pem = readFileSync(file);
    if (!pem.includes('-----BEGIN ')) problems.push(`${name}: ${file} is not a PEM file (no -----BEGIN line)`);
    return pem;
  } catch (err) {
    problems.push(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    return undefined;
  }
}

/**
 * TLS is on when TEMPORAL_TLS=true, or when a certificate, a CA or an API key is given (Temporal Cloud takes API keys
 * over TLS only), unless TEMPORAL_TLS=false says otherwise. Certificate and key come together (mTLS) or not at all.
 */
function temporalTlsConfig(e: Env, problems: string[]): TemporalTls | false {
  const files = e.TEMPORAL_TLS_CERT !== undefined || e.TEMPORAL_TLS_KEY !== undefined || e.TEMPORAL_TLS_CA !== undefined;
  if (e.TEMPORAL_TLS === 'false') {
    if (files) problems.push('TEMPORAL_TLS: false, yet TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY or TEMPORAL_TLS_CA is set');
    return false;
  }
  if (e.TEMPORAL_TLS !== 'true' && !files && !e.TEMPORAL_API_KEY && !e.TEMPORAL_TLS_SERVER_NAME) return false;
  if ((e.TEMPORAL_TLS_CERT === undefined) !== (e.TEMPORAL_TLS_KEY === undefined)) {
    problems.push(`TEMPORAL_TLS_${e.TEMPORAL_TLS_CERT === undefined ? 'CERT' : 'KEY'}: must be set together with TEMPORAL_TLS_${e.TEMPORAL_TLS_CERT === undefined ? 'KEY' : 'CERT'} (mTLS needs both)`);
  }
  const crt = readPem('TEMPORAL_TLS_CERT', e.TEMPORAL_TLS_CERT, problems);
  const key = readPem('TEMPORAL_TLS_KEY', e.TEMPORAL_TLS_KEY, problems);
  const ca = readPem('TEMPORAL_TLS_CA', e.TEMPORAL_TLS_CA, problems);
  return {
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: e.TEMPORAL_TLS_SERVER_NAME } : {}),
  };
}

function resilienceConfig(env: Record<string, string>, problems: string[]): ResilienceConfig {
  const limits: Record<string, ProviderLimits> = {};
  const breakers: Record<string, BreakerSettings> = {};
  let defaultBreaker: BreakerSettings = DEFAULT_BREAKER;
  const parse = <T>(name: string, fn: (v: string) => T): T | undefined => {
    const v = env[name];
    if (v === undefined) return undefined;
    try {
      return fn(v);
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
      return undefined;
    }
  };
  defaultBreaker = parse('CIRCUIT_BREAKER', parseBreakerSpec) ?? defaultBreaker;
  for (const p of PROVIDERS) {
    const up = p.toUpperCase();
    const base = DEFAULT_LIMITS[p] ?? { requests: [], tokens: [] };
    limits[p] = {
      requests: parse(`RATE_LIMIT_${up}`, parseLimitSpec) ?? base.requests,
      tokens: parse(`RATE_LIMIT_${up}_TOKENS`, parseLimitSpec) ?? base.tokens,
    };
    const b = parse(`CIRCUIT_BREAKER_${up}`, parseBreakerSpec);
    if (b) breakers[p] = b;
  }
  // Herald's own waiting callers (Temporal activities) come back on retry timers: spaced slots keep them in single file.
  return { limits, breakers, defaultBreaker, cacheTtlMs: parseDuration(env.AI_CACHE_TTL ?? '') ?? DEFAULT_CACHE_TTL_MS, spaceReservations: true };
}
