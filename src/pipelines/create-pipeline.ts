import { createHash, randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, type WorkflowClient } from '@temporalio/client';
import type { AccountRepository } from '../db/accounts-repo';
import type { CapsRepository, LockedCaps } from '../db/caps-repo';
import type { Backlog, PipelineRepository, PipelineRow } from '../db/pipelines-repo';
import { insertTimelineEvents } from '../db/timeline-repo';
import { pipelineWorkflowId } from '../domain/ids';
import { canonical, initialState, scheduledRunIdempotencyKey } from '../domain/pipeline-state';
import type { PipelineRequest } from '../domain/types';
import type { ProviderLimits } from '../resilience/types';
import { cappedAccounts, checkDailyCaps } from './daily-cap-check';
import { BacklogFullError, DailyCapFullError, IdempotencyKeyReusedError, PipelineNotStartedError } from './errors';
import { BURST_SHARE, pipelineStartOptions, pipelineTaskQueue } from './start-options';
import { checkTargetAccounts } from './target-accounts';

export interface PipelineCreationDeps {
  pipelines: Pick<PipelineRepository, 'insert' | 'insertWithinBacklog' | 'getByIdempotencyKey' | 'countUnfinished' | 'deleteNeverStarted'>;
  accounts: Pick<AccountRepository, 'get'>;
  /** Starts the workflow: the API's Temporal client, or in an activity the worker's. */
  workflows: WorkflowClient;
  taskQueue: string;
  /** TENANT_MAX_ACTIVE_PIPELINES; unset: no limit. */
  maxActivePipelines?: number;
  /** Daily caps per account, checked at publishAt; unset: not checked (a scheduled run has no publishAt). */
  dailyCaps?: { repo: Pick<CapsRepository, 'withAccountsLocked'>; limits: Record<string, ProviderLimits> };
}

/** What to do when a target account's daily cap is already full at publishAt: refuse (the default), or move to the next free time. */
export type WhenFull = 'refuse' | 'next_slot';
/** A pipeline request as POST /v1/pipelines takes it: the stored request, plus what to do when a cap is full. */
export type CreationRequest = PipelineRequest & { whenFull?: WhenFull };

type NewRow = Parameters<PipelineRepository['insert']>[0];

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

/**
 * Stores the pipeline if every capped target account has room at publishAt, under the accounts' locks. With
 * `whenFull: "next_slot"` a full publishAt moves to the first time every target has room: the state's publishAt says
 * the new time (the request keeps the one asked for) and the timeline records the move.
 */
async function insertWithinCaps(
  pipelines: PipelineCreationDeps['pipelines'],
  limits: Record<string, ProviderLimits>,
  tx: LockedCaps,
  row: NewRow,
): Promise<{ created: boolean; row: PipelineRow }> {
  const request = row.request as CreationRequest;
  const check = await checkDailyCaps(tx.times, request, limits);
  if (!check.problems.length) return pipelines.insert(row, tx.db);
  if (request.whenFull !== 'next_slot' || !check.nextFreeAt) throw new DailyCapFullError(check.problems, check.nextFreeAt);
  const stored = await pipelines.insert({ ...row, state: { ...row.state, publishAt: check.nextFreeAt } }, tx.db);
  if (stored.created) {
    const full = check.problems.map((p) => `${p.platform} account ${p.accountId} (${p.cap.count} per ${p.cap.window})`).join(', ');
    await insertTimelineEvents(tx.db, row.tenantId, row.id, [
      {
        key: 'publish_time:next_slot',
        at: row.state.createdAt,
        type: 'publish_time',
        from: request.publishAt!,
        to: check.nextFreeAt,
        reason: `daily cap full at the requested time for ${full}; moved to the next free time ("whenFull": "next_slot")`,
      },
    ]);
  }
  return stored;
}

/** Starts the pipeline's workflow; one already running under its id is kept, so starting twice is harmless. */
async function startPipelineWorkflow({ workflows, taskQueue }: Pick<PipelineCreationDeps, 'workflows' | 'taskQueue'>, row: PipelineRow, overShare = false): Promise<void> {
  try {
    await workflows.start('contentPipeline', {
      taskQueue: pipelineTaskQueue(taskQueue, { request: row.state.request, overShare }),
      ...pipelineStartOptions({ tenantId: row.tenantId, workflowId: row.workflowId, request: row.state.request, overShare }),
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
 * A publishAt at which a target account's daily cap is full is refused (DailyCapFullError naming the next free time)
 * or, with `whenFull: "next_slot"`, moved there.
 *
 * Throws TargetAccountError, BacklogFullError, DailyCapFullError, IdempotencyKeyReusedError or PipelineNotStartedError.
 */
export async function createPipeline(deps: PipelineCreationDeps, tenantId: string, request: CreationRequest, source: PipelineSource): Promise<CreatedPipeline> {
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
  const id = `pl_${randomBytes(10).toString('hex')}`;
  const newRow: NewRow = {
    id,
    tenantId,
    workflowId: pipelineWorkflowId(tenantId, id),
    request,
    state: initialState(id, tenantId, request, new Date().toISOString()),
    idempotencyKey,
    requestHash: hash,
  };
  // The backlog: the cap (every unfinished pipeline), and whether this tenant is over its share of the workers
  // (pipelines being worked on now; scheduled ones and ones awaiting approval cost nothing until their time): its
  // pipeline then starts one priority level lower, so that other tenants' work is not held up behind its burst.
  // Usually counted in the insert's own statement (one round trip); a request with capped accounts counts first, so
  // that a full backlog is answered before the daily caps are looked at under their locks.
  const cap = deps.maxActivePipelines;
  const capped = deps.dailyCaps ? cappedAccounts(request, deps.dailyCaps.limits) : [];
  let backlog: Backlog;
  let stored: { created: boolean; row: PipelineRow } | null;
  if (capped.length) {
    backlog = await deps.pipelines.countUnfinished(tenantId, cap);
    stored =
      cap !== undefined && backlog.active >= cap
        ? null
        : await deps.dailyCaps!.repo.withAccountsLocked(tenantId, capped.map((c) => c.account), (tx) => insertWithinCaps(deps.pipelines, deps.dailyCaps!.limits, tx, newRow));
  } else {
    ({ backlog, stored } = await deps.pipelines.insertWithinBacklog(newRow, cap));
  }
  if (!stored) throw new BacklogFullError(cap!);
  const overShare = backlog.working >= BURST_SHARE;
  const { created, row } = stored;
  if (!created) return replay(row);
  try {
    await startPipelineWorkflow(deps, row, overShare);
  } catch (err) {
    // Without a key nobody can come back for this row: it goes, so it does not count against the backlog.
    if (!idempotencyKey) await deps.pipelines.deleteNeverStarted(id);
    throw new PipelineNotStartedError(id, err);
  }
  return { created: true, row };
}
