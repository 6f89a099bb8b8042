import { Context } from '@temporalio/activity';

/**
 * How often a running activity heartbeats. The worker sends heartbeats to Temporal at most every
 * `maxHeartbeatThrottleInterval` (src/worker/create-worker.ts), so the server sees one about this often: well inside
 * every `heartbeatTimeout` set in src/workflows, even on a busy machine.
 */
export const HEARTBEAT_INTERVAL_MS = 2_000;

/**
 * Runs `fn` while heartbeating every HEARTBEAT_INTERVAL_MS, so Temporal notices within the activity's
 * heartbeatTimeout that the worker running it died (kill -9, a lost machine) and retries it on another worker at once,
 * instead of after its start-to-close timeout. Heartbeats also carry cancellation to the activity
 * (`Context.current().cancellationSignal`).
 *
 * Run as a local activity (a lean pipeline's saveState), it just runs `fn`.
 *
 * `details` is read at every beat and sent as the heartbeat details: an activity that records progress there
 * (publishPost) passes its latest progress, so a periodic beat re-sends it and never replaces it with something else.
 */
export async function withHeartbeat<T>(fn: () => Promise<T>, details: () => unknown = () => undefined): Promise<T> {
  const activity = Context.current();
  // A local activity has no heartbeat: it runs inside a workflow task, which the worker keeps alive itself.
  if (activity.info.isLocal) return await fn();
  const timer = setInterval(() => {
    const d = details();
    if (d === undefined) activity.heartbeat();
    else activity.heartbeat(d);
  }, HEARTBEAT_INTERVAL_MS);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}
