// Entry: npm run api. Reads config, connects, listens, shuts down gracefully.
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ConnectionOptions } from '@temporalio/client';
import closeWithGrace from 'close-with-grace';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError, loadConfig } from '../config';
import { createAccountRepository } from '../db/accounts-repo';
import { resolveEncryptionKey } from '../db/encryption-key';
import { createMediaRepository } from '../db/media-repo';
import { runMigrationsWhenReachable } from '../db/migrate';
import { createPipelineRepository } from '../db/pipelines-repo';
import { createPool } from '../db/pool';
import { createSecretBox } from '../db/secret-box';
import { createTenantRepository } from '../db/tenants-repo';
import { createLogger } from '../logger';
import type { Config } from '../config';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Resilience } from '../resilience';
import { createProcessResilience } from '../worker/resilience';
import { buildApp } from './app';

type GrpcInterceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/** How long one Temporal call made for an API request may take before the request is answered 503. */
export const TEMPORAL_CALL_DEADLINE_MS = 4_000;

/** Calls that wait on purpose (an Update's outcome, a workflow's result): the server ends their long poll, no deadline. */
const LONG_POLLS = new Set(['UpdateWorkflowExecution', 'PollWorkflowExecutionUpdate', 'GetWorkflowExecutionHistory', 'ExecuteMultiOperation']);

function deadlineInterceptor(ms: number): GrpcInterceptor {
  return (options, nextCall) => {
    const method = options.method_definition.path.slice(options.method_definition.path.lastIndexOf('/') + 1);
    const call = nextCall(options.deadline === undefined && !LONG_POLLS.has(method) ? { ...options, deadline: Date.now() + ms } : options);
    // The next interceptor (the SDK's retry interceptor) returns an InterceptingCall; passing it on is enough.
    return call as ReturnType<GrpcInterceptor>;
  };
}

/**
 * The API's own Temporal client, on its own connection to the same server as `base`. The SDK's defaults suit workers
 * (an unreachable server is retried for about 15 s, a call may wait forever); a request must not hang, so here every
 * call but a long poll has a deadline of TEMPORAL_CALL_DEADLINE_MS, an unreachable server is retried for about 2 s
 * only, and a lost connection is tried again every 2 s at most, so the API recovers as soon as Temporal is back. The
 * connection is lazy: the API starts (and /health answers) while Temporal is down.
 */
export function createApiTemporalClient(base: Client, config: Config): Client {
  const from = base.connection instanceof Connection ? base.connection.options : null;
  const connection = Connection.lazy({
    address: from?.address ?? config.temporal.address,
    ...(from ? { credentials: from.credentials, metadata: from.metadata } : {}),
    channelArgs: {
      ...from?.channelArgs,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2_000,
    },
    interceptors: [deadlineInterceptor(TEMPORAL_CALL_DEADLINE_MS), makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 5 }))],
  });
  return new Client({ connection, namespace: base.options.namespace ?? config.temporal.namespace });
}

/**
 * Builds the API on an existing pool and Temporal client. Shared with `npm start`. The API talks to Temporal through
 * its own connection to the same server (createApiTemporalClient), closed with the app.
 */
export async function createApi(
  config: Config,
  pool: Pool,
  temporal: Client,
  encryptionKey: Buffer,
  logger: Logger,
  shared: { resilience: Resilience; metrics: Registry },
) {
  const tenants = createTenantRepository(pool);
  for (const k of config.apiKeys) await tenants.ensure(k.tenantId);
  const { metrics, resilience } = shared;
  const apiTemporal = createApiTemporalClient(temporal, config);
  const app = await buildApp({
    config,
    pool,
    temporal: apiTemporal,
    tenants,
    pipelines: createPipelineRepository(pool),
    media: createMediaRepository(pool),
    accounts: createAccountRepository(pool, createSecretBox(encryptionKey)),
    logger,
    metrics,
    resilience,
  });
  app.addHook('onClose', async () => {
    await apiTemporal.connection.close();
  });
  return app;
}

/** One metrics registry per process, with Node's default metrics. */
export function createMetricsRegistry(): Registry {
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  return metrics;
}

async function main() {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, name: 'herald-api' });
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL is required for `npm run api` (npm start embeds PostgreSQL instead)');
  const pool = createPool(config.databaseUrl);
  await runMigrationsWhenReachable(pool, {
    onWait: (err, delayMs) => logger.warn({ err: err.message, retryInMs: delayMs }, 'PostgreSQL is not reachable yet; waiting for it'),
  });
  const key = await resolveEncryptionKey(config.encryptionKey, config.dataDir, logger);
  // Lazy: the API starts and answers /health (and 503 elsewhere) while Temporal is down, and connects when it is back.
  const connection = Connection.lazy({ address: config.temporal.address });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const metrics = createMetricsRegistry();
  const resilience = createProcessResilience(config, logger, metrics);
  const app = await createApi(config, pool, temporal, key, logger, { resilience, metrics });
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err) logger.error({ err }, 'shutting down after an error');
    await app.close();
    await connection.close();
    await resilience.close();
    await pool.end();
  });
  await app.listen({ port: config.port, host: config.host });
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  });
}
