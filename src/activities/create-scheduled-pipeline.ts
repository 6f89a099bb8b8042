import { Context } from '@temporalio/activity';
import type { PipelineRequest, PipelineState } from '../domain/types';
import { createPipeline } from '../pipelines';
import type { ActivityDeps } from './deps';

export interface CreateScheduledPipelineArgs {
  tenantId: string;
  scheduleId: string;
  request: PipelineRequest;
  /** The schedule run's own workflow id: unique per run, the same on every retry of this activity. */
  runWorkflowId: string;
}
export interface CreateScheduledPipelineResult {
  pipelineId: string;
  workflowId: string;
  state: PipelineState;
}

/**
 * Creates and starts one run's pipeline exactly as POST /v1/pipelines does (src/pipelines), keyed by the run so that
 * a retried attempt finds the pipeline the first attempt made instead of making a second one. The workflow is started
 * through the worker's own Temporal client, on the task queue this activity runs on.
 */
export function createCreateScheduledPipeline({ pipelines, accounts }: Pick<ActivityDeps, 'pipelines' | 'accounts'>) {
  return async function createScheduledPipeline({ tenantId, scheduleId, request, runWorkflowId }: CreateScheduledPipelineArgs): Promise<CreateScheduledPipelineResult> {
    const ctx = Context.current();
    const { row } = await createPipeline({ pipelines, accounts, workflows: ctx.client.workflow, taskQueue: ctx.info.taskQueue }, tenantId, request, {
      kind: 'schedule',
      scheduleId,
      runWorkflowId,
    });
    return { pipelineId: row.id, workflowId: row.workflowId, state: row.state };
  };
}
