// Lifecycle events: what Herald tells a tenant's webhook receivers. Pure types and ids; no I/O (workflows may import).

export const LIFECYCLE_EVENT_TYPES = [
  'pipeline.awaiting_approval',
  'pipeline.scheduled',
  'pipeline.published',
  'pipeline.partially_published',
  'pipeline.failed',
  'pipeline.expired',
  'pipeline.rejected',
  'pipeline.cancelled',
  'publication.published',
  'publication.failed',
  'publication.waiting',
  'account.reauth_required',
  'account.token_expiring',
  'schedule.run_skipped',
] as const;
export type LifecycleEventType = (typeof LIFECYCLE_EVENT_TYPES)[number];

/**
 * One event. `id` is stable: derived from what happened (see lifecycleEventId), so a producer that runs twice (a
 * retried activity) produces the same id and receivers can deduplicate on the `webhook-id` header.
 */
export interface LifecycleEvent {
  id: string;
  tenantId: string;
  type: LifecycleEventType;
  occurredAt: string;
  /** The payload's `data`: ids, statuses, error code and hint; never a secret. */
  data: Record<string, unknown>;
}

/** `evt_` plus the parts that make the event unique, e.g. lifecycleEventId('pipeline', id, 'published'). */
export function lifecycleEventId(...parts: (string | number)[]): string {
  return `evt_${parts.map((p) => String(p).replace(/[^A-Za-z0-9_.-]/g, '_')).join(':')}`;
}
