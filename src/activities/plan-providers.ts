import type { PipelineRequest } from '../domain/types';
import type { ActivityDeps } from './deps';

export interface PlanProvidersArgs {
  request: PipelineRequest;
}
export interface ProviderPlan {
  /** Text providers in order, `offline` last unless TEXT_PROVIDERS says otherwise. */
  text: string[];
  /** Image sources in order, `card` always last. */
  images: string[];
}

/** The worker's configured chains, narrowed by the request. Recorded in history, so a replay sees the same plan. */
export function createPlanProviders({ textChain, imageChain }: Pick<ActivityDeps, 'textChain' | 'imageChain'>) {
  return async function planProviders({ request }: PlanProvidersArgs): Promise<ProviderPlan> {
    let images = imageChain;
    if (request.image.sources?.length) {
      // The request's own order; names the worker has not configured stay in, so the state says why they were skipped.
      images = [...request.image.sources.filter((s) => s !== 'card'), 'card'];
    }
    return { text: textChain, images };
  };
}
