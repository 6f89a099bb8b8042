import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function createTenantRepository(pool: Pool) {
  return {
    async ensure(tenantId: string, name = tenantId): Promise<void> {
      await pool.query('INSERT INTO tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [tenantId, name]);
    },

    /** Makes a new key for a tenant; the key is returned once and only its hash is kept. */
    async createKey(tenantId: string): Promise<{ id: string; key: string }> {
      await this.ensure(tenantId);
      const key = `hk_${randomBytes(24).toString('base64url')}`;
      const id = `key_${randomBytes(8).toString('hex')}`;
      await pool.query('INSERT INTO api_keys (id, tenant_id, key_hash, prefix) VALUES ($1, $2, $3, $4)', [
        id,
        tenantId,
        hashApiKey(key),
        key.slice(0, 7),
      ]);
      return { id, key };
    },

    async tenantForKey(key: string): Promise<string | null> {
      const { rows } = await pool.query<{ tenant_id: string }>(
        'SELECT tenant_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
        [hashApiKey(key)],
      );
      return rows[0]?.tenant_id ?? null;
    },
  };
}
export type TenantRepository = ReturnType<typeof createTenantRepository>;
