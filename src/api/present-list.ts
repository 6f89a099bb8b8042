import { readErrorInfo } from '../domain/hints';
import type { z } from 'zod';
import type { PipelineSummaryRow } from '../db/pipelines-repo';
import type { pipelineSummaryView } from './schemas/pipeline-view';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A list item (PipelineSummary) from a pipeline's stored list_item, shown the way presentPipeline shows the whole state:
 * errors stored by earlier versions in today's shape, and the same links. The id is the row's. The rest is the stored
 * state's, trusted as presentPipeline trusts it (the response schema checks it on the way out).
 */
export function presentListItem(row: PipelineSummaryRow, opts: { temporalUiUrl: string; namespace: string }): z.output<typeof pipelineSummaryView> {
  const { tenantId: _tenant, version: _version, ...visible } = row.item;
  const publications = Array.isArray(visible.publications)
    ? visible.publications.map((p: unknown) => (isObject(p) ? { ...p, error: readErrorInfo(p.error) } : p))
    : visible.publications;
  return {
    ...visible,
    id: row.id,
    error: readErrorInfo(visible.error),
    publications,
    links: {
      self: `/v1/pipelines/${row.id}`,
      events: `/v1/pipelines/${row.id}/events`,
      timeline: `/v1/pipelines/${row.id}/timeline`,
      temporal: `${opts.temporalUiUrl}/namespaces/${encodeURIComponent(opts.namespace)}/workflows/${encodeURIComponent(row.workflowId)}`,
    },
  } as z.output<typeof pipelineSummaryView>;
}
