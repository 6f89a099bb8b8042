import { z } from 'zod';

// The only reader of process.env. A bad value stops start-up with a message naming the variable.

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** "10m" -> 600000. Returns null for anything that is not a duration. */
export function parseDuration(text: string): number | null {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(n * unit);
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
  X_API_BASE_URL: optionalUrl('X_API_BASE_URL'),
  LINKEDIN_API_BASE_URL: optionalUrl('LINKEDIN_API_BASE_URL'),
  LINKEDIN_VERSION: z
    .string()
    .regex(/^\d{6}$/, 'LINKEDIN_VERSION must be YYYYMM')
    .optional(),
  META_GRAPH_BASE_URL: optionalUrl('META_GRAPH_BASE_URL'),
  THREADS_API_BASE_URL: optionalUrl('THREADS_API_BASE_URL'),
  BLUESKY_SERVICE_URL: optionalUrl('BLUESKY_SERVICE_URL'),
});

export type Config = {
  port: number;
  host: string;
  apiKeys: { tenantId: string; key: string }[];
  temporal: { address: string; namespace: string; taskQueue: string; uiUrl: string };
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  encryptionKey: Buffer | undefined;
  publicBaseUrl: string;
  tokenRefreshEveryMs: number;
  tokenRefreshAheadMs: number;
  tenantMaxActivePipelines: number;
  instagramMaxHashtags: number;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  dataDir: string;
  publishers: {
    xApiBaseUrl?: string;
    linkedinApiBaseUrl?: string;
    linkedinVersion?: string;
    metaGraphBaseUrl?: string;
    threadsApiBaseUrl?: string;
    blueskyServiceUrl?: string;
  };
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
  return {
    port: e.PORT,
    host,
    apiKeys: e.API_KEYS,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.HERALD_TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233',
    },
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    encryptionKey: e.TOKEN_ENCRYPTION_KEY,
    publicBaseUrl: e.PUBLIC_BASE_URL ?? `http://${host}:${e.PORT}`,
    tokenRefreshEveryMs: e.TOKEN_REFRESH_EVERY,
    tokenRefreshAheadMs: e.TOKEN_REFRESH_AHEAD,
    tenantMaxActivePipelines: e.TENANT_MAX_ACTIVE_PIPELINES,
    instagramMaxHashtags: e.INSTAGRAM_MAX_HASHTAGS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json'),
    dataDir: e.DATA_DIR,
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
