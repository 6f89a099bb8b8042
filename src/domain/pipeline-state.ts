// Pure pipeline-state helpers shared by the API (POST /v1/pipelines) and the scheduled-run activity.
import type { PipelineRequest, PipelineState } from './types';

/** Stable JSON: the same request always hashes the same, whatever the key order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export function initialState(id: string, tenantId: string, request: PipelineRequest, now: string): PipelineState {
  return {
    id,
    tenantId,
    status: 'queued',
    createdAt: now,
    updatedAt: now,
    request,
    content: null,
    images: [],
    variants: [],
    publications: request.targets.map((t) => ({
      platform: t.platform,
      accountId: t.accountId ?? null,
      status: 'pending',
      externalId: null,
      url: null,
      attempts: 0,
      error: null,
      retryAt: null,
      publishedAt: null,
    })),
    publishAt: request.publishAt ?? null,
    approval: null,
    error: null,
    version: 0,
  };
}

/** The idempotency key of one scheduled run: a retried run finds its pipeline instead of making a second. */
export function scheduledRunIdempotencyKey(scheduleId: string, runWorkflowId: string): string {
  return `schedule:${scheduleId}:${runWorkflowId}`;
}
