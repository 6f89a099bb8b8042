import { Context } from '@temporalio/activity';
import type { PipelineRequest, PipelineState } from '../domain/types';
import { BacklogFullError, createPipeline } from '../pipelines';
import type { ActivityDeps } from './deps';

export interface CreateScheduledPipelineArgs {
  tenantId: string;
  scheduleId: string;
  request: PipelineRequest;
  /** The schedule run's own workflow id: unique per run, the same on every retry of this activity. */
  runWorkflowId: string;
}
/** The run's pipeline, or (`skipped: true`) why the run made none. Results recorded before skips existed have no `skipped`. */
export type CreateScheduledPipelineResult =
  | { skipped?: false; pipelineId: string; workflowId: string; state: PipelineState }
  | { skipped: true; reason: string };

/**
 * Creates and starts one run's pipeline exactly as POST /v1/pipelines does (src/pipelines), keyed by the run so that
 * a retried attempt finds the pipeline the first attempt made instead of making a second one. The workflow is started
 * through the worker's own Temporal client, on the task queue this activity runs on.
 *
 * A run that would take the tenant past TENANT_MAX_ACTIVE_PIPELINES is skipped, not retried: a recurring post that
 * waited for room would publish late and then pile up behind the next run. The skip is recorded with its reason as a
 * `schedule.run_skipped` lifecycle event, which webhooks deliver and GET /v1/schedules shows on the run.
 */
export function createCreateScheduledPipeline({ pipelines, accounts, scheduleRuns, tenantMaxActivePipelines, logger }: Pick<ActivityDeps, 'pipelines' | 'accounts' | 'scheduleRuns' | 'tenantMaxActivePipelines' | 'logger'>) {
  return async function createScheduledPipeline({ tenantId, scheduleId, request, runWorkflowId }: CreateScheduledPipelineArgs): Promise<CreateScheduledPipelineResult> {
    const ctx = Context.current();
    const creation = { pipelines, accounts, workflows: ctx.client.workflow, taskQueue: ctx.info.taskQueue, maxActivePipelines: tenantMaxActivePipelines };
    try {
      const { row } = await createPipeline(creation, tenantId, request, { kind: 'schedule', scheduleId, runWorkflowId });
      return { pipelineId: row.id, workflowId: row.workflowId, state: row.state };
    } catch (err) {
      if (!(err instanceof BacklogFullError)) throw err;
      const reason = `backlog full: the tenant already has ${err.limit} active pipelines (TENANT_MAX_ACTIVE_PIPELINES); this run made none`;
      await scheduleRuns.recordSkipped({ tenantId, scheduleId, runWorkflowId, reason, at: new Date().toISOString(), data: { limit: err.limit } });
      logger.warn({ tenantId, scheduleId, runWorkflowId, limit: err.limit }, 'scheduled run skipped: backlog full');
      return { skipped: true, reason };
    }
  };
}
