import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';

export const WORKFLOWS_PATH = require.resolve('../workflows');

/** One worker for the pipeline workflows and activities. Tests pass a prebuilt bundle to skip rebundling. */
export async function createHeraldWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  workflowBundle?: WorkerOptions['workflowBundle'];
  identity?: string;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    ...(opts.identity ? { identity: opts.identity } : {}),
    activities: createActivities(opts.deps),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    // Let in-flight activities (a post on its way) finish on shutdown.
    shutdownGraceTime: '10s',
    // Heartbeats reach Temporal at least every 2 s (not only every 80% of heartbeatTimeout), so an 8 s heartbeat
    // timeout has 6 s of slack on a busy machine and still notices a killed worker within seconds.
    maxHeartbeatThrottleInterval: '2s',
  });
}
