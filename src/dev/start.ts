// Entry behind `npm start` (scripts/run.mjs starts the Temporal dev server first, unless TEMPORAL_ADDRESS is set).
// Embedded PostgreSQL unless DATABASE_URL, then migrations, the worker and the API in this one process.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createApi, createMetricsRegistry } from '../api/server';
import { createProcessResilience } from '../worker/resilience';
import { ConfigError, loadConfig } from '../config';
import { EMBEDDED_URL_FILE, EmbeddedDatabaseError, startEmbeddedPostgres } from '../db/embedded-postgres';
import { resolveEncryptionKey } from '../db/encryption-key';
import { runMigrations } from '../db/migrate';
import { importPgliteIfPresent } from '../db/pglite-import';
import { createPool } from '../db/pool';
import { createLogger } from '../logger';
import { buildActivityDeps } from '../worker/build-deps';
import { createHeraldWorker } from '../worker/create-worker';
import { ensureTokenRefreshSchedule } from '../worker/schedules';

/** A development key for tenant "dev", made once and kept under the data directory. */
async function devApiKey(dataDir: string): Promise<string> {
  const file = path.resolve(dataDir, 'dev-api-key');
  try {
    const key = (await readFile(file, 'utf8')).trim();
    if (key) return key;
  } catch {
    // first start
  }
  const key = `hk_dev_${randomBytes(18).toString('base64url')}`;
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, key + '\n', { mode: 0o600 });
  return key;
}

async function main() {
  let config = loadConfig();
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const stops: (() => Promise<unknown>)[] = [];

  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    const pgLog = logger.child({ component: 'postgres' });
    const pg = await startEmbeddedPostgres(config.dataDir, { log: (level, msg) => pgLog[level](msg) });
    databaseUrl = pg.url;
    stops.unshift(() => pg.stop());
    // `npx herald keys create` reaches the embedded database through this while npm start runs (it holds the
    // password: readable by this user only).
    const urlFile = path.resolve(config.dataDir, EMBEDDED_URL_FILE);
    await writeFile(urlFile, pg.url + '\n', { mode: 0o600 });
    await rm(path.resolve(config.dataDir, 'pglite.url'), { force: true }); // left by an earlier version
    stops.unshift(() => rm(urlFile, { force: true }));
    logger.info({ dataDir: pg.clusterDir, port: pg.port }, 'embedded PostgreSQL started');
  }
  let devKey: string | null = null;
  if (config.apiKeys.length === 0) {
    devKey = await devApiKey(config.dataDir);
    config = { ...config, apiKeys: [{ tenantId: 'dev', key: devKey }] };
  }

  // The API and the worker get a pool each, as they do when run as separate processes (`npm run api`, `npm run
  // worker`): a burst of activities cannot leave API requests waiting for a connection, nor the other way round.
  const pool = createPool(databaseUrl, 10);
  stops.unshift(() => pool.end());
  const workerPool = createPool(databaseUrl, 10);
  stops.unshift(() => workerPool.end());
  const applied = await runMigrations(pool);
  if (applied.length) logger.info({ applied }, 'migrations applied');
  if (!config.databaseUrl) {
    // An earlier version's PGlite database is copied in once (then renamed), before anything else writes.
    const imported = await importPgliteIfPresent(config.dataDir, pool, (msg) => logger.info(msg));
    if (imported) logger.info({ from: imported.source, renamedTo: imported.renamedTo, rows: imported.rows }, 'earlier embedded database imported');
  }
  const key = await resolveEncryptionKey(config.encryptionKey, config.dataDir, logger);

  // The SDK's own INFO lines (bundling, state changes) would drown Herald's; keep its warnings and errors.
  Runtime.install({ logger: new DefaultLogger(config.logLevel === 'debug' || config.logLevel === 'trace' ? 'INFO' : 'WARN') });
  // One resilience layer for the worker and the API: /v1/providers shows what the worker sees.
  const metrics = createMetricsRegistry();
  const resilience = createProcessResilience(config, logger, metrics);
  stops.unshift(() => resilience.close());
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  stops.unshift(() => nativeConnection.close());
  const worker = await createHeraldWorker({
    connection: nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    deps: buildActivityDeps(config, workerPool, key, logger.child({ component: 'worker' }), resilience),
  });
  const workerRun = worker.run();

  const connection = await Connection.connect({ address: config.temporal.address });
  stops.unshift(() => connection.close());
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  await ensureTokenRefreshSchedule(temporal, config, logger);
  const app = await createApi(config, pool, temporal, key, logger, { resilience, metrics });
  await app.listen({ port: config.port, host: config.host });
  stops.unshift(() => app.close());

  const apiUrl = `http://${config.host}:${config.port}`;
  const lines = [
    '',
    '  Herald is running.',
    `  API:          ${apiUrl}   (docs: ${apiUrl}/docs)`,
    `  Temporal UI:  ${config.temporal.uiUrl}`,
    devKey ? `  API key:      ${devKey}   (tenant "dev"; development only)` : '  API keys:     from API_KEYS',
    '',
    `  Try:  HERALD_API_KEY=${devKey ?? '<key>'} npx herald run --topic "Why durable workflows beat cron jobs" --platform x --platform linkedin --dry-run`,
    '  Stop: Ctrl-C (unfinished pipelines continue on the next start)',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await app.close().catch(() => undefined);
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun.catch((err) => logger.error({ err }, 'worker stopped with an error'));
    for (const stop of stops.slice(1)) await stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  workerRun.catch((err) => {
    logger.error({ err }, 'worker failed');
    void shutdown('worker-failure');
  });
}

main().catch((err) => {
  console.error(err instanceof ConfigError || err instanceof EmbeddedDatabaseError ? err.message : err);
  process.exit(1);
});
