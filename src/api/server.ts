// Entry: npm run api. Reads config, connects, listens, shuts down gracefully.
import { Client, Connection } from '@temporalio/client';
import closeWithGrace from 'close-with-grace';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError, loadConfig } from '../config';
import { createAccountRepository } from '../db/accounts-repo';
import { resolveEncryptionKey } from '../db/encryption-key';
import { createMediaRepository } from '../db/media-repo';
import { runMigrations } from '../db/migrate';
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

/** Builds the API on an existing pool and Temporal client. Shared with `npm start`. */
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
  return buildApp({
    config,
    pool,
    temporal,
    tenants,
    pipelines: createPipelineRepository(pool),
    media: createMediaRepository(pool),
    accounts: createAccountRepository(pool, createSecretBox(encryptionKey)),
    logger,
    metrics,
    resilience,
  });
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
  await runMigrations(pool);
  const key = await resolveEncryptionKey(config.encryptionKey, config.dataDir, logger);
  const connection = await Connection.connect({ address: config.temporal.address });
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
