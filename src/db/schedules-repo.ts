import type { Pool } from 'pg';
import type { PipelineRequest } from '../domain/types';

/** When a schedule runs: exactly one of the two, as the client gave it. */
export type ScheduleSpecInput = { cron: string } | { every: string };

export interface ScheduleRow {
  id: string;
  tenantId: string;
  temporalScheduleId: string;
  spec: ScheduleSpecInput;
  timezone: string;
  request: PipelineRequest;
  paused: boolean;
  createdAt: Date;
  updatedAt: Date;
}

interface DbRow {
  id: string;
  tenant_id: string;
  temporal_schedule_id: string;
  spec: ScheduleSpecInput;
  timezone: string;
  request: PipelineRequest;
  paused: boolean;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, tenant_id, temporal_schedule_id, spec, timezone, request, paused, created_at, updated_at';

function toRow(r: DbRow): ScheduleRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    temporalScheduleId: r.temporal_schedule_id,
    spec: r.spec,
    timezone: r.timezone,
    request: r.request,
    paused: r.paused,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Every query names the tenant: another tenant's schedule is simply not there. */
export function createScheduleRepository(pool: Pool) {
  return {
    async insert(input: Omit<ScheduleRow, 'createdAt' | 'updatedAt' | 'paused'>): Promise<ScheduleRow> {
      const { rows } = await pool.query<DbRow>(
        `INSERT INTO schedules (id, tenant_id, temporal_schedule_id, spec, timezone, request, paused)
         VALUES ($1,$2,$3,$4,$5,$6,false) RETURNING ${COLUMNS}`,
        [input.id, input.tenantId, input.temporalScheduleId, input.spec, input.timezone, input.request],
      );
      return toRow(rows[0]);
    },

    async get(tenantId: string, id: string): Promise<ScheduleRow | null> {
      const { rows } = await pool.query<DbRow>(`SELECT ${COLUMNS} FROM schedules WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      return rows[0] ? toRow(rows[0]) : null;
    },

    /** Newest first. */
    async list(tenantId: string): Promise<ScheduleRow[]> {
      const { rows } = await pool.query<DbRow>(`SELECT ${COLUMNS} FROM schedules WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC`, [tenantId]);
      return rows.map(toRow);
    },

    async setPaused(tenantId: string, id: string, paused: boolean): Promise<ScheduleRow | null> {
      const { rows } = await pool.query<DbRow>(
        `UPDATE schedules SET paused = $3, updated_at = CASE WHEN paused = $3 THEN updated_at ELSE now() END
         WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
        [tenantId, id, paused],
      );
      return rows[0] ? toRow(rows[0]) : null;
    },

    async delete(tenantId: string, id: string): Promise<boolean> {
      const res = await pool.query('DELETE FROM schedules WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return res.rowCount === 1;
    },
  };
}
export type ScheduleRepository = ReturnType<typeof createScheduleRepository>;
