import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { createActivities, type ActivityDeps } from '../activities';
import { createPipelineMetrics, pipelineMetricsSinks } from '../observability/pipeline-metrics';
import type { Tracing } from '../observability/tracing';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * Interceptor modules bundled into the workflow code: the pipeline observer always (stage durations and publish
 * lateness), OpenTelemetry's with tracing on. A prebuilt workflowBundle must be bundled with the same list
 * (bundleWorkflowCode's workflowInterceptorModules), as test/helpers/global-setup.ts does.
 */
export function workflowInterceptorModules(tracing?: Tracing): string[] {
  return [require.resolve('../observability/workflow-interceptors'), ...(tracing?.worker.workflowModules ?? [])];
}

/** One worker for the pipeline workflows and activities. Tests pass a prebuilt bundle to skip rebundling. */
export async function createHeraldWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
  /** Where the pipeline histograms go (the process's registry, served on WORKER_METRICS_PORT); default: a registry of its own. */
  metrics?: Registry;
  /** From startTracing, when OTEL_EXPORTER_OTLP_ENDPOINT is set. */
  tracing?: Tracing;
  /** WORKER_MAX_ACTIVITIES: activity slots of this worker; unset keeps the SDK's default. */
  maxActivities?: number;
  /** WORKER_MAX_WORKFLOW_TASKS: workflow task slots; unset keeps the SDK's default. */
  maxWorkflowTasks?: number;
  /** WORKER_MAX_CACHED_WORKFLOWS: sticky cache size; unset keeps the SDK's default. */
  maxCachedWorkflows?: number;
}): Promise<Worker> {
  const { tracing } = opts;
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.maxActivities ? { maxConcurrentActivityTaskExecutions: opts.maxActivities } : {}),
    ...(opts.maxWorkflowTasks ? { maxConcurrentWorkflowTaskExecutions: opts.maxWorkflowTasks } : {}),
    ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
    activities: createActivities(opts.deps),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    interceptors: {
      // A prebuilt bundle already holds them (the SDK warns when they are passed beside one).
      ...(opts.workflowBundle ? {} : { workflowModules: workflowInterceptorModules(tracing) }),
      ...(tracing ? { activity: tracing.worker.activity } : {}),
    },
    sinks: { ...pipelineMetricsSinks(createPipelineMetrics(opts.metrics ?? new Registry())), ...tracing?.worker.sinks },
    // No eager activities: an activity handed back with the workflow task that scheduled it skips the task queue, so
    // one tenant's running pipelines would take the activity slots ahead of another tenant's queued work, without
    // the priority and fairness keys being looked at.
    maxEagerActivityReservationsPerWorkflowTask: 0,
    // Let in-flight activities (a post on its way) finish on shutdown.
    shutdownGraceTime: '10s',
    // Heartbeats reach Temporal at least every 2 s (not only every 80% of heartbeatTimeout), so an 8 s heartbeat
    // timeout has 6 s of slack on a busy machine and still notices a killed worker within seconds.
    maxHeartbeatThrottleInterval: '2s',
  });
}
