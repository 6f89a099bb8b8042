import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PipelineRequest } from '../domain/types';
import { pipelineStartOptions } from '../pipelines/start-options';
import { contentPipeline } from './content-pipeline';

// Storing the row must land; but a run that cannot store it for half an hour gives up, so a BUFFER_ONE schedule is
// not held up behind it forever (the next tick tries again).
const { createScheduledPipeline } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '30 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export interface ScheduledPipelineInput {
  tenantId: string;
  scheduleId: string;
  request: PipelineRequest;
}

/**
 * One run of a recurring pipeline, started by the tenant's Temporal Schedule: creates and starts the pipeline as
 * POST /v1/pipelines does (the activity, through src/pipelines), and returns its id once it runs; null when the run was
 * skipped (the tenant's backlog was full; the activity recorded why).
 */
export async function scheduledPipeline({ tenantId, scheduleId, request }: ScheduledPipelineInput): Promise<string | null> {
  const created = await createScheduledPipeline({ tenantId, scheduleId, request, runWorkflowId: workflowInfo().workflowId });
  if (created.skipped) return null;
  const { pipelineId, workflowId, state } = created;
  // The start an activity from before that change left to this workflow. With today's activity the pipeline is
  // already running, so this meets WorkflowExecutionAlreadyStartedError; it stays so that every run, recorded or
  // in flight, issues the same commands. As an abandoned child the pipeline lives on, and can be approved or
  // cancelled, independently of this short run.
  try {
    await startChild(contentPipeline, {
      ...pipelineStartOptions({ tenantId, workflowId, request }),
      args: [{ state }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return pipelineId;
}
