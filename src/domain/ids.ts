// Id shapes shared by the API, activities and workflows. Pure string helpers only.

export function pipelineWorkflowId(tenantId: string, pipelineId: string): string {
  return `pipeline-${tenantId}-${pipelineId}`;
}

export function publicationWorkflowId(pipelineWorkflowId: string, index: number, platform: string): string {
  return `${pipelineWorkflowId}-publish-${index}-${platform}`;
}

/** Stable across retries of the same publication: what the platform-side idempotency keys derive from. */
export function publicationIdempotencyKey(pipelineId: string, index: number, platform: string): string {
  return `${pipelineId}:${index}:${platform}`;
}
