import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Gauge } from 'prom-client';
import {
  createStallsRepository,
  STALL_GRACE_SECONDS,
  type OverduePipelineRow,
  type StalledPublicationRow,
  type StallCounts,
  type StallsRepository,
  type StuckPipelineRow,
} from '../../db/stalls-repo';
import type { ApiDeps } from '../deps';
import { typedResponses } from '../schemas/common';
import { stallsResponseSchema, type StallReason, type StallsResponse } from '../schemas/stalls';

/** Metric names (deploy/ alert rules use them): gauges per tenant, refreshed when /metrics is scraped. */
export const OVERDUE_PIPELINES_METRIC = 'herald_overdue_pipelines';
export const STALLED_PUBLICATIONS_METRIC = 'herald_stalled_publications';
export const STUCK_PIPELINES_METRIC = 'herald_stuck_pipelines';
/** Stuck pipelines whose workflow Temporal is asked about in one listing (the rest carry the no-progress reason only). */
const DESCRIBED_AT_MOST = 50;
const METRIC_QUERY_TIMEOUT_MS = 3_000;

interface WorkerPolling {
  polling: boolean | null;
  lastPollAt: string | null;
  taskQueue: string;
}

/** Whether any worker polled the workflow task queue within the grace period; null when Temporal does not answer. */
async function workerPolling(deps: ApiDeps): Promise<WorkerPolling> {
  const taskQueue = deps.config.temporal.taskQueue;
  try {
    const res = await deps.temporal.workflowService.describeTaskQueue({
      namespace: deps.config.temporal.namespace,
      taskQueue: { name: taskQueue, kind: 1 },
      taskQueueType: 1,
    });
    // Temporal keeps a gone worker in the poller list for minutes; its last poll time is what tells.
    const last = Math.max(0, ...(res.pollers ?? []).map((p) => Number(p.lastAccessTime?.seconds ?? 0) * 1000));
    return { polling: last > 0 && Date.now() - last < STALL_GRACE_SECONDS * 1000, lastPollAt: last > 0 ? new Date(last).toISOString() : null, taskQueue };
  } catch (err) {
    deps.logger.warn({ err }, 'stalls: Temporal did not say whether a worker polls');
    return { polling: null, lastPollAt: null, taskQueue };
  }
}

function noWorkerReason(w: WorkerPolling): StallReason[] {
  if (w.polling !== false) return [];
  const since = w.lastPollAt ? `since ${w.lastPollAt}` : 'recently';
  return [{ code: 'no_worker_polling', message: `no worker has polled task queue ${w.taskQueue} ${since}` }];
}

const STATUS_REASON: Record<string, StallReason> = {
  queued: { code: 'not_started', message: 'queued: no worker has started it' },
  generating: { code: 'in_progress', message: 'still generating its text' },
  illustrating: { code: 'in_progress', message: 'still illustrating' },
  adapting: { code: 'in_progress', message: 'still adapting its variants' },
  awaiting_approval: { code: 'awaiting_approval', message: 'waiting for an approval: it publishes only once approved' },
  scheduled: { code: 'timer_not_fired', message: 'its publish timer has not fired' },
  publishing: { code: 'publishing', message: 'publishing started but not every target has finished' },
};

/**
 * What the resilience layer says about one key (a platform, or `platform:accountId`, the key publishing uses so that
 * one account's quota and breaker are its own): an open breaker, a block after a 429.
 */
async function providerReasons(deps: ApiDeps, key: string): Promise<StallReason[]> {
  const reasons: StallReason[] = [];
  try {
    const [breaker, limiter] = await Promise.all([deps.resilience.breaker.snapshot(key), deps.resilience.limiter.snapshot(key)]);
    if (breaker.state !== 'closed') {
      const probe = breaker.retryAt ? `; next probe at ${breaker.retryAt}` : '';
      reasons.push({ code: 'breaker_open', message: `${key}: circuit breaker ${breaker.state} after ${breaker.failures} failures${probe}` });
    }
    if (limiter.blockedUntil && Date.parse(limiter.blockedUntil) > Date.now()) {
      reasons.push({ code: 'rate_limited', message: `${key}: no calls until ${limiter.blockedUntil}${limiter.blockedReason ? ` (${limiter.blockedReason})` : ''}` });
    }
  } catch (err) {
    deps.logger.warn({ err, key }, 'stalls: resilience state unavailable');
  }
  return reasons;
}

/** The resilience keys a publication's calls go through: its platform's and its account's. */
const publicationKeys = (p: StalledPublicationRow) => (p.accountId ? [p.platform, `${p.platform}:${p.accountId}`] : [p.platform]);

function accountReasons(p: StalledPublicationRow): StallReason[] {
  const detail = p.accountError ? `: ${p.accountError}` : '';
  if (p.accountStatus === 'reauth_required') return [{ code: 'account_reauth_required', message: `account ${p.accountId} needs re-authorisation${detail}` }];
  if (p.accountStatus === 'disabled') return [{ code: 'account_disabled', message: `account ${p.accountId} is disabled${detail}` }];
  return [];
}

const lateSeconds = (since: Date, now: number) => Math.floor((now - since.getTime()) / 1000);
const secondsSince = (ms: number, now: number) => Math.max(0, Math.floor((now - ms) / 1000));

/**
 * What Temporal says a stuck pipeline's workflow waits for: its next workflow task not taken from the task queue (no
 * worker took it: none polls, or the worker is overloaded), or an activity scheduled and not started, or one failing
 * and retrying. Nothing when Temporal does not answer (the no-progress reason stays).
 */
async function workflowReasons(deps: ApiDeps, p: StuckPipelineRow, now: number): Promise<StallReason[]> {
  try {
    const d = await deps.temporal.workflow.getHandle(p.workflowId).describe();
    const reasons: StallReason[] = [];
    const wft = d.raw.pendingWorkflowTask;
    if (wft) {
      const since = optionalTsToMs(wft.originalScheduledTime) ?? optionalTsToMs(wft.scheduledTime);
      // 1: scheduled (no worker has it), 2: started (a worker has it).
      const taken = Number(wft.state) === 2;
      const waited = since !== undefined ? ` for ${secondsSince(since, now)} s` : '';
      reasons.push({
        code: 'workflow_task_waiting',
        message: taken
          ? `its workflow task was taken by a worker and has not completed${waited} (attempt ${wft.attempt ?? 1})`
          : `its next workflow task has waited${waited} on task queue ${d.taskQueue} for a worker to take it`,
      });
    }
    for (const a of d.raw.pendingActivities ?? []) {
      const type = a.activityType?.name ?? 'activity';
      const attempt = a.attempt ?? 1;
      const failure = a.lastFailure?.message ? `: ${a.lastFailure.message}` : '';
      const next = optionalTsToMs(a.nextAttemptScheduleTime);
      // 1: scheduled, 2: started, 3: cancel requested.
      if (Number(a.state) === 1) {
        const since = optionalTsToMs(a.scheduledTime);
        reasons.push({
          code: attempt > 1 ? 'activity_retrying' : 'activity_waiting',
          message: `${type} (attempt ${attempt}) scheduled${since !== undefined ? ` ${secondsSince(since, now)} s ago` : ''} on task queue ${d.taskQueue} and not started by any worker${failure}`,
        });
      } else if (attempt > 1 || failure) {
        reasons.push({ code: 'activity_retrying', message: `${type} on attempt ${attempt}${failure}${next ? `; next attempt at ${new Date(next).toISOString()}` : ''}` });
      }
    }
    return reasons;
  } catch (err) {
    deps.logger.warn({ err, workflowId: p.workflowId }, 'stalls: Temporal did not describe a stuck pipeline');
    return [];
  }
}

async function listStalls(deps: ApiDeps, repo: StallsRepository, tenantId: string): Promise<StallsResponse> {
  const noProgressSeconds = Math.round(deps.config.stallNoProgressAfterMs / 1000);
  const [pipelines, publications, stuckRows, workers] = await Promise.all([
    repo.overduePipelines(tenantId),
    repo.stalledPublications(tenantId),
    repo.stuckPipelines(tenantId, noProgressSeconds),
    workerPolling(deps),
  ]);
  const now = Date.now();
  // A pipeline already listed as overdue is not listed again as stuck.
  const overdueIds = new Set(pipelines.map((p) => p.pipelineId));
  const stuckOnly = stuckRows.filter((p) => !overdueIds.has(p.pipelineId));
  const described = await Promise.all(stuckOnly.slice(0, DESCRIBED_AT_MOST).map((p) => workflowReasons(deps, p, now)));
  const stuck = (p: StuckPipelineRow, i: number) => ({
    kind: 'stuck_pipeline' as const,
    pipelineId: p.pipelineId,
    pipelineStatus: p.status,
    publishAt: p.publishAt ? p.publishAt.toISOString() : null,
    updatedAt: p.updatedAt.toISOString(),
    lateSeconds: lateSeconds(p.updatedAt, now),
    reasons: [
      ...noWorkerReason(workers),
      { code: 'no_progress' as const, message: `no step recorded in '${p.status}' since ${p.updatedAt.toISOString()} (${lateSeconds(p.updatedAt, now)} s)` },
      ...(described[i] ?? []),
    ],
  });
  const keys = [...new Set([...pipelines.flatMap((p) => (p.status === 'publishing' ? p.platforms : [])), ...publications.flatMap(publicationKeys)])];
  const byKey = new Map(await Promise.all(keys.map(async (k) => [k, await providerReasons(deps, k)] as const)));
  const overdue = (p: OverduePipelineRow) => ({
    kind: 'overdue_pipeline' as const,
    pipelineId: p.pipelineId,
    pipelineStatus: p.status,
    publishAt: p.publishAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
    lateSeconds: lateSeconds(p.publishAt, now),
    reasons: [
      ...noWorkerReason(workers),
      STATUS_REASON[p.status] ?? { code: 'in_progress' as const, message: p.status },
      ...(p.status === 'publishing' ? p.platforms.flatMap((pl) => byKey.get(pl) ?? []) : []),
    ],
  });
  const stalled = (p: StalledPublicationRow) => ({
    kind: 'stalled_publication' as const,
    pipelineId: p.pipelineId,
    pipelineStatus: p.pipelineStatus,
    index: p.index,
    platform: p.platform,
    status: p.status,
    accountId: p.accountId,
    attempts: p.attempts,
    error: p.error,
    retryAt: p.retryAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
    lateSeconds: lateSeconds(p.retryAt, now),
    reasons: [
      ...noWorkerReason(workers),
      { code: 'retry_overdue' as const, message: `retry was due at ${p.retryAt.toISOString()} after ${p.attempts} attempt(s)${p.error ? `: ${p.error}` : ''}` },
      ...accountReasons(p),
      ...publicationKeys(p).flatMap((k) => byKey.get(k) ?? []),
    ],
  });
  return {
    items: [...pipelines.map(overdue), ...publications.map(stalled), ...stuckOnly.map(stuck)],
    graceSeconds: STALL_GRACE_SECONDS,
    noProgressSeconds,
    checkedAt: new Date(now).toISOString(),
    workers,
  };
}

/** Gauges per tenant, counted at scrape time; a failed count leaves them empty rather than stale. */
function registerStallGauges(deps: ApiDeps, repo: StallsRepository): void {
  if (deps.metrics.getSingleMetric(OVERDUE_PIPELINES_METRIC)) return;
  // prom-client collects a registry's metrics in parallel: both gauges share the one query of a scrape.
  let inflight: Promise<StallCounts[] | null> | null = null;
  const counts = () =>
    (inflight ??= withTimeout(repo.countsByTenant(Math.round(deps.config.stallNoProgressAfterMs / 1000)), METRIC_QUERY_TIMEOUT_MS)
      .catch((err: unknown) => {
        deps.logger.warn({ err }, 'stalls: the stall gauges were not counted');
        return null;
      })
      .finally(() => {
        inflight = null;
      }));
  const gauge = (name: string, help: string, pick: (c: StallCounts) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['tenant'],
      registers: [deps.metrics],
      async collect() {
        const all = await counts();
        this.reset();
        for (const c of all ?? []) if (pick(c) > 0) this.set({ tenant: c.tenantId }, pick(c));
      },
    });
  gauge(OVERDUE_PIPELINES_METRIC, `Pipelines not published more than ${STALL_GRACE_SECONDS} s after their publishAt, per tenant`, (c) => c.overduePipelines);
  gauge(STALLED_PUBLICATIONS_METRIC, `Publications still unposted more than ${STALL_GRACE_SECONDS} s after their retryAt, per tenant`, (c) => c.stalledPublications);
  gauge(
    STUCK_PIPELINES_METRIC,
    `Started pipelines (generating, illustrating, adapting, publishing) with no step recorded for STALL_NO_PROGRESS_AFTER (${Math.round(deps.config.stallNoProgressAfterMs / 1000)} s), per tenant`,
    (c) => c.stuckPipelines,
  );
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Posts whose time has passed without them going out: scheduled pipelines more than the grace period past publishAt,
 * and publications waiting more than the grace period past their retryAt, each with the reasons Herald knows.
 */
export const stallRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const repo = createStallsRepository(deps.pool);
  registerStallGauges(deps, repo);
  app.get(
    '/stalls',
    {
      schema: {
        operationId: 'listStalls',
        tags: ['operations'],
        summary: 'Overdue pipelines, publications stuck past their retry time and started pipelines making no progress, with reasons',
        description:
          `Scheduled pipelines whose publishAt passed more than ${STALL_GRACE_SECONDS} s ago without publishing, publications ` +
          `still unposted more than ${STALL_GRACE_SECONDS} s after their retryAt, and started pipelines (generating, illustrating, ` +
          'adapting, publishing) with no step recorded for noProgressSeconds (STALL_NO_PROGRESS_AFTER, 10 minutes by default). ' +
          'Each item lists the reasons Herald knows: the pipeline status, the last error, an open circuit breaker or rate-limit block, ' +
          'an account needing re-authorisation, no worker polling the task queue, and for a stuck pipeline what Temporal says its ' +
          'workflow waits for (a workflow task or an activity no worker has taken, an activity retrying after failures). The same ' +
          'counts are the herald_overdue_pipelines, herald_stalled_publications and herald_stuck_pipelines gauges on /metrics.',
        response: typedResponses({ 200: stallsResponseSchema }),
      },
    },
    async (request) => listStalls(deps, repo, request.tenantId),
  );
};
