import type { Pool } from 'pg';

export interface StoredMedia {
  id: string;
  tenantId: string;
  pipelineId: string | null;
  contentType: string;
  bytes: Buffer;
  width: number | null;
  height: number | null;
  source: string;
  alt: string;
  attribution: string | null;
}

export function createMediaRepository(pool: Pool) {
  return {
    /** Idempotent on id, so a retried activity does not store the image twice. */
    async put(m: StoredMedia): Promise<void> {
      await pool.query(
        `INSERT INTO media (id, tenant_id, pipeline_id, content_type, bytes, width, height, source, alt, attribution)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (id) DO NOTHING`,
        [m.id, m.tenantId, m.pipelineId, m.contentType, m.bytes, m.width, m.height, m.source, m.alt, m.attribution],
      );
    },
    async get(id: string): Promise<{ contentType: string; bytes: Buffer } | null> {
      const { rows } = await pool.query<{ content_type: string; bytes: Buffer }>(
        'SELECT content_type, bytes FROM media WHERE id = $1',
        [id],
      );
      return rows[0] ? { contentType: rows[0].content_type, bytes: rows[0].bytes } : null;
    },
  };
}
export type MediaRepository = ReturnType<typeof createMediaRepository>;
