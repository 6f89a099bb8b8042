import type { Pool } from 'pg';
import { lifecycleEventId, type LifecycleEvent } from '../domain/lifecycle-events';
import { insertLifecycleEvents } from './lifecycle-events-repo';

/** The id of the event that says a schedule's run was skipped: stable, so a retried run records it once. */
export function runSkippedEventId(scheduleId: string, runWorkflowId: string): string {
  return lifecycleEventId('schedule', scheduleId, runWorkflowId, 'skipped');
}

/** Runs of recurring pipelines that made no pipeline, kept as their `schedule.run_skipped` lifecycle events. */
export function createScheduleRunRepository(pool: Pool) {
  return {
    /** Records the skip in the outbox (webhooks deliver it); recording it again changes nothing. */
    async recordSkipped(run: { tenantId: string; scheduleId: string; runWorkflowId: string; reason: string; at: string; data?: Record<string, unknown> }): Promise<void> {
      const event: LifecycleEvent = {
        id: runSkippedEventId(run.scheduleId, run.runWorkflowId),
        tenantId: run.tenantId,
        type: 'schedule.run_skipped',
        occurredAt: run.at,
        data: { scheduleId: run.scheduleId, runId: run.runWorkflowId, reason: run.reason, ...run.data },
      };
      await insertLifecycleEvents(pool, [event]);
    },

    /** Why each of these runs was skipped, by run workflow id; runs that were not skipped are left out. */
    async skipReasons(tenantId: string, runs: { scheduleId: string; runWorkflowId: string }[]): Promise<Map<string, string>> {
      if (!runs.length) return new Map();
      const ids = runs.map((r) => runSkippedEventId(r.scheduleId, r.runWorkflowId));
      const { rows } = await pool.query<{ run_id: string; reason: string }>(
        `SELECT data->>'runId' AS run_id, data->>'reason' AS reason FROM lifecycle_events
         WHERE tenant_id = $1 AND type = 'schedule.run_skipped' AND id = ANY($2)`,
        [tenantId, ids],
      );
      return new Map(rows.map((r) => [r.run_id, r.reason]));
    },
  };
}
export type ScheduleRunRepository = ReturnType<typeof createScheduleRunRepository>;
