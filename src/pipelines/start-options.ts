import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { PipelineRequest, Priority } from '../domain/types';
import { HeraldPlatforms, HeraldStatus, HeraldTenant } from '../workflows/messages';

/** Task-queue priority per request priority: Temporal runs lower keys first. */
export const PRIORITY_KEY: Record<Priority, number> = { critical: 1, high: 2, normal: 3, low: 4 };
/** Temporal's lowest priority key by default (matching.priorityLevels 5): only a burst's low pipelines get it. */
export const LOWEST_PRIORITY_KEY = 5;

/**
 * A tenant's share: with this many unfinished pipelines (the count TENANT_MAX_ACTIVE_PIPELINES caps), the tenant's
 * next ones start one priority level lower until it is back under. Temporal's fairness key alone does not keep a
 * light tenant's latency near its idle latency behind another tenant's burst of hundreds (workflow tasks wait behind
 * the burst's in the task queues, BENCHMARKS.md "fairness"); a lower priority key does, since Temporal dispatches a
 * level only when every higher one is empty.
 */
export const BURST_SHARE = 20;

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
