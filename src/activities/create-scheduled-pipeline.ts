import { createHash, randomBytes } from 'node:crypto';
import { canonical, initialState, scheduledRunIdempotencyKey } from '../domain/pipeline-state';
import { pipelineWorkflowId } from '../domain/ids';
import type { PipelineRequest, PipelineState } from '../domain/types';
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

/** The idempotency key a scheduled run's pipeline is stored under: one pipeline per run, however often this retries. */

/**
 * Stores one run's pipeline exactly as POST /v1/pipelines does (id, initial state, request hash), keyed so that a
 * retried attempt finds the row the first attempt wrote instead of making a second pipeline.
 */
export function createCreateScheduledPipeline({ pipelines }: Pick<ActivityDeps, 'pipelines'>) {
  return async function createScheduledPipeline({ tenantId, scheduleId, request, runWorkflowId }: CreateScheduledPipelineArgs): Promise<CreateScheduledPipelineResult> {
    const id = `pl_${randomBytes(10).toString('hex')}`;
    const { row } = await pipelines.insert({
      id,
      tenantId,
      workflowId: pipelineWorkflowId(tenantId, id),
      request,
      state: initialState(id, tenantId, request, new Date().toISOString()),
      idempotencyKey: scheduledRunIdempotencyKey(scheduleId, runWorkflowId),
      requestHash: createHash('sha256').update(canonical(request)).digest('hex'),
    });
    return { pipelineId: row.id, workflowId: row.workflowId, state: row.state };
  };
}
