import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/error-types';
import {
  AuthExpiredError,
  BreakerOpenError,
  NotReadyError,
  DuplicateError,
  PermanentError,
  ProviderError,
  QuotaExhaustedError,
  RateLimitedError,
  ReauthRequiredError,
  TransientError,
} from '../providers/errors';

/** The one place provider errors become ApplicationFailures that workflows can branch on by type. */
export function toApplicationFailure(err: unknown, context: { attempt?: number } = {}): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (!(err instanceof ProviderError)) return err; // Unknown errors stay retryable, with Temporal's backoff.
  const details = [{ provider: err.provider, status: err.status ?? null, attempt: context.attempt ?? null }];
  if (err instanceof RateLimitedError) {
    return ApplicationFailure.create({
      type: ErrorType.RateLimited,
      message: err.message,
      details,
      nextRetryDelay: Math.max(1, err.retryAfterMs),
    });
  }
  if (err instanceof QuotaExhaustedError) return ApplicationFailure.create({ type: ErrorType.QuotaExhausted, message: err.message, details, nonRetryable: true });
  if (err instanceof ReauthRequiredError) return ApplicationFailure.create({ type: ErrorType.ReauthRequired, message: err.message, details, nonRetryable: true });
  if (err instanceof AuthExpiredError) return ApplicationFailure.create({ type: ErrorType.AuthExpired, message: err.message, details });
  if (err instanceof DuplicateError) {
    return ApplicationFailure.create({ type: ErrorType.Duplicate, message: err.message, details: [...details, { existingId: err.existingId ?? null }], nonRetryable: true });
  }
  if (err instanceof NotReadyError) {
    // A container still processing: come back later through a durable timer, never a sleep in the worker.
    return ApplicationFailure.create({ type: ErrorType.NotReady, message: err.message, details, nextRetryDelay: Math.max(1, err.retryAfterMs) });
  }
  if (err instanceof BreakerOpenError) {
    // Retry when the breaker lets its half-open probe through.
    return ApplicationFailure.create({ type: ErrorType.BreakerOpen, message: err.message, details, nextRetryDelay: Math.max(1, err.retryAt - Date.now()) });
  }
  if (err instanceof PermanentError) return ApplicationFailure.create({ type: ErrorType.Permanent, message: err.message, details, nonRetryable: true });
  if (err instanceof TransientError) return ApplicationFailure.create({ type: ErrorType.Transient, message: err.message, details });
  return ApplicationFailure.create({ type: ErrorType.Transient, message: err.message, details });
}

/** Runs an activity body and maps whatever it throws. */
export async function mapFailures<T>(fn: () => Promise<T>, context: { attempt?: number } = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toApplicationFailure(err, context);
  }
}
