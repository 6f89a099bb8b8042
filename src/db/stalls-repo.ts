import type { Pool } from 'pg';

/** How late a post may be before it counts as stalled (a busy worker or a slow provider is not a stall). */
export const STALL_GRACE_SECONDS = 120;

// Both lists repeat the partial indexes' predicates of migrations/009_stalls.sql word for word, so the planner uses them.
const UNFINISHED = `status IN ('queued', 'generating', 'illustrating', 'adapting', 'awaiting_approval', 'scheduled', 'publishing')`;
const UNPOSTED = `status IN ('pending', 'waiting', 'publishing')`;
/** Stages a worker is moving a pipeline through (migrations/012_stuck_pipelines.sql's partial index): no step for long means stuck. */
const WORKING = `status IN ('generating', 'illustrating', 'adapting', 'publishing')`;
const MAX_ITEMS = 500;

export interface OverduePipelineRow {
  pipelineId: string;
  status: string;
  platforms: string[];
  publishAt: Date;
  updatedAt: Date;
}

export interface StuckPipelineRow {
  pipelineId: string;
  workflowId: string;
  status: string;
  publishAt: Date | null;
  updatedAt: Date;
}

export interface StalledPublicationRow {
  pipelineId: string;
  pipelineStatus: string;
  index: number;
  platform: string;
  status: string;
  accountId: string | null;
  /** The connected account's status (`reauth_required`, `disabled`), when the target names one that exists. */
  accountStatus: string | null;
  accountError: string | null;
  attempts: number;
  error: string | null;
  retryAt: Date;
  updatedAt: Date;
}

export interface StallCounts {
  tenantId: string;
  overduePipelines: number;
  stalledPublications: number;
  stuckPipelines: number;
}

/** Posts whose time has passed without them going out; every query but the metric's count names the tenant. */
export function createStallsRepository(pool: Pool) {
  return {
    async overduePipelines(tenantId: string): Promise<OverduePipelineRow[]> {
      const { rows } = await pool.query<{ id: string; status: string; platforms: string[]; publish_at: Date; updated_at: Date }>(
        `SELECT id, status, platforms, publish_at, updated_at FROM pipelines
         WHERE publish_at IS NOT NULL AND ${UNFINISHED}
           AND publish_at < now() - make_interval(secs => $2) AND tenant_id = $1
         ORDER BY publish_at, id LIMIT ${MAX_ITEMS}`,
        [tenantId, STALL_GRACE_SECONDS],
      );
      return rows.map((r) => ({ pipelineId: r.id, status: r.status, platforms: r.platforms, publishAt: r.publish_at, updatedAt: r.updated_at }));
    },

    /** Started pipelines (a working stage) whose row no step has touched for `afterSeconds`. */
    async stuckPipelines(tenantId: string, afterSeconds: number): Promise<StuckPipelineRow[]> {
      const { rows } = await pool.query<{ id: string; workflow_id: string; status: string; publish_at: Date | null; updated_at: Date }>(
        `SELECT id, workflow_id, status, publish_at, updated_at FROM pipelines
         WHERE ${WORKING} AND updated_at < now() - make_interval(secs => $2) AND tenant_id = $1
         ORDER BY updated_at, id LIMIT ${MAX_ITEMS}`,
        [tenantId, afterSeconds],
      );
      return rows.map((r) => ({ pipelineId: r.id, workflowId: r.workflow_id, status: r.status, publishAt: r.publish_at, updatedAt: r.updated_at }));
    },

    async stalledPublications(tenantId: string): Promise<StalledPublicationRow[]> {
      const { rows } = await pool.query<{
        pipeline_id: string;
        pipeline_status: string;
        idx: number;
        platform: string;
        status: string;
        account_id: string | null;
        account_status: string | null;
        account_error: string | null;
        attempts: number;
        error: string | null;
        retry_at: Date;
        updated_at: Date;
      }>(
        `SELECT pub.pipeline_id, p.status AS pipeline_status, pub.idx, pub.platform, pub.status, pub.account_id,
                a.status AS account_status, a.last_error AS account_error, pub.attempts, pub.error, pub.retry_at, pub.updated_at
         FROM publications pub
         JOIN pipelines p ON p.id = pub.pipeline_id AND p.tenant_id = pub.tenant_id
         LEFT JOIN accounts a ON a.id = pub.account_id AND a.tenant_id = pub.tenant_id AND a.deleted_at IS NULL
         WHERE pub.retry_at IS NOT NULL AND pub.${UNPOSTED}
           AND pub.retry_at < now() - make_interval(secs => $2) AND pub.tenant_id = $1
           AND p.${UNFINISHED}
         ORDER BY pub.retry_at, pub.pipeline_id, pub.idx LIMIT ${MAX_ITEMS}`,
        [tenantId, STALL_GRACE_SECONDS],
      );
      return rows.map((r) => ({
        pipelineId: r.pipeline_id,
        pipelineStatus: r.pipeline_status,
        index: r.idx,
        platform: r.platform,
        status: r.status,
        accountId: r.account_id,
        accountStatus: r.account_status,
        accountError: r.account_error,
        attempts: r.attempts,
        error: r.error,
        retryAt: r.retry_at,
        updatedAt: r.updated_at,
      }));
    },

    /** Per tenant with any stall: three index range scans over unfinished rows only (the gauges run this per scrape). */
    async countsByTenant(stuckAfterSeconds: number): Promise<StallCounts[]> {
      const { rows } = await pool.query<{ tenant_id: string; overdue: string; stalled: string; stuck: string }>(
        `WITH overdue AS (
           SELECT tenant_id, count(*) AS n FROM pipelines
           WHERE publish_at IS NOT NULL AND ${UNFINISHED} AND publish_at < now() - make_interval(secs => $1)
           GROUP BY tenant_id
         ), stalled AS (
           SELECT pub.tenant_id, count(*) AS n FROM publications pub
           JOIN pipelines p ON p.id = pub.pipeline_id AND p.tenant_id = pub.tenant_id
           WHERE pub.retry_at IS NOT NULL AND pub.${UNPOSTED} AND pub.retry_at < now() - make_interval(secs => $1)
             AND p.${UNFINISHED}
           GROUP BY pub.tenant_id
         ), stuck AS (
           SELECT tenant_id, count(*) AS n FROM pipelines
           WHERE ${WORKING} AND updated_at < now() - make_interval(secs => $2)
           GROUP BY tenant_id
         )
         SELECT coalesce(o.tenant_id, s.tenant_id, k.tenant_id) AS tenant_id, coalesce(o.n, 0) AS overdue, coalesce(s.n, 0) AS stalled,
                coalesce(k.n, 0) AS stuck
         FROM overdue o FULL JOIN stalled s ON s.tenant_id = o.tenant_id
           FULL JOIN stuck k ON k.tenant_id = coalesce(o.tenant_id, s.tenant_id)`,
        [STALL_GRACE_SECONDS, stuckAfterSeconds],
      );
      return rows.map((r) => ({ tenantId: r.tenant_id, overduePipelines: Number(r.overdue), stalledPublications: Number(r.stalled), stuckPipelines: Number(r.stuck) }));
    },
  };
}

export type StallsRepository = ReturnType<typeof createStallsRepository>;
