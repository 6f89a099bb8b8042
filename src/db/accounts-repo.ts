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
    /** Decrypted credentials, for the activity that publishes; never for the API. */
    async credentials(tenantId: string, id: string): Promise<{ account: AccountView; credentials: Record<string, unknown> } | null> {
      const { rows } = await pool.query<Row & { credentials: string }>(
        `SELECT ${COLUMNS}, credentials FROM accounts WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
        [tenantId, id],
      );
      if (!rows[0]) return null;
      return { account: view(rows[0]), credentials: box.open<Record<string, unknown>>(rows[0].credentials) };
    },
  };
}
export type AccountRepository = ReturnType<typeof createAccountRepository>;
