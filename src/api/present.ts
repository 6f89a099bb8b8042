import { readErrorInfo } from '../domain/hints';
import type { PipelineState } from '../domain/types';

/** The contract's pipeline state: what the API shows (no tenant id, no internal version). */
export function presentPipeline(state: PipelineState, workflowId: string, opts: { temporalUiUrl: string; namespace: string }) {
  const { tenantId: _tenant, version: _version, ...visible } = state;
  return {
    ...visible,
    // States stored before errors carried hints hold text or a bare {code, message}: shown in today's shape.
    error: readErrorInfo(state.error),
    publications: state.publications.map((p) => ({ ...p, error: readErrorInfo(p.error) })),
    links: {
      self: `/v1/pipelines/${state.id}`,
      events: `/v1/pipelines/${state.id}/events`,
      timeline: `/v1/pipelines/${state.id}/timeline`,
      temporal: `${opts.temporalUiUrl}/namespaces/${encodeURIComponent(opts.namespace)}/workflows/${encodeURIComponent(workflowId)}`,
    },
  };
}
