// The one start-up and shutdown path of every long-running entry point: `npm run api`, `npm run worker` and
// `npm start` (both in one process). Each entry point is a call to boot() with what it runs.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from '../config';
import { EmbeddedDatabaseError } from '../db/embedded-postgres';
import { resolveEncryptionKey } from '../db/encryption-key';
import { createLogger } from '../logger';
import { startApi } from './api';
import { startDatabase } from './database';
import { devApiKey } from './dev-api-key';
import { createMetricsRegistry, createProcessResilience } from './resilience';
import { Shutdown } from './shutdown';
import { startWorker } from './worker';

export { createMetricsRegistry, createProcessResilience } from './resilience';
export { Shutdown } from './shutdown';

export interface BootOptions {
  /** The command the user ran, named in start-up errors: `npm run api`. */
  command: string;
  /** The logger's name; default herald. */
  name?: string;
  api?: boolean;
  worker?: boolean;
  /**
   * `npm start`: PostgreSQL embedded when DATABASE_URL is unset (with the one-time import of an earlier PGlite
   * database), and a development API key for tenant "dev" when API_KEYS is unset.
   */
  development?: boolean;
  /** How long shutdown may take before the process exits with 1; unset: no limit. */
  graceMs?: number;
}

export interface Booted {
  config: Config;
  logger: Logger;
  app: FastifyInstance | null;
  /** The development API key made for tenant "dev", when there is one. */
  devKey: string | null;
}

/**
 * Starts what `opts` asks for, in order: configuration and logger, the shutdown path (signals from here on stop the
 * process cleanly), the database and its migrations, the encryption key, the resilience layer, the worker, the API.
 * A start-up error is printed (a configuration or embedded-database error as its message alone), what was opened is
 * closed, and the process exits with 1.
 */
export async function boot(opts: BootOptions): Promise<Booted> {
  let shutdown: Shutdown | null = null;
  try {
    let config = loadConfig();
    // A worker serving the bulk lane alone (the child of WORKER_LANES=split) logs under a name of its own.
    const name = opts.worker && !opts.api && config.workerLanes === 'bulk' && opts.name ? `${opts.name}-bulk` : opts.name;
    const logger = createLogger({ level: config.logLevel, format: config.logFormat, name });
    shutdown = new Shutdown(logger, { graceMs: opts.graceMs });
    const roles = Math.max(1, (opts.api ? 1 : 0) + (opts.worker ? 1 : 0));
    const pools = await startDatabase(config, logger, shutdown, { command: opts.command, embedded: Boolean(opts.development), pools: roles });
    let devKey: string | null = null;
    if (opts.development && config.apiKeys.length === 0) {
      devKey = await devApiKey(config.dataDir);
      config = { ...config, apiKeys: [{ tenantId: 'dev', key: devKey }] };
    }
    const encryptionKey = await resolveEncryptionKey(config.encryptionKey, config.dataDir, logger);
    const metrics = createMetricsRegistry();
    const resilience = createProcessResilience(config, logger, metrics);
    shutdown.onShutdown('resilience', () => resilience.close());
    if (opts.worker) {
      const activityLogger = opts.api ? logger.child({ component: 'worker' }) : logger;
      await startWorker({ config, pool: pools[pools.length - 1], encryptionKey, resilience, logger, activityLogger, metrics }, shutdown);
    }
    const app = opts.api ? await startApi({ config, pool: pools[0], encryptionKey, resilience, metrics, logger }, shutdown) : null;
    return { config, logger, app, devKey };
  } catch (err) {
    if (shutdown?.stopping) return new Promise<never>(() => undefined); // stopped during start-up: the shutdown path exits
    console.error(err instanceof ConfigError || err instanceof EmbeddedDatabaseError ? err.message : err);
    if (shutdown) await shutdown.abort();
    process.exit(1);
  }
}
