import type { Pool, PoolClient } from 'pg';
import { isTerminal, PIPELINE_STATUSES, type Platform } from '../domain/types';
import type { Queryable } from './timeline-repo';

/** One account a cap is counted for. */
export interface CapAccount {
  platform: Platform;
  accountId: string;
}

// Written out rather than passed as a parameter, as the partial index of live pipelines by publish time (migration 009)
// lists them.
const LIVE_STATUSES = PIPELINE_STATUSES.filter((s) => !isTerminal(s))
  .map((s) => `'${s}'`)
  .join(', ');

/**
 * When this account's publications happen (epoch ms, ascending), from `sinceMs` on: the ones published (their real
 * time), and the targets of live pipelines with a publish time (`publish_at`, which a trigger keeps equal to the
 * state's publishAt; not a dry run) that have not published yet. A pipeline without publishAt is left out: it
 * publishes as soon as it is ready, so no schedule can be planned around it.
 */
async function publicationTimes(db: Queryable, tenantId: string, account: CapAccount, sinceMs: number): Promise<number[]> {
  const { rows } = await db.query<{ t: string }>(
    `WITH planned AS (
       SELECT pl.id, t.n - 1 AS idx, pl.publish_at AS at
         FROM pipelines pl CROSS JOIN LATERAL jsonb_array_elements(pl.request->'targets') WITH ORDINALITY AS t(target, n)
        WHERE pl.state->>'publishAt' IS NOT NULL AND pl.request->>'dryRun' = 'false' AND pl.request->'targets' @> $5::jsonb
          AND pl.publish_at > $4 AND pl.tenant_id = $1 AND pl.status IN (${LIVE_STATUSES})
          AND t.target->>'platform' = $2 AND t.target->>'accountId' = $3
     )
     SELECT (extract(epoch FROM at) * 1000)::bigint AS t FROM planned
      WHERE NOT EXISTS (
        SELECT 1 FROM publications q WHERE q.pipeline_id = planned.id AND q.idx = planned.idx AND q.status = 'published')
     UNION ALL
     SELECT (extract(epoch FROM published_at) * 1000)::bigint FROM publications
      WHERE tenant_id = $1 AND platform = $2 AND account_id = $3 AND status = 'published' AND published_at > $4
     ORDER BY 1`,
    [tenantId, account.platform, account.accountId, new Date(sinceMs), JSON.stringify([{ platform: account.platform, accountId: account.accountId }])],
  );
  return rows.map((r) => Number(r.t));
}

export interface LockedCaps {
  times(account: CapAccount, sinceMs: number): Promise<number[]>;
  /** The transaction holding the locks: a pipeline stored through it counts for everyone who waits on them. */
  db: Queryable;
}

export function createCapsRepository(pool: Pool) {
  return {
    times: (tenantId: string, account: CapAccount, sinceMs: number) => publicationTimes(pool, tenantId, account, sinceMs),

    /**
     * Runs `work` in a transaction holding an advisory lock per account (taken in one order, so two callers never wait
     * on each other crosswise). Two requests racing for an account's last slot are served one after the other: the
     * second counts the first's pipeline, stored through `db` before the locks are released at commit.
     */
    async withAccountsLocked<T>(tenantId: string, accounts: CapAccount[], work: (tx: LockedCaps) => Promise<T>): Promise<T> {
      const keys = [...new Set(accounts.map((a) => `herald-cap:${tenantId}:${a.platform}:${a.accountId}`))].sort();
      const client: PoolClient = await pool.connect();
      try {
        await client.query('BEGIN');
        for (const key of keys) await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
        const result = await work({ times: (account, sinceMs) => publicationTimes(client, tenantId, account, sinceMs), db: client });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
  };
}
export type CapsRepository = ReturnType<typeof createCapsRepository>;
