import type { Pool, PoolClient } from 'pg';
import type { TimelineEvent, TimelineEventBody, TimelineEventInput } from '../domain/timeline';

/** A pool or a transaction's client: events are recorded in the transaction of the change they report. */
export type Queryable = Pick<Pool | PoolClient, 'query'>;

/** Records events; one already recorded under the same (pipeline, key) is left as it is. */
export async function insertTimelineEvents(db: Queryable, tenantId: string, pipelineId: string, events: TimelineEventInput[]): Promise<void> {
  if (!events.length) return;
  const keys: string[] = [];
  const types: string[] = [];
  const ats: string[] = [];
  const data: string[] = [];
  for (const e of events) {
    const { key, at, type, ...rest } = e;
    keys.push(key);
    types.push(type);
    ats.push(at);
    data.push(JSON.stringify(rest));
  }
  // One statement, rows in the order given: seq follows that order.
  await db.query(
    `INSERT INTO pipeline_timeline (pipeline_id, key, tenant_id, type, occurred_at, data)
     SELECT $1, k, $2, t, a, d::jsonb FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::text[]) WITH ORDINALITY AS u(k, t, a, d, n)
     ORDER BY n
     ON CONFLICT (pipeline_id, key) DO NOTHING`,
    [pipelineId, tenantId, keys, types, ats, data],
  );
}

interface DbRow {
  pipeline_id: string;
  key: string;
  type: string;
  occurred_at: Date;
  data: Record<string, unknown>;
}

export function createTimelineRepository(pool: Pool) {
  return {
    /** Records events for a pipeline (see TimelineEventInput for the key); safe to call again with the same events. */
    append(tenantId: string, pipelineId: string, events: TimelineEventInput[]): Promise<void> {
      return insertTimelineEvents(pool, tenantId, pipelineId, events);
    },

    /** The pipeline's events, oldest first. */
    async list(tenantId: string, pipelineId: string): Promise<TimelineEvent[]> {
      const { rows } = await pool.query<DbRow>(
        `SELECT pipeline_id, key, type, occurred_at, data FROM pipeline_timeline
         WHERE tenant_id = $1 AND pipeline_id = $2 ORDER BY occurred_at, seq`,
        [tenantId, pipelineId],
      );
      return rows.map(
        (r) => ({ ...r.data, type: r.type, id: `${r.pipeline_id}:${r.key}`, pipelineId: r.pipeline_id, at: r.occurred_at.toISOString() }) as TimelineEventBody & TimelineEvent,
      );
    },
  };
}
export type TimelineRepository = ReturnType<typeof createTimelineRepository>;
