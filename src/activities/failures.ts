// The one place provider errors (and the activities' own refusals) become ApplicationFailures. Workflows branch on the
// failure's type (src/domain/error-types.ts) and read details[0] through readFailureDetails; every details[0] here is
// built by failureDetails, so every reader sees every key.
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../domain/error-types';
import { failureDetails } from '../domain/failure-details';
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

/** Maps a provider error; ApplicationFailures pass unchanged, unknown errors stay retryable with Temporal's backoff. */
export function toApplicationFailure(err: unknown, context: { attempt?: number } = {}): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (!(err instanceof ProviderError)) return err;
  const fields = { provider: err.provider, status: err.status ?? null, attempt: context.attempt ?? null };
  const details = [failureDetails(fields)];
  const { message } = err;
  if (err instanceof RateLimitedError) {
    return ApplicationFailure.create({ type: ErrorType.RateLimited, message, details, nextRetryDelay: Math.max(1, err.retryAfterMs) });
  }
  if (err instanceof QuotaExhaustedError) return ApplicationFailure.create({ type: ErrorType.QuotaExhausted, message, details, nonRetryable: true });
  if (err instanceof ReauthRequiredError) return ApplicationFailure.create({ type: ErrorType.ReauthRequired, message, details, nonRetryable: true });
  if (err instanceof AuthExpiredError) return ApplicationFailure.create({ type: ErrorType.AuthExpired, message, details });
  if (err instanceof DuplicateError) {
    const duplicate = [failureDetails({ ...fields, existingId: err.existingId ?? null })];
    return ApplicationFailure.create({ type: ErrorType.Duplicate, message, details: duplicate, nonRetryable: true });
  }
  if (err instanceof NotReadyError) {
    // A container still processing: come back later through a durable timer, never a sleep in the worker.
    return ApplicationFailure.create({ type: ErrorType.NotReady, message, details, nextRetryDelay: Math.max(1, err.retryAfterMs) });
  }
  if (err instanceof BreakerOpenError) {
    // Retry when the breaker lets its half-open probe through.
    return ApplicationFailure.create({ type: ErrorType.BreakerOpen, message, details, nextRetryDelay: Math.max(1, err.retryAt - Date.now()) });
  }
  if (err instanceof PermanentError) return ApplicationFailure.create({ type: ErrorType.Permanent, message, details, nonRetryable: true });
  if (err instanceof TransientError) return ApplicationFailure.create({ type: ErrorType.Transient, message, details });
  return ApplicationFailure.create({ type: ErrorType.Transient, message, details });
}

/** Runs an activity body and maps whatever it throws. */
export async function mapFailures<T>(fn: () => Promise<T>, context: { attempt?: number } = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toApplicationFailure(err, context);
  }
}

export interface LimitContext {
  /** The provider or platform that was asked. */
  provider: string;
  attempt: number;
  /** Replaces the error's message (e.g. to say that the next provider writes). */
  message?: string;
  /** Carry retryAt in the details: the workflow waits for it durably (a publication's `waiting`). */
  withRetryAt?: boolean;
}

/**
 * A rate limit or an open breaker that the workflow answers itself instead of Temporal retrying the activity in place:
 * a publication waits until retryAt (status `waiting`) and calls again; a text or image chain moves on to its next
 * provider. Non-retryable for that reason; the type stays RateLimited or BreakerOpen.
 */
export function limitFailure(err: RateLimitedError | BreakerOpenError, ctx: LimitContext): ApplicationFailure {
  const breaker = err instanceof BreakerOpenError;
  const retryAt = ctx.withRetryAt ? new Date(breaker ? err.retryAt : Date.now() + err.retryAfterMs).toISOString() : null;
  return ApplicationFailure.create({
    type: breaker ? ErrorType.BreakerOpen : ErrorType.RateLimited,
    message: ctx.message ?? err.message,
    nonRetryable: true,
    details: [failureDetails({ provider: ctx.provider, status: err.status ?? null, attempt: ctx.attempt, retryAt })],
  });
}

/** A rate limit or an open breaker: the errors limitFailure takes. */
export function isLimit(err: unknown): err is RateLimitedError | BreakerOpenError {
  return err instanceof RateLimitedError || err instanceof BreakerOpenError;
}

/** The publication's account is not there (or not this platform's, or not this tenant's): no retry helps. */
export function accountMissingFailure(message: string, provider: string | null = null): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.AccountMissing, message, nonRetryable: true, details: [failureDetails({ provider })] });
}

/** The account must be reconnected by a person before anything is posted with it. */
export function reauthRequiredFailure(message: string, provider: string | null = null): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.ReauthRequired, message, nonRetryable: true, details: [failureDetails({ provider })] });
}

/** A provider or source this worker has no configuration for: the same call fails the same way on every attempt. */
export function notConfiguredFailure(provider: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.Permanent, message, nonRetryable: true, details: [failureDetails({ provider })] });
}

/**
 * Another attempt of the same publication holds its lease (it may still be posting): retryable, and retried a little
 * after that lease runs out, when the holder has either answered and freed it or stopped renewing it.
 */
export function publishInProgressFailure(message: string, attempt: number, retryAfterMs: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorType.PublishInProgress,
    message: `${message}; trying again in ${(Math.ceil(retryAfterMs / 100) / 10).toFixed(1)} s`,
    nextRetryDelay: Math.max(250, retryAfterMs + 100),
    details: [failureDetails({ attempt })],
  });
}
