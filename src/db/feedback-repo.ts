import type { Pool } from 'pg';
import type { ContentFormat } from '../domain/types';

export interface FeedbackInput {
  id: string;
  tenantId: string;
  pipelineId: string;
  score: number;
  approved: boolean | null;
  comment: string | null;
  /** The text provider that wrote the piece, when known. */
  provider: string | null;
  format: ContentFormat;
}

/** One text provider's feedback, as PostgreSQL sums it (counts and the average as text, the way pg returns them). */
export interface ProviderFeedbackTotals {
  provider: string | null;
  count: string;
  avg: string | null;
  approved: string;
  decided: string;
}

export function createFeedbackRepository(pool: Pool) {
  return {
    async record(f: FeedbackInput): Promise<void> {
      await pool.query(
        `INSERT INTO feedback (id, tenant_id, pipeline_id, score, approved, comment, provider, format) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
        [f.id, f.tenantId, f.pipelineId, f.score, f.approved, f.comment, f.provider, f.format],
      );
    },

    /** Count, average score and approvals per text provider, for one format or all. */
    async totalsByProvider(tenantId: string, format: ContentFormat | null): Promise<ProviderFeedbackTotals[]> {
      const { rows } = await pool.query<ProviderFeedbackTotals>(
        `SELECT provider, count(*) AS count, avg(score) AS avg, count(*) FILTER (WHERE approved) AS approved, count(approved) AS decided
         FROM feedback WHERE tenant_id = $1 AND ($2::text IS NULL OR format = $2) GROUP BY provider ORDER BY provider`,
        [tenantId, format],
      );
      return rows;
    },
  };
}
export type FeedbackRepository = ReturnType<typeof createFeedbackRepository>;
