// Provider errors by meaning. activities/failures.ts is the one place they become ApplicationFailures. The ones the
// resilience policies act on (ProviderError itself, RateLimitedError, TransientError, BreakerOpenError) are theirs.
import { ProviderError, RateLimitedError, TransientError } from '../resilience/errors';

export { BreakerOpenError, ProviderError, RateLimitedError, TransientError } from '../resilience/errors';

/** Out of quota or billing: retrying will not help soon. */
export class QuotaExhaustedError extends ProviderError {}
/** The access token was refused; a refresh may help. */
export class AuthExpiredError extends ProviderError {}
/** Credentials are dead (revoked, invalid_grant): a person must reconnect the account. */
export class ReauthRequiredError extends ProviderError {}
/** The platform says this exact post already exists. existingId is the post when it says which. */
export class DuplicateError extends ProviderError {
  constructor(provider: string, message: string, readonly existingId?: string, status?: number) {
    super(provider, message, status);
  }
}
/** Will fail the same way every time (bad request, not found, forbidden). */
export class PermanentError extends ProviderError {}

export function isProviderError(e: unknown): e is ProviderError {
  return e instanceof ProviderError;
}

/** Classifies a plain HTTP failure the way most providers mean it. Adapters refine this for their own bodies. */
export function classifyHttpStatus(provider: string, status: number, detail: string, retryAfterMs?: number): ProviderError {
  if (status === 429) return new RateLimitedError(provider, `rate limited (429) ${detail}`.trim(), retryAfterMs ?? 60_000, status);
  if (status === 401) return new AuthExpiredError(provider, `unauthorized (401) ${detail}`.trim(), status);
  if (status === 408 || status === 409 || status >= 500) return new TransientError(provider, `HTTP ${status} ${detail}`.trim(), status);
  return new PermanentError(provider, `HTTP ${status} ${detail}`.trim(), status);
}

/** The platform is still processing (an Instagram or Threads container): ask again after retryAfterMs. */
export class NotReadyError extends ProviderError {
  constructor(provider: string, message: string, readonly retryAfterMs: number) {
    super(provider, message);
  }
}
