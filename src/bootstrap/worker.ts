import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { temporalConnectionOptions, type Config } from '../config';
import type { Resilience } from '../resilience';
import { buildActivityDeps } from '../worker/build-deps';
import { createHeraldWorker } from '../worker/create-worker';
import { ensureTokenRefreshSchedule } from '../worker/schedules';
import type { Shutdown } from './shutdown';

export interface WorkerParts {
  config: Config;
  pool: Pool;
  encryptionKey: Buffer;
  resilience: Resilience;
  /** The process's logger, for start-up lines. */
  logger: Logger;
  /** The activities' logger. */
  activityLogger: Logger;
}

/**
 * Connects a worker to Temporal, makes sure the token-refresh Schedule exists and matches TOKEN_REFRESH_EVERY/AHEAD
 * (every worker does; it is idempotent), and starts polling. At shutdown the worker lets in-flight activities finish;
 * if it stops on its own with an error, the process shuts down with exit code 1.
 */
export async function startWorker(parts: WorkerParts, shutdown: Shutdown): Promise<void> {
  const { config, logger } = parts;
  // The SDK's own INFO lines (bundling, state changes) would drown Herald's; keep its warnings and errors.
  Runtime.install({ logger: new DefaultLogger(config.logLevel === 'debug' || config.logLevel === 'trace' ? 'INFO' : 'WARN') });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  shutdown.onShutdown('worker connection', () => connection.close());
  const worker = await createHeraldWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    deps: buildActivityDeps(config, parts.pool, parts.encryptionKey, parts.activityLogger, parts.resilience),
  });
  const client = await Connection.connect(temporalConnectionOptions(config));
  try {
    await ensureTokenRefreshSchedule(new Client({ connection: client, namespace: config.temporal.namespace }), config, logger);
  } finally {
    await client.close();
  }
  // The SDK also stops the worker on SIGINT/SIGTERM itself; shutdown() is for every other reason to stop.
  const running = worker.run();
  running.catch((err: unknown) => {
    if (!shutdown.stopping) void shutdown.fail(err);
  });
  shutdown.onShutdown('worker', async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch((err: unknown) => logger.error({ err }, 'worker stopped with an error'));
  });
}
