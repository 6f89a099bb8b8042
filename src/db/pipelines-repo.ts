import type { Pool, PoolClient } from 'pg';
import type { PipelineRequest, PipelineState, PipelineStatus, Platform, Publication } from '../domain/types';
import { isTerminal, TERMINAL_STATUSES } from '../domain/types';
import { publicationIdempotencyKey } from '../domain/ids';
import { accountsToName, nameAccounts, readErrorInfo } from '../domain/hints';
import { stateEvents } from '../domain/state-events';
import { insertLifecycleEvents } from './lifecycle-events-repo';
import { insertTimelineEvents } from './timeline-repo';
import type { Queryable } from './timeline-repo';

export interface PipelineRow {
  id: string;
  tenantId: string;
  workflowId: string;
  status: PipelineStatus;
  requestHash: string;
  state: PipelineState;
  createdAt: Date;
}

export interface ListFilter {
  status?: PipelineStatus;
  platform?: Platform;
  limit: number;
  cursor?: { createdAt: string; id: string };
}

interface DbRow {
  id: string;
  tenant_id: string;
  workflow_id: string;
  status: PipelineStatus;
  request_hash: string;
  state: PipelineState;
  created_at: Date;
}

function toRow(r: DbRow): PipelineRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    workflowId: r.workflow_id,
    status: r.status,
    requestHash: r.request_hash,
    state: r.state,
    createdAt: r.created_at,
  };
}

/** The publications table keeps an error as text, "code: message", as it always has. */
function publicationErrorText(error: unknown): string | null {
  const e = readErrorInfo(error);
  return e ? `${e.code}: ${e.message}` : null;
}

/** The state with its account hints naming the account's handle (see nameAccounts). */
async function withAccountHandles(client: PoolClient, state: PipelineState): Promise<PipelineState> {
  const ids = accountsToName(state);
  if (!ids.length) return state;
  const { rows } = await client.query<{ id: string; handle: string }>('SELECT id, handle FROM accounts WHERE tenant_id = $1 AND id = ANY($2)', [state.tenantId, ids]);
  return nameAccounts(state, new Map(rows.map((r) => [r.id, r.handle])));
}

/** The WHERE clause of a list page (tenant, filters, keyset cursor) and its arguments, the LIMIT (one more) last. */
function listWhere(tenantId: string, f: ListFilter): { where: string; args: unknown[] } {
  const where = ['tenant_id = $1'];
  const args: unknown[] = [tenantId];
  if (f.status) {
    args.push(f.status);
    where.push(`status = $${args.length}`);
  }
  if (f.platform) {
    args.push(f.platform);
    where.push(`$${args.length} = ANY(platforms)`);
  }
  if (f.cursor) {
    args.push(f.cursor.createdAt, f.cursor.id);
    where.push(`(created_at, id) < ($${args.length - 1}::timestamptz, $${args.length})`);
  }
  args.push(f.limit + 1);
  return { where: where.join(' AND '), args };
}

/** At most `limit` of the rows read (limit + 1 were asked for), and the cursor after the last when there are more. */
function page<T extends { id: string; createdAt: Date }>(rows: T[], limit: number): { items: T[]; next: { createdAt: string; id: string } | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next: rows.length > limit && last ? { createdAt: last.createdAt.toISOString(), id: last.id } : null };
}

/**
 * A pipeline's list_item (migration 010): its state without tenantId, version and the heavy parts (see listSummaries),
 * as stored by whichever version wrote it; src/api/present-list.ts shows it.
 */
export type PipelineListItem = Record<string, unknown>;

export interface PipelineSummaryRow {
  id: string;
  workflowId: string;
  item: PipelineListItem;
  createdAt: Date;
}

/**
 * Writes the publications that changed since `prev` (all of them when there is no earlier save: the rows do not exist
 * yet) in one statement.
 */
async function upsertPublications(client: PoolClient, state: PipelineState, prev: PipelineState | null): Promise<void> {
  const changed = state.publications
    .map((p, idx) => ({ p, idx }))
    .filter(({ p, idx }) => !prev || JSON.stringify(prev.publications?.[idx]) !== JSON.stringify(p));
  if (!changed.length) return;
  const col = <T>(f: (x: { p: Publication; idx: number }) => T): T[] => changed.map(f);
  await client.query(
    `INSERT INTO publications (pipeline_id, idx, tenant_id, platform, account_id, status, idempotency_key,
       external_id, url, attempts, error, retry_at, published_at, preview, updated_at)
     SELECT $1, u.idx, $2, u.platform, u.account_id, u.status, u.idempotency_key, u.external_id, u.url, u.attempts,
            u.error, u.retry_at, u.published_at, u.preview::jsonb, now()
     FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[],
                 $11::text[], $12::timestamptz[], $13::timestamptz[], $14::text[])
          AS u(idx, platform, account_id, status, idempotency_key, external_id, url, attempts, error, retry_at, published_at, preview)
     ON CONFLICT (pipeline_id, idx) DO UPDATE SET status = EXCLUDED.status, external_id = EXCLUDED.external_id,
       url = EXCLUDED.url, attempts = EXCLUDED.attempts, error = EXCLUDED.error, retry_at = EXCLUDED.retry_at,
       published_at = EXCLUDED.published_at, preview = EXCLUDED.preview, updated_at = now()`,
    [
      state.id,
      state.tenantId,
      col(({ idx }) => idx),
      col(({ p }) => p.platform),
      col(({ p }) => p.accountId),
      col(({ p }) => p.status),
      col(({ p, idx }) => publicationIdempotencyKey(state.id, idx, p.platform)),
      col(({ p }) => p.externalId),
      col(({ p }) => p.url),
      col(({ p }) => p.attempts),
      col(({ p }) => publicationErrorText(p.error)),
      col(({ p }) => p.retryAt),
      col(({ p }) => p.publishedAt),
      col(({ p }) => (p.preview === undefined ? null : JSON.stringify(p.preview))),
    ],
  );
}

/** Unfinished statuses in which a pipeline waits (for its publish time, for a person) and costs the workers nothing. */
const WAITING_STATUSES: PipelineStatus[] = ['scheduled', 'awaiting_approval'];

/** A tenant's unfinished pipelines, and of those the ones being worked on now (see countUnfinished). */
export interface Backlog {
  active: number;
  working: number;
}

/**
 * The CTE `backlog` (active, working) for tenant $1, counted up to $2 rows (null: all), $3 the waiting statuses.
 * Unfinished is spelt as in the partial index pipelines_unfinished_by_tenant (migration 011), so that the count reads
 * only the tenant's unfinished entries of that index, not every pipeline the tenant ever had.
 */
const BACKLOG_SQL = `WITH backlog AS (
  SELECT count(*) AS active, count(*) FILTER (WHERE status <> ALL($3::text[])) AS working
  FROM (SELECT status FROM pipelines WHERE tenant_id = $1 AND status <> ALL ('{${TERMINAL_STATUSES.join(',')}}'::text[]) LIMIT $2::bigint) unfinished
)`;

/** A pipeline to store: its row's columns come from these (status, version and createdAt from the initial state). */
export interface NewPipeline {
  id: string;
  tenantId: string;
  workflowId: string;
  request: PipelineRequest;
  state: PipelineState;
  idempotencyKey?: string;
  requestHash: string;
}

/** The new row's values but tenant_id, in column order: id, workflow_id, status, platforms, request, state, version, idempotency_key, request_hash, created_at. */
function newPipelineValues(input: NewPipeline): unknown[] {
  return [
    input.id,
    input.workflowId,
    input.state.status,
    input.request.targets.map((t) => t.platform),
    input.request,
    input.state,
    input.state.version,
    input.idempotencyKey ?? null,
    input.requestHash,
    input.state.createdAt,
  ];
}

export function createPipelineRepository(pool: Pool) {
  /** The pipeline this tenant stored under an idempotency key, or null. */
  async function getByIdempotencyKey(tenantId: string, idempotencyKey: string): Promise<PipelineRow | null> {
    const { rows } = await pool.query<DbRow>(
      `SELECT id, tenant_id, workflow_id, status, request_hash, state, created_at FROM pipelines
       WHERE tenant_id = $1 AND idempotency_key = $2`,
      [tenantId, idempotencyKey],
    );
    return rows[0] ? toRow(rows[0]) : null;
  }

  /** After an insert that met this tenant's idempotency key: the pipeline stored under it. */
  async function storedUnderKey(input: NewPipeline): Promise<PipelineRow> {
    // Only a key can conflict; the row it names was there a moment ago (pipelines are deleted only before they start).
    const existing = await getByIdempotencyKey(input.tenantId, input.idempotencyKey!);
    if (!existing) throw new Error(`pipeline with idempotency key ${input.idempotencyKey} was deleted while it was being stored again`);
    return existing;
  }

  return {
    /**
     * Inserts a new pipeline, or with an idempotency key that this tenant already used returns the existing one.
     * `created` tells which. `db`: a transaction to insert in (one holding daily-cap locks), else the pool.
     */
    async insert(input: NewPipeline, db: Queryable = pool): Promise<{ created: boolean; row: PipelineRow }> {
      const { rows } = await db.query<DbRow>(
        `INSERT INTO pipelines (id, tenant_id, workflow_id, status, platforms, request, state, version, idempotency_key, request_hash, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
         RETURNING id, tenant_id, workflow_id, status, request_hash, state, created_at`,
        [input.id, input.tenantId, ...newPipelineValues(input).slice(1)],
      );
      if (rows[0]) return { created: true, row: toRow(rows[0]) };
      return { created: false, row: await storedUnderKey(input) };
    },

    getByIdempotencyKey,

    /**
     * The pipeline ids stored under these idempotency keys (a scheduled run's key names its run), by key; keys with no
     * pipeline are left out.
     */
    async idsByIdempotencyKey(tenantId: string, keys: string[]): Promise<Map<string, string>> {
      if (!keys.length) return new Map();
      const { rows } = await pool.query<{ id: string; idempotency_key: string }>(
        'SELECT id, idempotency_key FROM pipelines WHERE tenant_id = $1 AND idempotency_key = ANY($2)',
        [tenantId, keys],
      );
      return new Map(rows.map((r) => [r.idempotency_key, r.id]));
    },

    /** Removes a pipeline whose workflow never started (no state was ever saved), so it does not count as active. */
    async deleteNeverStarted(id: string): Promise<void> {
      await pool.query('DELETE FROM pipelines WHERE id = $1 AND version = 0', [id]);
    },

    /**
     * Writes a newer state; an older or equal version (a retried or late activity) changes nothing. In the same
     * transaction: the timeline events and the lifecycle events (webhook outbox) that the change from the stored state
     * means, under ids derived from the change, so nothing is recorded twice.
     */
    async saveState(workflowState: PipelineState): Promise<boolean> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows: stored } = await client.query<{ state: PipelineState; version: number }>(
          'SELECT state, version FROM pipelines WHERE id = $1 AND tenant_id = $2 FOR UPDATE',
          [workflowState.id, workflowState.tenantId],
        );
        const prev = stored[0];
        if (!prev || prev.version >= workflowState.version) {
          await client.query('COMMIT');
          return false;
        }
        const state = await withAccountHandles(client, workflowState);
        await client.query(`UPDATE pipelines SET state = $2, status = $3, version = $4, updated_at = $5 WHERE id = $1`, [
          state.id,
          state,
          state.status,
          state.version,
          state.updatedAt,
        ]);
        await upsertPublications(client, state, prev.version > 0 ? prev.state : null);
        const events = stateEvents(prev.state, state);
        await insertTimelineEvents(client, state.tenantId, state.id, events.timeline);
        await insertLifecycleEvents(client, events.lifecycle);
        await client.query('COMMIT');
        return true;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    async get(tenantId: string, id: string): Promise<PipelineRow | null> {
      const { rows } = await pool.query<DbRow>(
        'SELECT id, tenant_id, workflow_id, status, request_hash, state, created_at FROM pipelines WHERE tenant_id = $1 AND id = $2',
        [tenantId, id],
      );
      return rows[0] ? toRow(rows[0]) : null;
    },

    /** Newest first; the cursor is the last row's (created_at, id). Each item is the whole state. */
    async list(tenantId: string, f: ListFilter): Promise<{ items: PipelineRow[]; next: { createdAt: string; id: string } | null }> {
      const { where, args } = listWhere(tenantId, f);
      const { rows } = await pool.query<DbRow>(
        `SELECT id, tenant_id, workflow_id, status, request_hash, state, created_at FROM pipelines
         WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
        args,
      );
      return page(rows.map(toRow), f.limit);
    },

    /**
     * As list, but each item is the pipeline's list_item (migration 010: its state without content body, images,
     * variants, publication previews and the brief, kept by a trigger), so a page does not read every state out of TOAST.
     */
    async listSummaries(tenantId: string, f: ListFilter): Promise<{ items: PipelineSummaryRow[]; next: { createdAt: string; id: string } | null }> {
      const { where, args } = listWhere(tenantId, f);
      const { rows } = await pool.query<{ id: string; workflow_id: string; item: PipelineListItem; created_at: Date }>(
        `SELECT id, workflow_id, COALESCE(list_item, pipeline_list_item(state)) AS item, created_at FROM pipelines
         WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
        args,
      );
      return page(
        rows.map((r) => ({ id: r.id, workflowId: r.workflow_id, item: r.item, createdAt: r.created_at })),
        f.limit,
      );
    },

    /**
     * As listSummaries, with each item as PostgreSQL writes it (`itemText`, JSON text the driver does not parse) and
     * the row's version (`rev`: its xmin, new for every change of the row, and the state's version), for
     * src/api/summary-cache.ts.
     */
    async listSummaryTexts(
      tenantId: string,
      f: ListFilter,
    ): Promise<{ items: { id: string; workflowId: string; createdAt: Date; rev: string; itemText: string | null }[]; next: { createdAt: string; id: string } | null }> {
      const { where, args } = listWhere(tenantId, f);
      const { rows } = await pool.query<{ id: string; workflow_id: string; created_at: Date; rev: string; item: string | null }>(
        `SELECT id, workflow_id, created_at, xmin::text || '.' || version AS rev, COALESCE(list_item, pipeline_list_item(state))::text AS item FROM pipelines
         WHERE ${where} ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
        args,
      );
      return page(
        rows.map((r) => ({ id: r.id, workflowId: r.workflow_id, createdAt: r.created_at, rev: r.rev, itemText: r.item })),
        f.limit,
      );
    },

    /**
     * A tenant's unfinished pipelines (`active`: what TENANT_MAX_ACTIVE_PIPELINES caps) and, of those, the ones being
     * worked on now (`working`: not waiting for a time or a person), in one query. Counted up to `cap` at most (the
     * backlog cap; unset: all), which is all the cap's check needs: reaching it means full, whatever `working` is.
     */
    async countUnfinished(tenantId: string, cap?: number, db: Queryable = pool): Promise<Backlog> {
      const { rows } = await db.query<{ active: string; working: string }>(`${BACKLOG_SQL} SELECT active, working FROM backlog`, [tenantId, cap ?? null, WAITING_STATUSES]);
      return { active: Number(rows[0].active), working: Number(rows[0].working) };
    },

    /**
     * The backlog check and the insert in one statement (one round trip, one pooled connection for the shortest time):
     * counts the tenant's unfinished pipelines as countUnfinished does and inserts the pipeline only when fewer than
     * `cap` are (unset: always), as insert does. `stored` is null when the backlog was full (nothing inserted); with an
     * idempotency key this tenant already used, the stored pipeline (`created: false`). The count is taken before the
     * insert, so it does not include the new pipeline.
     */
    async insertWithinBacklog(input: NewPipeline, cap?: number): Promise<{ backlog: Backlog; stored: { created: boolean; row: PipelineRow } | null }> {
      const { rows } = await pool.query<DbRow & { active: string; working: string }>(
        `${BACKLOG_SQL}, stored AS (
           INSERT INTO pipelines (id, tenant_id, workflow_id, status, platforms, request, state, version, idempotency_key, request_hash, created_at, updated_at)
           SELECT $4::text, $1::text, $5::text, $6::text, $7::text[], $8::jsonb, $9::jsonb, $10::integer, $11::text, $12::text, $13::timestamptz, $13::timestamptz
           FROM backlog WHERE $2::bigint IS NULL OR backlog.active < $2::bigint
           ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
           RETURNING id, tenant_id, workflow_id, status, request_hash, state, created_at
         )
         SELECT backlog.active, backlog.working, stored.* FROM backlog LEFT JOIN stored ON true`,
        [input.tenantId, cap ?? null, WAITING_STATUSES, ...newPipelineValues(input)],
      );
      const backlog = { active: Number(rows[0].active), working: Number(rows[0].working) };
      if (cap !== undefined && backlog.active >= cap) return { backlog, stored: null };
      if (rows[0].id) return { backlog, stored: { created: true, row: toRow(rows[0]) } };
      return { backlog, stored: { created: false, row: await storedUnderKey(input) } };
    },

    async countActive(tenantId: string): Promise<number> {
      const { rows } = await pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM pipelines WHERE tenant_id = $1 AND NOT (status = ANY($2))',
        [tenantId, TERMINAL_STATUSES],
      );
      return Number(rows[0].n);
    },
  };
}
export type PipelineRepository = ReturnType<typeof createPipelineRepository>;
export { isTerminal };
