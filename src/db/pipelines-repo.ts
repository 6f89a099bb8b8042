import type { Pool, PoolClient } from 'pg';
import type { PipelineRequest, PipelineState, PipelineStatus, Platform } from '../domain/types';
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

  return {
    /**
     * Inserts a new pipeline, or with an idempotency key that this tenant already used returns the existing one.
     * `created` tells which. `db`: a transaction to insert in (one holding daily-cap locks), else the pool.
     */
    async insert(
      input: {
        id: string;
        tenantId: string;
        workflowId: string;
        request: PipelineRequest;
        state: PipelineState;
        idempotencyKey?: string;
        requestHash: string;
      },
      db: Queryable = pool,
    ): Promise<{ created: boolean; row: PipelineRow }> {
      const platforms = input.request.targets.map((t) => t.platform);
      const { rows } = await db.query<DbRow>(
        `INSERT INTO pipelines (id, tenant_id, workflow_id, status, platforms, request, state, version, idempotency_key, request_hash, created_at, updated_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$11)
         ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
         RETURNING id, tenant_id, workflow_id, status, request_hash, state, created_at`,
        [
          input.id,
          input.tenantId,
          input.workflowId,
          input.state.status,
          platforms,
          input.request,
          input.state,
          input.state.version,
          input.idempotencyKey ?? null,
          input.requestHash,
          input.state.createdAt,
        ],
      );
      if (rows[0]) return { created: true, row: toRow(rows[0]) };
      // Only a key can conflict; the row it names was there a moment ago (pipelines are deleted only before they start).
      const existing = await getByIdempotencyKey(input.tenantId, input.idempotencyKey!);
      if (!existing) throw new Error(`pipeline with idempotency key ${input.idempotencyKey} was deleted while it was being stored again`);
      return { created: false, row: existing };
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
        for (const [idx, p] of state.publications.entries()) {
          await client.query(
            `INSERT INTO publications (pipeline_id, idx, tenant_id, platform, account_id, status, idempotency_key,
               external_id, url, attempts, error, retry_at, published_at, preview, updated_at)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14, now())
             ON CONFLICT (pipeline_id, idx) DO UPDATE SET status = EXCLUDED.status, external_id = EXCLUDED.external_id,
               url = EXCLUDED.url, attempts = EXCLUDED.attempts, error = EXCLUDED.error, retry_at = EXCLUDED.retry_at,
               published_at = EXCLUDED.published_at, preview = EXCLUDED.preview, updated_at = now()`,
            [
              state.id,
              idx,
              state.tenantId,
              p.platform,
              p.accountId,
              p.status,
              publicationIdempotencyKey(state.id, idx, p.platform),
              p.externalId,
              p.url,
              p.attempts,
              publicationErrorText(p.error),
              p.retryAt,
              p.publishedAt,
              p.preview === undefined ? null : JSON.stringify(p.preview),
            ],
          );
        }
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

    /** Newest first; the cursor is the last row's (created_at, id). */
    async list(tenantId: string, f: ListFilter): Promise<{ items: PipelineRow[]; next: { createdAt: string; id: string } | null }> {
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
      const { rows } = await pool.query<DbRow>(
        `SELECT id, tenant_id, workflow_id, status, request_hash, state, created_at FROM pipelines
         WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
        args,
      );
      const items = rows.slice(0, f.limit).map(toRow);
      const last = items[items.length - 1];
      return {
        items,
        next: rows.length > f.limit && last ? { createdAt: last.createdAt.toISOString(), id: last.id } : null,
      };
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
