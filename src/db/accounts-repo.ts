import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { Platform } from '../domain/types';
import type { SecretBox } from './secret-box';

export type AccountStatus = 'active' | 'reauth_required' | 'disabled';

/** What the API may show of an account: never the credentials. */
export interface AccountView {
  id: string;
  platform: Platform;
  handle: string;
  status: AccountStatus;
  settings: Record<string, unknown>;
  expiresAt: string | null;
  lastRefreshedAt: string | null;
  lastError: string | null;
  createdAt: string;
}

interface Row {
  id: string;
  platform: Platform;
  handle: string;
  status: AccountStatus;
  settings: Record<string, unknown>;
  expires_at: Date | null;
  last_refreshed_at: Date | null;
  last_error: string | null;
  created_at: Date;
}

const COLUMNS = 'id, platform, handle, status, settings, expires_at, last_refreshed_at, last_error, created_at';

function view(r: Row): AccountView {
  return {
    id: r.id,
    platform: r.platform,
    handle: r.handle,
    status: r.status,
    settings: r.settings,
    expiresAt: r.expires_at?.toISOString() ?? null,
    lastRefreshedAt: r.last_refreshed_at?.toISOString() ?? null,
    lastError: r.last_error,
    createdAt: r.created_at.toISOString(),
  };
}

export function createAccountRepository(pool: Pool, box: SecretBox) {
  return {
    async create(input: {
      tenantId: string;
      platform: Platform;
      handle: string;
      credentials: Record<string, unknown>;
      settings?: Record<string, unknown>;
      expiresAt?: string | null;
    }): Promise<AccountView> {
      const id = `acc_${randomBytes(12).toString('base64url')}`;
      const { rows } = await pool.query<Row>(
        `INSERT INTO accounts (id, tenant_id, platform, handle, credentials, settings, expires_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING ${COLUMNS}`,
        [id, input.tenantId, input.platform, input.handle, box.seal(input.credentials), input.settings ?? {}, input.expiresAt ?? null],
      );
      return view(rows[0]);
    },
    async list(tenantId: string): Promise<AccountView[]> {
      const { rows } = await pool.query<Row>(
        `SELECT ${COLUMNS} FROM accounts WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC`,
        [tenantId],
      );
      return rows.map(view);
    },
    async get(tenantId: string, id: string): Promise<AccountView | null> {
      const { rows } = await pool.query<Row>(
        `SELECT ${COLUMNS} FROM accounts WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
        [tenantId, id],
      );
      return rows[0] ? view(rows[0]) : null;
    },
    async remove(tenantId: string, id: string): Promise<boolean> {
      const res = await pool.query(
        `UPDATE accounts SET deleted_at = now(), status = 'disabled', updated_at = now()
         WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
        [tenantId, id],
      );
      return res.rowCount === 1;
    },
    /**
     * Single-flight refresh across every process: the row is locked while `fn` runs, so two refreshes of one account
     * never overlap. `fn` sees the current credentials and version; when the version is no longer the one the caller
     * saw (`ifVersion`), somebody else already refreshed and `fn` is not called. The new credentials are stored before
     * the lock is released, so a rotating refresh token is never lost or used twice.
     */
    async refreshLocked(
      tenantId: string,
      id: string,
      ifVersion: number | null,
      fn: (current: { credentials: Record<string, unknown>; version: number; account: AccountView }) => Promise<{ credentials: Record<string, unknown>; expiresAt: string | null }>,
    ): Promise<{ refreshed: boolean; version: number; account: AccountView }> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<Row & { credentials: string; credentials_version: number }>(
          `SELECT ${COLUMNS}, credentials, credentials_version FROM accounts WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE`,
          [tenantId, id],
        );
        const row = rows[0];
        if (!row) throw new Error(`account ${id} not found`);
        if (ifVersion !== null && row.credentials_version !== ifVersion) {
          await client.query('COMMIT');
          return { refreshed: false, version: row.credentials_version, account: view(row) };
        }
        const next = await fn({ credentials: box.open(row.credentials), version: row.credentials_version, account: view(row) });
        const updated = await client.query<Row & { credentials_version: number }>(
          `UPDATE accounts SET credentials = $3, expires_at = $4, credentials_version = credentials_version + 1, last_refreshed_at = now(),
             last_error = NULL, refresh_failures = 0, status = 'active', updated_at = now()
           WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}, credentials_version`,
          [tenantId, id, box.seal(next.credentials), next.expiresAt],
        );
        await client.query('COMMIT');
        return { refreshed: true, version: updated.rows[0].credentials_version, account: view(updated.rows[0]) };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    /** A person must reconnect the account: publishing with it stops with this reason. */
    async markReauthRequired(tenantId: string, id: string, reason: string): Promise<void> {
      await pool.query(`UPDATE accounts SET status = 'reauth_required', last_error = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`, [tenantId, id, reason]);
    },
    async recordRefreshFailure(tenantId: string, id: string, reason: string): Promise<void> {
      await pool.query(`UPDATE accounts SET last_error = $3, refresh_failures = refresh_failures + 1, updated_at = now() WHERE tenant_id = $1 AND id = $2`, [tenantId, id, reason]);
    },
    /** Active accounts whose tokens expire before `before`, across tenants (for the refresh schedule). */
    async expiringBefore(before: Date, limit = 500): Promise<{ tenantId: string; id: string; platform: Platform; expiresAt: string }[]> {
      const { rows } = await pool.query<{ tenant_id: string; id: string; platform: Platform; expires_at: Date }>(
        `SELECT tenant_id, id, platform, expires_at FROM accounts
         WHERE deleted_at IS NULL AND status = 'active' AND expires_at IS NOT NULL AND expires_at < $1
         ORDER BY expires_at LIMIT $2`,
        [before, limit],
      );
      return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id, platform: r.platform, expiresAt: r.expires_at.toISOString() }));
    },

    /** Decrypted credentials, for the activity that publishes; never for the API. */
    async credentials(tenantId: string, id: string): Promise<{ account: AccountView; credentials: Record<string, unknown>; version: number } | null> {
      const { rows } = await pool.query<Row & { credentials: string; credentials_version: number }>(
        `SELECT ${COLUMNS}, credentials, credentials_version FROM accounts WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
        [tenantId, id],
      );
      if (!rows[0]) return null;
      return { account: view(rows[0]), credentials: box.open<Record<string, unknown>>(rows[0].credentials), version: rows[0].credentials_version };
    },
  };
}
export type AccountRepository = ReturnType<typeof createAccountRepository>;
