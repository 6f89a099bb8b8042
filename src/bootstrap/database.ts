import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { ConfigError, type Config } from '../config';
import { EMBEDDED_URL_FILE, startEmbeddedPostgres } from '../db/embedded-postgres';
import { runMigrations, runMigrationsWhenReachable } from '../db/migrate';
import { importPgliteIfPresent } from '../db/pglite-import';
import { createPool } from '../db/pool';
import type { Shutdown } from './shutdown';
import { workerSlots } from './worker';

export interface StartDatabaseOptions {
  /** The command the user ran, named when DATABASE_URL is missing: `npm run api`. */
  command: string;
  /** Without DATABASE_URL, run PostgreSQL embedded under the data directory (`npm start`) instead of refusing to start. */
  embedded: boolean;
  /** Pools to open, one per role (the API and the worker of `npm start` each get their own, as separate processes do). */
  pools: number;
}

/**
 * The database, migrated, and its pools. With DATABASE_URL, waits for PostgreSQL while it is unreachable (started
 * before the database, or during an outage) instead of exiting. Without it and `embedded`, starts the embedded server,
 * publishes its URL for `herald keys create` while it runs, and copies an earlier version's PGlite data in once,
 * before anything else writes.
 */
export async function startDatabase(config: Config, logger: Logger, shutdown: Shutdown, opts: StartDatabaseOptions): Promise<Pool[]> {
  let url = config.databaseUrl;
  if (!url) {
    if (!opts.embedded) throw new ConfigError(`DATABASE_URL is required for \`${opts.command}\` (npm start embeds PostgreSQL instead)`);
    url = await startEmbedded(config, logger, shutdown);
  }
  const pools: Pool[] = [];
  for (let i = 0; i < opts.pools; i++) {
    // Sized to the worker's activity slots, so that raising WORKER_MAX_ACTIVITIES does not leave activities waiting
    // for a connection.
    const pool = createPool(url, workerSlots(config).poolSize);
    shutdown.onShutdown('database pool', () => pool.end());
    pools.push(pool);
  }
  const applied = config.databaseUrl
    ? await runMigrationsWhenReachable(pools[0], {
        onWait: (err, delayMs) => logger.warn({ err: err.message, retryInMs: delayMs }, 'PostgreSQL is not reachable yet; waiting for it'),
      })
    : await runMigrations(pools[0]);
  if (applied.length) logger.info({ applied }, 'migrations applied');
  if (!config.databaseUrl) {
    const imported = await importPgliteIfPresent(config.dataDir, pools[0], (msg) => logger.info(msg));
    if (imported) logger.info({ from: imported.source, renamedTo: imported.renamedTo, rows: imported.rows }, 'earlier embedded database imported');
  }
  return pools;
}

async function startEmbedded(config: Config, logger: Logger, shutdown: Shutdown): Promise<string> {
  const pgLog = logger.child({ component: 'postgres' });
  const pg = await startEmbeddedPostgres(config.dataDir, { log: (level, msg) => pgLog[level](msg) });
  shutdown.onShutdown('embedded PostgreSQL', () => pg.stop());
  // `npx herald keys create` reaches the embedded database through this file while npm start runs (it holds the
  // password: readable by this user only).
  const urlFile = path.resolve(config.dataDir, EMBEDDED_URL_FILE);
  await writeFile(urlFile, pg.url + '\n', { mode: 0o600 });
  await rm(path.resolve(config.dataDir, 'pglite.url'), { force: true }); // left by an earlier version
  shutdown.onShutdown('embedded database URL file', () => rm(urlFile, { force: true }));
  logger.info({ dataDir: pg.clusterDir, port: pg.port }, 'embedded PostgreSQL started');
  return pg.url;
}
