import type { PipelineState } from '../domain/types';
import type { ActivityDeps } from './deps';

export interface SaveStateArgs {
  state: PipelineState;
}

export function createSaveState({ pipelines }: Pick<ActivityDeps, 'pipelines'>) {
  /** Writes the workflow's state to PostgreSQL so lists and history outlive workflow retention. */
  return async function saveState({ state }: SaveStateArgs): Promise<void> {
    await pipelines.saveState(state);
  };
}
