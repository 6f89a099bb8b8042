import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { PipelineRequest, Priority } from '../domain/types';
import { HeraldPlatforms, HeraldStatus, HeraldTenant } from '../workflows/messages';

/** Task-queue priority per request priority: Temporal runs lower keys first. */
export const PRIORITY_KEY: Record<Priority, number> = { critical: 1, high: 2, normal: 3, low: 4 };
/** Temporal's lowest priority key by default (matching.priorityLevels 5): only a burst's low pipelines get it. */
export const LOWEST_PRIORITY_KEY = 5;

/**
 * A tenant's share: with this many pipelines at work, the tenant's next ones start one priority level lower, and its
 * normal and low ones on the bulk lane (pipelineTaskQueue), until it is back under. Temporal's fairness key alone does
 * not keep a light tenant's latency near its idle latency behind another tenant's burst of hundreds (workflow tasks
 * wait behind the burst's in the task queues, BENCHMARKS.md "fairness"); a lower priority key does, since Temporal
 * dispatches a level only when every higher one is empty; the bulk lane keeps the burst's steps from sharing the
 * worker's CPU with the light tenant's once they are taken (src/worker/lanes.ts).
 */
export const BURST_SHARE = 20;

/** The bulk lane's task queue beside a task queue (src/worker/lanes.ts): every Herald worker polls both. */
export function bulkTaskQueue(taskQueue: string): string {
  return taskQueue.endsWith(BULK_SUFFIX) ? taskQueue : `${taskQueue}${BULK_SUFFIX}`;
}
const BULK_SUFFIX = '-bulk';

/**
 * Where a pipeline's workflow runs, and with it its workflow tasks and activities: on the bulk lane when its tenant is
 * over its share (BURST_SHARE) and it is a normal or low one (or has no priority), else on the main queue. A worker
 * takes only a few of the bulk lane's tasks at once while it has main-lane work in hand (src/worker/lanes.ts), so
 * another tenant's pipeline shares the worker's CPU with a few of the burst's steps instead of every slot's worth;
 * while the main lane is idle the bulk lane has every slot. Critical and high pipelines stay on the main queue, where
 * priority orders them ahead of the rest, so a critical one never waits behind the bulk lane's gate.
 */
export function pipelineTaskQueue(taskQueue: string, p: { request: PipelineRequest; overShare?: boolean }): string {
  const base = PRIORITY_KEY[p.request.priority] ?? PRIORITY_KEY.normal;
  return p.overShare && base >= PRIORITY_KEY.normal ? bulkTaskQueue(taskQueue) : taskQueue;
}

/**
 * The task-queue priority of work done for a tenant: its priority key (a pipeline's request priority; unset runs as
 * Temporal's default, normal) and the tenant as fairness key, so that one tenant's backlog does not hold up another's.
 * Every workflow Herald starts carries it (pipelines, scheduled runs, webhook deliveries); the activities and child
 * workflows they start inherit it on the server.
 */
export function tenantPriority(tenantId: string, priority?: Priority): { priorityKey?: number; fairnessKey: string } {
  return priority === undefined ? { fairnessKey: tenantId } : { priorityKey: PRIORITY_KEY[priority] ?? PRIORITY_KEY.normal, fairnessKey: tenantId };
}

/**
 * How a pipeline's workflow is started, wherever it is started from: its id, the search attributes lists filter on
 * (tenant, status, platforms), its priority, and the tenant as fairness key so that one tenant's burst does not hold
 * up the others. No I/O, so that workflow code may use it too.
 */
export function pipelineStartOptions(p: { tenantId: string; workflowId: string; request: PipelineRequest; overShare?: boolean }) {
  const base = PRIORITY_KEY[p.request.priority] ?? PRIORITY_KEY.normal;
  return {
    workflowId: p.workflowId,
    // A pipeline runs once. Starting it again (a retried activity, a replayed request, a scheduled run that also starts
    // it as a child) meets the run: a running one is kept, an ended one is not run a second time.
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: [
      { key: HeraldTenant, value: p.tenantId },
      { key: HeraldStatus, value: 'queued' },
      { key: HeraldPlatforms, value: [...new Set(p.request.targets.map((t) => t.platform))] },
    ],
    // A request stored before priorities existed has none: it runs as normal. A pipeline started while its tenant is
    // over its share (see BURST_SHARE) runs one level lower: another tenant's work of the same priority goes first,
    // and the tenant's own order is kept (critical 2 still before low 5).
    priority: { priorityKey: p.overShare ? Math.min(base + 1, LOWEST_PRIORITY_KEY) : base, fairnessKey: p.tenantId },
    memo: { tenantId: p.tenantId },
  };
}
