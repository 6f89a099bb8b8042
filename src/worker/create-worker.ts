import { type ActivityInterceptorsFactory, bundleWorkflowCode, NativeConnection, Worker, type State, type WorkerOptions, type WorkerTuner } from '@temporalio/worker';
import { Registry } from 'prom-client';
import type { Context } from '@temporalio/activity';
import { createActivities, type ActivityDeps } from '../activities';
import { HEARTBEAT_INTERVAL_MS } from '../activities/heartbeat';
import { createPipelineMetrics, pipelineMetricsSinks } from '../observability/pipeline-metrics';
import type { Tracing } from '../observability/tracing';
import type { WorkerLanes } from '../config';
import { bulkTaskQueue } from '../pipelines/start-options';
import { bulkLane } from './lane-context';
import { createLaneGate, type LaneGate } from './lanes';
import { startedAtLowerPriority } from './thread-priority';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * Interceptor modules bundled into the workflow code: the pipeline observer always (stage durations and publish
 * lateness), OpenTelemetry's with tracing on. A prebuilt workflowBundle must be bundled with the same list
 * (bundleWorkflowCode's workflowInterceptorModules), as test/helpers/global-setup.ts does.
 */
export function workflowInterceptorModules(tracing?: Tracing): string[] {
  return [require.resolve('../observability/workflow-interceptors'), ...(tracing?.worker.workflowModules ?? [])];
}

/** The SDK's own limits, kept where WORKER_MAX_* are not passed (tests). */
const SDK_DEFAULT_SLOTS = { activities: 100, workflowTasks: 40, localActivities: 100 } as const;

/**
 * The process's workers, run and stopped as one: the main lane on the task queue, the bulk lane on `<queue>-bulk`
 * (see src/worker/lanes.ts). `getState` is the main worker's unless the bulk one has failed or stopped on its own.
 */
export interface HeraldWorker {
  run(): Promise<void>;
  shutdown(): void;
  getState(): State;
  /** The gate between the lanes (tests, benches). */
  readonly lanes: LaneGate;
}

/** One lane's slots as the SDK takes them: workflow tasks and activities from the gate, local activities as before. */
function tunerOf(lane: LaneGate['main'] | LaneGate['bulk']): WorkerTuner {
  return {
    workflowTaskSlotSupplier: lane.workflowTasks,
    activityTaskSlotSupplier: lane.activities,
    localActivityTaskSlotSupplier: { type: 'fixed-size', numSlots: SDK_DEFAULT_SLOTS.localActivities },
    nexusTaskSlotSupplier: { type: 'fixed-size', numSlots: 1 },
  };
}

/**
 * The worker for the pipeline workflows and activities: two SDK workers in one process sharing one connection, one
 * bundle and the same activities, one per lane. Tests pass a prebuilt bundle to skip rebundling; without one the code
 * is bundled once here for both.
 */
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
  /** WORKER_MAX_ACTIVITIES: activity slots of each lane; unset keeps the SDK's default. */
  maxActivities?: number;
  /** WORKER_MAX_WORKFLOW_TASKS: workflow task slots of each lane; unset keeps the SDK's default. */
  maxWorkflowTasks?: number;
  /** WORKER_MAX_CACHED_WORKFLOWS: sticky cache size of each lane; unset keeps the SDK's default. */
  maxCachedWorkflows?: number;
  /** WORKER_BULK_LANE_NICE: the OS nice value of the threads the bulk lane's SDK worker starts; unset or 0 leaves them. */
  bulkLaneNice?: number;
  /** WORKER_LANES: both lanes (default), or one of them alone (`split`: the main one; the bulk one runs in a child process). */
  lanes?: WorkerLanes;
  /** A bulk-only worker: whether the main lane (another process) is busy. */
  mainBusy?: () => boolean;
  /** A main-lane worker whose bulk lane runs elsewhere: told when the main lane turns busy or idle. */
  onMainBusyChange?: (busy: boolean) => void;
  /** The gate's HOLD_MS and STARVE_MS, for tests. */
  laneTimings?: { holdMs?: number; starveMs?: number };
}): Promise<HeraldWorker> {
  const which = opts.lanes === 'split' ? 'main' : (opts.lanes ?? 'both');
  const { tracing } = opts;
  const lanes = createLaneGate(
    { workflowTasks: opts.maxWorkflowTasks || SDK_DEFAULT_SLOTS.workflowTasks, activities: opts.maxActivities || SDK_DEFAULT_SLOTS.activities },
    { ...opts.laneTimings, ...(opts.mainBusy ? { mainBusy: opts.mainBusy } : {}), ...(opts.onMainBusyChange ? { onBusyChange: opts.onMainBusyChange } : {}) },
  );
  const workflowBundle = opts.workflowBundle ?? (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules: workflowInterceptorModules(tracing), logger: quietBundlerLogger }));
  const activities = createActivities(opts.deps);
  const sinks = { ...pipelineMetricsSinks(createPipelineMetrics(opts.metrics ?? new Registry())), ...tracing?.worker.sinks };
  const common = {
    connection: opts.connection,
    namespace: opts.namespace,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: opts.maxCachedWorkflows } : {}),
    activities,
    workflowBundle,
    sinks,
    // No eager activities: an activity handed back with the workflow task that scheduled it skips the task queue, so
    // one tenant's running pipelines would take the activity slots ahead of another tenant's queued work, without
    // the priority and fairness keys being looked at.
    maxEagerActivityReservationsPerWorkflowTask: 0,
    // Let in-flight activities (a post on its way) finish on shutdown.
    shutdownGraceTime: '10s',
    // Heartbeats reach Temporal at least every 2 s (not only every 80% of heartbeatTimeout), so an 8 s heartbeat
    // timeout has 6 s of slack on a busy machine and still notices a killed worker within seconds.
    maxHeartbeatThrottleInterval: '2s',
  } satisfies Partial<WorkerOptions>;
  // The bundle holds the workflow interceptor modules (the SDK warns when they are passed beside one).
  const activityInterceptors = tracing?.worker.activity ?? [];
  const workers: Worker[] = [];
  if (which !== 'bulk') workers.push(await Worker.create({ ...common, taskQueue: opts.taskQueue, tuner: tunerOf(lanes.main), interceptors: { activity: activityInterceptors } }));
  // The bulk lane's SDK worker starts its own threads (its workflow thread, its core's): on Linux they run at a lower
  // OS priority, so a burst's workflow tasks take the CPU only when the main lane's do not want it. (A bulk-only
  // process has lowered all of its threads already: src/bootstrap/worker.ts.)
  if (which !== 'main') {
    const { value } = await startedAtLowerPriority(which === 'both' ? (opts.bulkLaneNice ?? 0) : 0, () =>
      Worker.create({
        ...common,
        taskQueue: bulkTaskQueue(opts.taskQueue),
        tuner: tunerOf(lanes.bulk),
        interceptors: { activity: [inBulkLaneActivities(lanes), ...activityInterceptors] },
      }),
    );
    workers.push(value);
  }
  const [main, bulk = main] = workers;
  return {
    lanes,
    async run() {
      // Either one stopping (a fatal error) stops the other, so the process does not go on with half a worker.
      const runs = workers.map((w) =>
        w.run().finally(() => {
          for (const other of workers) if (other.getState() === 'RUNNING') other.shutdown();
        }),
      );
      try {
        await Promise.all(runs);
      } finally {
        await Promise.allSettled(runs);
        lanes.stop();
      }
    },
    shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    },
    getState() {
      const b = bulk.getState();
      return b === 'FAILED' || (b !== 'RUNNING' && main.getState() === 'RUNNING') ? b : main.getState();
    },
  };
}

/**
 * The bulk worker's activities (local ones too) run inside `bulkLane` (a title card then waits behind the main lane's),
 * and each waits for its turn before it starts: while the main lane is busy (another tenant's pipeline), a step of the
 * burst that the bulk lane took earlier waits (at most STARVE_MS) instead of sharing the event loop with it. An
 * activity with a heartbeat timeout heartbeats while it waits (its last details again, so a retry's progress is kept);
 * a cancelled one stops waiting.
 */
export function inBulkLaneActivities(lanes: LaneGate): ActivityInterceptorsFactory {
  const store = { turn: () => lanes.bulkTurn() };
  return (ctx) => ({
    inbound: {
      execute: (input, next) =>
        bulkLane.run(store, async () => {
          const turn = lanes.bulkTurn();
          if (turn) await waitForTurn(ctx, turn);
          return next(input);
        }),
    },
  });
}

async function waitForTurn(ctx: Context, turn: Promise<void>): Promise<void> {
  const { info } = ctx;
  const beat = info.isLocal || !info.heartbeatTimeoutMs ? undefined : setInterval(() => ctx.heartbeat(info.heartbeatDetails), HEARTBEAT_INTERVAL_MS);
  try {
    await Promise.race([turn, ctx.cancelled]);
  } finally {
    clearInterval(beat);
  }
}

/** bundleWorkflowCode's own lines (webpack's progress) are not Herald's business. */
const quietBundlerLogger = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
