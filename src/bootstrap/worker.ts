import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { childProcessEnv, temporalConnectionOptions, type Config } from '../config';
import { createSecretBox } from '../db/secret-box';
import { createWebhookRepository } from '../db/webhooks-repo';
import { createOperationsCountsRepository } from '../db/operations-counts-repo';
import { freeLoopbackPort, startMetricsServer } from '../observability/metrics-server';
import { registerOperationsGauges } from '../observability/operations-gauges';
import { temporalLoggerFor } from '../observability/temporal-logger';
import type { Tracing } from '../observability/tracing';
import type { Resilience } from '../resilience';
import { buildActivityDeps } from '../worker/build-deps';
import { createHeraldWorker, type HeraldWorker, WORKFLOWS_PATH, workflowInterceptorModules } from '../worker/create-worker';
import { startMemoryGuard } from '../worker/memory-guard';
import { prebuiltWorkflowBundle } from '../worker/workflow-bundle';
import { ensureTokenRefreshSchedule } from '../worker/schedules';
import { lowerEveryThread } from '../worker/thread-priority';
import { followParentWorker, startBulkLaneProcess, type BulkLaneProcess } from '../worker/bulk-process';
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

/**
 * What one worker admits at once when WORKER_MAX_ACTIVITIES / WORKER_MAX_WORKFLOW_TASKS are unset (the SDK's own
 * defaults are 100 and 40). Work a worker has taken is no longer in Temporal's task queue, where priority and the
 * tenant fairness key order it: with 100 of one tenant's activities in flight on two cores, another tenant's next
 * step waits behind all of them. A few slots keep the backlog in the queue, so a light tenant's step is next and a
 * critical pipeline's step goes before a low one's. A lean pipeline's workflow task also runs its local activities
 * (state saves, adaptation) before it completes, so it holds its slot for a PostgreSQL round trip or two: with 2
 * slots the worker's throughput was 67% of a bare workflow's, with 8 96.6% (BENCHMARKS.md, pipeline --baseline),
 * while another tenant's pipelines took about the same 1.6-1.8 s under a 1,000-pipeline burst either way. Activities
 * wait on PostgreSQL and providers, hence 8; a worker calling slow real providers wants more (raise
 * WORKER_MAX_ACTIVITIES, and run more workers). The activities' PostgreSQL pool is sized to the activity slots.
 */
export const WORKER_DEFAULTS = { maxActivities: 8, maxWorkflowTasks: 8 } as const;

/** The worker's slots (WORKER_MAX_* or WORKER_DEFAULTS) and the PostgreSQL pool its activities need for them. */
export function workerSlots(config: Pick<Config, 'workerMaxActivities' | 'workerMaxWorkflowTasks'>): { maxActivities: number; maxWorkflowTasks: number; poolSize: number } {
  const maxActivities = config.workerMaxActivities ?? WORKER_DEFAULTS.maxActivities;
  const maxWorkflowTasks = config.workerMaxWorkflowTasks ?? WORKER_DEFAULTS.maxWorkflowTasks;
  // One connection per activity slot (an activity holds one at a time), plus two for the webhook dispatcher and the
  // gauges; never fewer than the 10 Herald always had.
  return { maxActivities, maxWorkflowTasks, poolSize: Math.max(10, maxActivities + 2) };
}

/**
 * Workflows kept in the worker's sticky cache when WORKER_MAX_CACHED_WORKFLOWS is unset. The SDK's own default grows
 * with the V8 heap limit (about 2,300 on a machine with 4 GB of heap) and a cached workflow costs the worker roughly
 * 0.5-1 MB, so thousands of scheduled pipelines waiting for their time (a timer, nothing to run) would stay in memory.
 * Evicted ones are replayed from history when their timer fires. 100 is well above the pipelines one worker runs at
 * once (bounded by its activity slots), so running pipelines keep their cache.
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 100;

/** The sticky cache size: WORKER_MAX_CACHED_WORKFLOWS (0 keeps none) or DEFAULT_MAX_CACHED_WORKFLOWS. */
export function workerCacheSize(config: Pick<Config, 'workerMaxCachedWorkflows'>): number {
  return config.workerMaxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS;
}

/**
 * The workflow code as a file bundled once under DATA_DIR (scripts/bundle-workflows.mjs in a child process), with the
 * interceptor modules this worker needs; undefined (the worker bundles in process, as before) when that fails.
 */
async function workflowBundleFor(config: Config, logger: Logger, tracing: Tracing | undefined): Promise<{ code: string } | undefined> {
  try {
    const { code, codePath, built, ms } = await prebuiltWorkflowBundle({ dataDir: config.dataDir, workflowsPath: WORKFLOWS_PATH, interceptorModules: workflowInterceptorModules(tracing), logger });
    if (built) logger.info({ codePath, ms }, 'workflow code bundled');
    return { code };
  } catch (err) {
    logger.warn({ err }, 'could not use a prebuilt workflow bundle; bundling in the worker process');
    return undefined;
  }
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
    // Herald's Shutdown owns the stop signals (it stops the worker after the webhook dispatcher, in order). The SDK's
    // default list also holds SIGUSR2, which Node's --heapsnapshot-signal and other tools send: the worker stopped
    // polling while the process lived on.
    shutdownSignals: [],
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

/** Full collections when resident memory passes WORKER_MEMORY_TARGET_MB (src/worker/memory-guard.ts), counted. */
function startWorkerMemoryGuard(parts: WorkerParts, shutdown: Shutdown): void {
  const { config, logger } = parts;
  if (config.workerMemoryTargetBytes <= 0) return;
  const collections = new Counter({
    name: 'herald_worker_memory_collections_total',
    help: 'Full V8 collections the worker asked for because its resident memory was above WORKER_MEMORY_TARGET_MB',
    registers: [parts.metrics],
  });
  const mb = (b: number) => Math.round(b / 1_048_576);
  const guard = startMemoryGuard({
    targetBytes: config.workerMemoryTargetBytes,
    onCollect: ({ beforeBytes, afterBytes, ms }) => {
      collections.inc();
      logger.debug({ rssMbBefore: mb(beforeBytes), rssMbAfter: mb(afterBytes), ms: Math.round(ms) }, 'memory above the target: full collection');
    },
  });
  shutdown.onShutdown('worker memory guard', async () => guard.stop());
}

/** /metrics and /health on WORKER_METRICS_PORT (when set), for as long as the worker runs. */
async function serveMetrics(parts: WorkerParts, shutdown: Shutdown, worker: HeraldWorker, temporalMetricsUrl: string | undefined, bulk: BulkLaneProcess | undefined): Promise<void> {
  const { config, logger } = parts;
  if (config.workerMetricsPort === undefined) return;
  registerOperationsGauges(parts.metrics, createOperationsCountsRepository(parts.pool), logger);
  const server = await startMetricsServer({
    port: config.workerMetricsPort,
    host: config.host,
    registry: parts.metrics,
    temporalMetricsUrl,
    ...(bulk ? { moreMetrics: () => bulk.metrics() } : {}),
    health: () => ({
      ok: worker.getState() === 'RUNNING' && (bulk?.running() ?? true),
      details: { worker: worker.getState(), taskQueue: config.temporal.taskQueue, ...(bulk ? { bulkLaneProcess: bulk.running() ? 'RUNNING' : 'EXITED' } : {}) },
    }),
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
  // A bulk-lane process (WORKER_LANES=bulk) runs every thread it has and will start at the lower priority: the main
  // lane's process (another tenant's pipeline) gets the CPU first. Threads inherit the nice value of their creator.
  if (config.workerLanes === 'bulk' && config.workerBulkLaneNice > 0) lowerEveryThread(config.workerBulkLaneNice);
  const temporalMetricsUrl = await installRuntime(config, logger);
  // Loaded only with an endpoint: without one, nothing of OpenTelemetry is.
  const tracing = config.otelEndpoint ? (await import('../observability/tracing')).startTracing(config.otelEndpoint) : undefined;
  if (tracing) shutdown.onShutdown('trace export', () => tracing.flush());
  const workflowBundle = await workflowBundleFor(config, logger, tracing);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  shutdown.onShutdown('worker connection', () => connection.close());
  // WORKER_LANES=split: this process runs the main lane and a child process the bulk lane (src/worker/bulk-process.ts);
  // that child (WORKER_LANES=bulk with an IPC channel) follows this process's main lane.
  const fromParent = config.workerLanes === 'bulk' && process.send ? followParentWorker(parts.metrics, () => process.kill(process.pid, 'SIGTERM')) : undefined;
  let bulk: BulkLaneProcess | undefined;
  const worker = await createHeraldWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    deps: buildActivityDeps(config, parts.pool, parts.encryptionKey, parts.activityLogger, parts.resilience),
    metrics: parts.metrics,
    tracing,
    workflowBundle,
    maxActivities: workerSlots(config).maxActivities,
    maxWorkflowTasks: workerSlots(config).maxWorkflowTasks,
    maxCachedWorkflows: workerCacheSize(config),
    bulkLaneNice: config.workerBulkLaneNice,
    lanes: config.workerLanes,
    ...(fromParent ? { mainBusy: fromParent.mainBusy } : {}),
    ...(config.workerLanes === 'split' ? { onMainBusyChange: (busy: boolean) => bulk?.setMainBusy(busy) } : {}),
  });
  startWorkerMemoryGuard(parts, shutdown);
  // Kept open for the webhook dispatcher, which starts delivery workflows; closed after it stops.
  const client = await Connection.connect(temporalConnectionOptions(config));
  shutdown.onShutdown('worker client connection', () => client.close());
  const temporal = new Client({ connection: client, namespace: config.temporal.namespace });
  if (!fromParent) await ensureTokenRefreshSchedule(temporal, config, logger);
  const running = worker.run();
  running.then(
    () => {
      // Nothing but Herald's own shutdown should stop it; a process that no longer polls must not linger looking alive.
      if (!shutdown.stopping) void shutdown.fail(new Error('the Temporal worker stopped polling on its own'));
    },
    (err: unknown) => {
      if (!shutdown.stopping) void shutdown.fail(err);
    },
  );
  if (config.workerLanes === 'split') {
    bulk = startBulkLaneProcess({ entry: require.resolve('../worker/main'), env: bulkLaneEnv(parts.pool), logger });
    const child = bulk;
    void child.exited.then(({ code, signal }) => {
      if (!shutdown.stopping) void shutdown.fail(new Error(`the bulk lane's worker process exited on its own (code ${code}, signal ${signal})`));
    });
    await child.ready;
    logger.info({ pid: child.pid, nice: config.workerBulkLaneNice }, "the bulk lane's worker process polls");
  }
  shutdown.onShutdown('worker', async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    // The bulk lane's process lets its in-flight activities finish as this one does (both have the SDK's grace time).
    await Promise.all([running.catch((err: unknown) => logger.error({ err }, 'worker stopped with an error')), bulk?.stop(BULK_STOP_GRACE_MS)]);
  });
  fromParent?.ready();
  if (fromParent) return;
  // Every worker runs one (they share the outbox safely): lifecycle events become deliveries while any worker is up.
  const dispatcher = startWebhookDispatcher({
    webhooks: createWebhookRepository(parts.pool, createSecretBox(parts.encryptionKey)),
    client: temporal,
    taskQueue: config.temporal.taskQueue,
    logger: parts.activityLogger,
  });
  shutdown.onShutdown('webhook dispatcher', () => dispatcher.stop());
  await serveMetrics(parts, shutdown, worker, temporalMetricsUrl, bulk);
}

/** How long the bulk lane's process may take to stop (the SDK's 10 s grace for in-flight activities, and its exit). */
const BULK_STOP_GRACE_MS = 20_000;

/** The bulk lane's process: this one's settings, its lane, and the database this process uses (embedded or not). */
function bulkLaneEnv(pool: Pool): NodeJS.ProcessEnv {
  const env = childProcessEnv({ WORKER_LANES: 'bulk', ...(pool.options.connectionString ? { DATABASE_URL: pool.options.connectionString } : {}) });
  // This process serves /metrics and /health for both.
  delete env.WORKER_METRICS_PORT;
  return env;
}
