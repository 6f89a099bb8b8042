import type { PipelineState } from '../domain/types';

/** The contract's pipeline state: what the API shows (no tenant id, no internal version). */
export function presentPipeline(state: PipelineState, workflowId: string, opts: { temporalUiUrl: string; namespace: string }) {
  const { tenantId: _tenant, version: _version, ...visible } = state;
  return {
    ...visible,
    links: {
      self: `/v1/pipelines/${state.id}`,
      events: `/v1/pipelines/${state.id}/events`,
      temporal: `${opts.temporalUiUrl}/namespaces/${encodeURIComponent(opts.namespace)}/workflows/${encodeURIComponent(workflowId)}`,
    },
  };
}
