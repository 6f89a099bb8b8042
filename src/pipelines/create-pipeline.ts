import { createHash, randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, type WorkflowClient } from '@temporalio/client';
import type { AccountRepository } from '../db/accounts-repo';
import type { PipelineRepository, PipelineRow } from '../db/pipelines-repo';
import { pipelineWorkflowId } from '../domain/ids';
import { canonical, initialState, scheduledRunIdempotencyKey } from '../domain/pipeline-state';
import type { PipelineRequest } from '../domain/types';
import { BacklogFullError, IdempotencyKeyReusedError, PipelineNotStartedError } from './errors';
import { pipelineStartOptions } from './start-options';
import { checkTargetAccounts } from './target-accounts';

export interface PipelineCreationDeps {
  pipelines: Pick<PipelineRepository, 'insert' | 'getByIdempotencyKey' | 'countActive' | 'deleteNeverStarted'>;
  accounts: Pick<AccountRepository, 'get'>;
  /** Starts the workflow: the API's Temporal client, or in an activity the worker's. */
  workflows: WorkflowClient;
  taskQueue: string;
  /** TENANT_MAX_ACTIVE_PIPELINES; unset: no limit. */
  maxActivePipelines?: number;
}

/**
 * Who asks for the pipeline. The API passes the client's Idempotency-Key, if any; a scheduled run is keyed by its run,
 * so that however often its activity is retried the run makes one pipeline.
 */
export type PipelineSource = { kind: 'api'; idempotencyKey?: string } | { kind: 'schedule'; scheduleId: string; runWorkflowId: string };

export interface CreatedPipeline {
  /** False when the idempotency key had already stored this pipeline (a replay). */
  created: boolean;
  row: PipelineRow;
}

/** What two requests under one idempotency key must share. */
function requestHash(request: PipelineRequest): string {
  return createHash('sha256').update(canonical(request)).digest('hex');
}

/** Starts the pipeline's workflow; one already running under its id is kept, so starting twice is harmless. */
async function startPipelineWorkflow({ workflows, taskQueue }: Pick<PipelineCreationDeps, 'workflows' | 'taskQueue'>, row: PipelineRow): Promise<void> {
  try {
    await workflows.start('contentPipeline', {
      taskQueue,
      ...pipelineStartOptions({ tenantId: row.tenantId, workflowId: row.workflowId, request: row.state.request }),
      args: [{ state: row.state }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return;
    throw err;
  }
}

/**
 * Creates a pipeline and starts its workflow: the one way, for POST /v1/pipelines and for every scheduled run.
 * Checks what the request schema cannot (the target accounts are this tenant's; the tenant's backlog has room), stores
 * the row with its initial state, then starts the workflow. With an idempotency key, a repeat of the same request
 * returns the stored pipeline (`created: false`), starting it if the first attempt stored it but died before starting.
 *
 * Throws TargetAccountError, BacklogFullError, IdempotencyKeyReusedError or PipelineNotStartedError.
 */
export async function createPipeline(deps: PipelineCreationDeps, tenantId: string, request: PipelineRequest, source: PipelineSource): Promise<CreatedPipeline> {
  const fromApi = source.kind === 'api';
  const hash = requestHash(request);
  // A schedule's accounts were checked when the schedule was made; a run is not refused for them later (its
  // publications report a missing account instead).
  if (fromApi) await checkTargetAccounts(deps.accounts, tenantId, request);
  const idempotencyKey = fromApi ? source.idempotencyKey : scheduledRunIdempotencyKey(source.scheduleId, source.runWorkflowId);

  const replay = async (existing: PipelineRow): Promise<CreatedPipeline> => {
    if (existing.requestHash !== hash) throw new IdempotencyKeyReusedError(existing.id);
    // The first attempt may have died between storing and starting: starting again is idempotent. The API answers with
    // the stored pipeline either way; a scheduled run's activity is retried until its pipeline has started.
    if (existing.state.version === 0) {
      const started = startPipelineWorkflow(deps, existing);
      await (fromApi ? started.catch(() => undefined) : started);
    }
    return { created: false, row: existing };
  };

  if (idempotencyKey) {
    // A replay is answered before the backlog check: it creates nothing.
    const existing = await deps.pipelines.getByIdempotencyKey(tenantId, idempotencyKey);
    if (existing) return replay(existing);
  }
  if (deps.maxActivePipelines !== undefined && (await deps.pipelines.countActive(tenantId)) >= deps.maxActivePipelines) {
    throw new BacklogFullError(deps.maxActivePipelines);
  }
  const id = `pl_${randomBytes(10).toString('hex')}`;
  const { created, row } = await deps.pipelines.insert({
    id,
    tenantId,
    workflowId: pipelineWorkflowId(tenantId, id),
    request,
    state: initialState(id, tenantId, request, new Date().toISOString()),
    idempotencyKey,
    requestHash: hash,
  });
  if (!created) return replay(row);
  try {
    await startPipelineWorkflow(deps, row);
  } catch (err) {
    // Without a key nobody can come back for this row: it goes, so it does not count against the backlog.
    if (!idempotencyKey) await deps.pipelines.deleteNeverStarted(id);
    throw new PipelineNotStartedError(id, err);
  }
  return { created: true, row };
}
