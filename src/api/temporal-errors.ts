import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/error-types';
import { HttpError } from './errors';

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
  // The pipeline did not answer in time (an overloaded worker, no worker): nothing changed; the caller may retry.
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || err instanceof ServiceError) {
    return new HttpError('unavailable', 'the pipeline did not confirm in time; read its state before trying again', [], 5);
  }
  return null;
}
