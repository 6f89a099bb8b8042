import type { PipelineState } from '../domain/types';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

export interface SaveStateArgs {
  state: PipelineState;
}

export function createSaveState({ pipelines }: Pick<ActivityDeps, 'pipelines'>) {
  /** Writes the workflow's state to PostgreSQL so lists and history outlive workflow retention. */
  return async function saveState({ state }: SaveStateArgs): Promise<void> {
    // Heartbeats while PostgreSQL is slow or away: a killed worker's write is retried within seconds.
    await withHeartbeat(() => pipelines.saveState(state));
  };
}
