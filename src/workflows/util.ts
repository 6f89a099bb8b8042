import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, TemporalFailure } from '@temporalio/workflow';
import { type FailureDetails, readFailureDetails } from '../domain/failure-details';
import { parseDuration } from '../domain/duration';
import { errorInfo, type HintContext } from '../domain/hints';
import type { PipelineError } from '../domain/types';

/** "24h" -> ms. The API validated the text already; a bad one here is a bug, so it throws. */
export function parseWorkflowDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw ApplicationFailure.nonRetryable(`not a duration: ${text}`, 'InvalidInput');
  return ms;
}

/** The innermost ApplicationFailure's type and message: what a person needs to act on. */
export function describeFailure(err: unknown): { code: string; message: string } {
  let cur: unknown = err;
  while (cur instanceof ActivityFailure || cur instanceof ChildWorkflowFailure) cur = cur.cause;
  if (cur instanceof ApplicationFailure) return { code: cur.type ?? 'error', message: cur.message };
  if (cur instanceof TemporalFailure) return { code: cur.name, message: cur.message };
  return { code: 'error', message: err instanceof Error ? err.message : String(err) };
}

/** What the innermost ApplicationFailure carries in details[0] (see domain/failure-details.ts); all null for others. */
export function failureDetailsOf(err: unknown): FailureDetails {
  let cur: unknown = err;
  while (cur instanceof ActivityFailure || cur instanceof ChildWorkflowFailure) cur = cur.cause;
  return readFailureDetails(cur instanceof ApplicationFailure ? cur.details : null);
}

/** The failure as an error with its hint: from its type, its details[0] and where it happened (platform, account). */
export function failureInfo(err: unknown, ctx: HintContext = {}): PipelineError {
  const { code, message } = describeFailure(err);
  const { provider, status, retryAt, existingId } = failureDetailsOf(err);
  // Workflow time: replays write the same hint.
  return errorInfo(code, message, { now: new Date(Date.now()).toISOString(), ...ctx, provider, status, retryAt, existingId });
}
