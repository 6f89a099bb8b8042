import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcServiceError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/error-types';
import { HttpError } from './errors';

/**
 * gRPC statuses that mean the Temporal server is away or overloaded, not that the request was wrong: DEADLINE_EXCEEDED
 * (4), RESOURCE_EXHAUSTED (8), UNAVAILABLE (14). (@grpc/grpc-js is the SDK's dependency, not ours: numbers, not its enum.)
 */
const UNAVAILABLE_STATUSES = new Set<number>([4, 8, 14]);

/**
 * True when a Temporal client call failed because the server could not be reached in time: a gRPC UNAVAILABLE (refused,
 * connection lost), DEADLINE_EXCEEDED (the API's call deadline) or RESOURCE_EXHAUSTED, anywhere in the cause chain
 * (the client wraps them in ServiceError and friends).
 */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e) && UNAVAILABLE_STATUSES.has(e.code)) return true;
  }
  return false;
}

/** Turns a failed Update or a missing workflow into the API's answer, by failure type only. */
export function httpErrorFromTemporal(err: unknown): HttpError | null {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const f = err.cause;
    switch (f.type) {
      case ErrorType.NotAwaitingApproval:
      case ErrorType.TooLate:
        return new HttpError('conflict', f.message);
      case ErrorType.EditRejected:
        return new HttpError('unprocessable', f.message, f.details ? [...f.details] : []);
      case ErrorType.InvalidInput:
        return new HttpError('validation_failed', f.message);
    }
  }
  if (err instanceof WorkflowNotFoundError) return new HttpError('conflict', 'the pipeline has already finished');
  if (err instanceof Error && /already completed|workflow execution already completed/i.test(err.message)) {
    // The server reports an Update to a closed workflow only in words (gRPC NOT_FOUND); it means the same as above.
    return new HttpError('conflict', 'the pipeline has already finished');
  }
  if (isTemporalUnavailable(err) && !(err instanceof WorkflowUpdateRPCTimeoutOrCancelledError)) {
    return new HttpError('unavailable', 'the workflow service (Temporal) is not reachable right now; read the pipeline before trying again', [], 5);
  }
  // The pipeline did not answer in time (an overloaded worker, no worker): nothing changed; the caller may retry.
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || err instanceof ServiceError) {
    return new HttpError('unavailable', 'the pipeline did not confirm in time; read its state before trying again', [], 5);
  }
  return null;
}
