import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { ApprovalBy, ApprovalEdits, PipelineError, PipelineState } from '../domain/types';

export const stateQuery = defineQuery<PipelineState>('state');
export const approveUpdate = defineUpdate<PipelineState, [{ edits?: ApprovalEdits; by?: ApprovalBy }]>('approve');
export const rejectUpdate = defineUpdate<PipelineState, [{ reason: string; by?: ApprovalBy }]>('reject');
/** From a publishing child: its publication waits for a quota or a breaker until retryAt, or goes again. */
export interface PublicationWaiting {
  index: number;
  status: 'waiting' | 'publishing';
  retryAt: string | null;
  attempts: number;
  /** Text from a child started by an older worker. */
  error: PipelineError | string | null;
}
export const publicationWaitingSignal = defineSignal<[PublicationWaiting]>('publicationWaiting');
export const setPublishAtUpdate = defineUpdate<PipelineState, [{ publishAt: string }]>('setPublishAt');

// Registered on the dev server by scripts/run.mjs and in docker-compose; operators filter on them in the Web UI.
export const HeraldTenant = defineSearchAttributeKey('HeraldTenant', SearchAttributeType.KEYWORD);
export const HeraldStatus = defineSearchAttributeKey('HeraldStatus', SearchAttributeType.KEYWORD);
export const HeraldPlatforms = defineSearchAttributeKey('HeraldPlatforms', SearchAttributeType.KEYWORD_LIST);

export interface ContentPipelineInput {
  state: PipelineState;
}
