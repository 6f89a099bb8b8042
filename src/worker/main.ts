// Entry: npm run worker. Needs DATABASE_URL and a reachable Temporal (TEMPORAL_ADDRESS).
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { ensureTokenRefreshSchedule } from './schedules';
import { loadConfig, ConfigError } from '../config';
import { resolveEncryptionKey } from '../db/encryption-key';
import { runMigrationsWhenReachable } from '../db/migrate';
import { createPool } from '../db/pool';
import { createLogger } from '../logger';
import { Registry } from 'prom-client';
import { buildActivityDeps } from './build-deps';
import { createProcessResilience } from './resilience';
import { createHeraldWorker } from './create-worker';

async function main() {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, name: 'herald-worker' });
  if (!config.databaseUrl) throw new ConfigError('DATABASE_URL is required for `npm run worker` (npm start embeds PostgreSQL instead)');
  const pool = createPool(config.databaseUrl);
  await runMigrationsWhenReachable(pool, {
    onWait: (err, delayMs) => logger.warn({ err: err.message, retryInMs: delayMs }, 'PostgreSQL is not reachable yet; waiting for it'),
  });
  const key = await resolveEncryptionKey(config.encryptionKey, config.dataDir, logger);
  const resilience = createProcessResilience(config, logger, new Registry());
  Runtime.install({ logger: new DefaultLogger(config.logLevel === 'debug' || config.logLevel === 'trace' ? 'INFO' : 'WARN') });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createHeraldWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    deps: buildActivityDeps(config, pool, key, logger, resilience),
  });
  // Idempotent: every worker makes sure the token-refresh Schedule exists and matches TOKEN_REFRESH_EVERY/AHEAD.
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  await ensureTokenRefreshSchedule(new Client({ connection: clientConnection, namespace: config.temporal.namespace }), config, logger);
  await clientConnection.close();
  logger.info({ taskQueue: config.temporal.taskQueue, address: config.temporal.address }, 'worker polling');
  await worker.run(); // Resolves after SIGINT/SIGTERM: the SDK installs the shutdown signals.
  await connection.close();
  await resilience.close();
  await pool.end();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
