import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { PipelineRequest, Priority } from '../domain/types';
import { HeraldPlatforms, HeraldStatus, HeraldTenant } from '../workflows/messages';

/** Task-queue priority per request priority: Temporal runs lower keys first. */
export const PRIORITY_KEY: Record<Priority, number> = { critical: 1, high: 2, normal: 3, low: 4 };

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
export function pipelineStartOptions(p: { tenantId: string; workflowId: string; request: PipelineRequest }) {
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
    // A request stored before priorities existed has none: it runs as normal.
    priority: { priorityKey: PRIORITY_KEY[p.request.priority] ?? PRIORITY_KEY.normal, fairnessKey: p.tenantId },
    memo: { tenantId: p.tenantId },
  };
}
