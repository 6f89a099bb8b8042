import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, proxyActivities, startChild, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PipelineRequest, Priority } from '../domain/types';
import { contentPipeline } from './content-pipeline';
import { HeraldPlatforms, HeraldStatus, HeraldTenant } from './messages';

// Storing the row must land; but a run that cannot store it for half an hour gives up, so a BUFFER_ONE schedule is
// not held up behind it forever (the next tick tries again).
const { createScheduledPipeline } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '30 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

// The same task-queue priority keys the API gives pipelines it starts (src/api/routes/pipelines.ts).
const PRIORITY_KEY: Record<Priority, number> = { critical: 1, high: 2, normal: 3, low: 4 };

export interface ScheduledPipelineInput {
  tenantId: string;
  scheduleId: string;
  request: PipelineRequest;
}

/**
 * One run of a recurring pipeline, started by the tenant's Temporal Schedule: stores the pipeline row as
 * POST /v1/pipelines would, starts `contentPipeline` as an abandoned child (it lives on, and can be approved or
 * cancelled, independently of this short run), and returns the pipeline id once the child has started.
 */
export async function scheduledPipeline({ tenantId, scheduleId, request }: ScheduledPipelineInput): Promise<string> {
  const { pipelineId, workflowId, state } = await createScheduledPipeline({ tenantId, scheduleId, request, runWorkflowId: workflowInfo().workflowId });
  try {
    await startChild(contentPipeline, {
      workflowId,
      args: [{ state }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      typedSearchAttributes: [
        { key: HeraldTenant, value: tenantId },
        { key: HeraldStatus, value: 'queued' },
        { key: HeraldPlatforms, value: [...new Set(request.targets.map((t) => t.platform))] },
      ],
      priority: { priorityKey: PRIORITY_KEY[request.priority] ?? PRIORITY_KEY.normal, fairnessKey: tenantId },
      memo: { tenantId },
    });
  } catch (err) {
    // Only possible when an earlier attempt of this run already started it: the pipeline is running, which is the goal.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  return pipelineId;
}
