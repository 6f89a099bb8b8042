import type { LifecycleEvent } from '../domain/lifecycle-events';
import type { Queryable } from './timeline-repo';

/**
 * Adds events to the outbox (lifecycle_events) through the caller's transaction, so an event exists exactly when the
 * change it reports was stored. An event whose id is already there (a retried producer) is not added again.
 */
export async function insertLifecycleEvents(db: Queryable, events: LifecycleEvent[]): Promise<void> {
  if (!events.length) return;
  await db.query(
    `INSERT INTO lifecycle_events (id, tenant_id, type, occurred_at, data)
     SELECT i, tn, t, a, d::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) AS u(i, tn, t, a, d)
     ON CONFLICT (id) DO NOTHING`,
    [events.map((e) => e.id), events.map((e) => e.tenantId), events.map((e) => e.type), events.map((e) => e.occurredAt), events.map((e) => JSON.stringify(e.data))],
  );
}
