import type { Pool } from 'pg';

export interface StatusCount {
  tenantId: string;
  /** Accounts and publications: the platform; null for webhook receivers. */
  platform: string | null;
  status: string;
  count: number;
}

/** Counts an operator watches (accounts needing re-authorisation, waiting publications, disabled webhook receivers), for the gauges. */
export function createOperationsCountsRepository(pool: Pool) {
  const read = async (sql: string): Promise<StatusCount[]> => {
    const { rows } = await pool.query<{ tenant_id: string; platform: string | null; status: string; n: number }>(sql);
    return rows.map((r) => ({ tenantId: r.tenant_id, platform: r.platform, status: r.status, count: r.n }));
  };
  return {
    /** Connected (not deleted) accounts by tenant, platform and status. */
    accounts: () =>
      read('SELECT tenant_id, platform, status, count(*)::int AS n FROM accounts WHERE deleted_at IS NULL GROUP BY tenant_id, platform, status'),
    /**
     * Publications waiting for a quota or a breaker (status `waiting`), by tenant and platform. The predicate repeats
     * the partial index publications_unposted_by_retry_at (migration 009) so a scrape reads only unposted rows.
     */
    waitingPublications: () =>
      read(
        `SELECT tenant_id, platform, status, count(*)::int AS n FROM publications
         WHERE retry_at IS NOT NULL AND status IN ('pending', 'waiting', 'publishing') AND status = 'waiting'
         GROUP BY tenant_id, platform, status`,
      ),
    /** Webhook receivers (subscriptions) by tenant and status. */
    webhookReceivers: () => read('SELECT tenant_id, NULL AS platform, status, count(*)::int AS n FROM webhook_subscriptions GROUP BY tenant_id, status'),
  };
}

export type OperationsCountsRepository = ReturnType<typeof createOperationsCountsRepository>;
