import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { temporalConnectionOptions, type Config } from '../config';
import { createSecretBox } from '../db/secret-box';
import { createWebhookRepository } from '../db/webhooks-repo';
import { createOperationsCountsRepository } from '../db/operations-counts-repo';
import { freeLoopbackPort, startMetricsServer } from '../observability/metrics-server';
import { registerOperationsGauges } from '../observability/operations-gauges';
import { temporalLoggerFor } from '../observability/temporal-logger';
import type { Resilience } from '../resilience';
import { buildActivityDeps } from '../worker/build-deps';
import { createHeraldWorker } from '../worker/create-worker';
import { ensureTokenRefreshSchedule } from '../worker/schedules';
import { startWebhookDispatcher } from '../webhooks/dispatcher';
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
  /** The process's registry: the worker's histograms go here, and WORKER_METRICS_PORT serves it. */
  metrics: Registry;
}

/** The SDK's own INFO lines (bundling, state changes) would drown Herald's: one level quieter than Herald's unless debugging. */
function temporalLogLevel(level: string): string {
  if (level === 'trace' || level === 'debug') return 'info';
  return level === 'info' ? 'warn' : level;
}

/**
 * The process's one Temporal Runtime: every SDK and Core log line through pino (JSON like the rest), and with
 * WORKER_METRICS_PORT the SDK's metrics on a Prometheus exporter on loopback, whose URL is returned (the worker's
 * /metrics serves them beside Herald's, so operators scrape one port).
 */
async function installRuntime(config: Config, logger: Logger): Promise<string | undefined> {
  const corePort = config.workerMetricsPort === undefined ? undefined : await freeLoopbackPort();
  Runtime.install({
    logger: temporalLoggerFor(logger.child({ component: 'temporal' }, { level: temporalLogLevel(config.logLevel) })),
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(corePort === undefined
        ? {}
        : { metrics: { prometheus: { bindAddress: `127.0.0.1:${corePort}`, countersTotalSuffix: true, useSecondsForDurations: true } } }),
    },
  });
  return corePort === undefined ? undefined : `http://127.0.0.1:${corePort}/metrics`;
}

/** /metrics and /health on WORKER_METRICS_PORT (when set), for as long as the worker runs. */
async function serveMetrics(parts: WorkerParts, shutdown: Shutdown, worker: Worker, temporalMetricsUrl: string | undefined): Promise<void> {
  const { config, logger } = parts;
  if (config.workerMetricsPort === undefined) return;
  registerOperationsGauges(parts.metrics, createOperationsCountsRepository(parts.pool), logger);
  const server = await startMetricsServer({
    port: config.workerMetricsPort,
    host: config.host,
    registry: parts.metrics,
    temporalMetricsUrl,
    health: () => ({ ok: worker.getState() === 'RUNNING', details: { worker: worker.getState(), taskQueue: config.temporal.taskQueue } }),
  });
  shutdown.onShutdown('worker metrics server', () => server.close());
  // Not under `url`: the logger redacts that key everywhere.
  logger.info({ port: server.port, host: config.host }, 'worker serves /metrics and /health');
}

/**
 * Connects a worker to Temporal, makes sure the token-refresh Schedule exists and matches TOKEN_REFRESH_EVERY/AHEAD
 * (every worker does; it is idempotent), and starts polling. At shutdown the worker lets in-flight activities finish;
 * if it stops on its own with an error, the process shuts down with exit code 1.
 */
export async function startWorker(parts: WorkerParts, shutdown: Shutdown): Promise<void> {
  const { config, logger } = parts;
  const temporalMetricsUrl = await installRuntime(config, logger);
  // Loaded only with an endpoint: without one, nothing of OpenTelemetry is.
  const tracing = config.otelEndpoint ? (await import('../observability/tracing')).startTracing(config.otelEndpoint) : undefined;
  if (tracing) shutdown.onShutdown('trace export', () => tracing.flush());
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  shutdown.onShutdown('worker connection', () => connection.close());
  const worker = await createHeraldWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    deps: buildActivityDeps(config, parts.pool, parts.encryptionKey, parts.activityLogger, parts.resilience),
    metrics: parts.metrics,
    tracing,
    maxActivities: config.workerMaxActivities,
    maxWorkflowTasks: config.workerMaxWorkflowTasks,
    maxCachedWorkflows: config.workerMaxCachedWorkflows,
  });
  // Kept open for the webhook dispatcher, which starts delivery workflows; closed after it stops.
  const client = await Connection.connect(temporalConnectionOptions(config));
  shutdown.onShutdown('worker client connection', () => client.close());
  const temporal = new Client({ connection: client, namespace: config.temporal.namespace });
  await ensureTokenRefreshSchedule(temporal, config, logger);
  // The SDK also stops the worker on SIGINT/SIGTERM itself; shutdown() is for every other reason to stop.
  const running = worker.run();
  running.catch((err: unknown) => {
    if (!shutdown.stopping) void shutdown.fail(err);
  });
  shutdown.onShutdown('worker', async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running.catch((err: unknown) => logger.error({ err }, 'worker stopped with an error'));
  });
  // Every worker runs one (they share the outbox safely): lifecycle events become deliveries while any worker is up.
  const dispatcher = startWebhookDispatcher({
    webhooks: createWebhookRepository(parts.pool, createSecretBox(parts.encryptionKey)),
    client: temporal,
    taskQueue: config.temporal.taskQueue,
    logger: parts.activityLogger,
  });
  shutdown.onShutdown('webhook dispatcher', () => dispatcher.stop());
  await serveMetrics(parts, shutdown, worker, temporalMetricsUrl);
}
