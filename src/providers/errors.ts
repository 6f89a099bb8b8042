// Provider errors by meaning. activities/failures.ts is the one place they become ApplicationFailures. The ones the
// resilience policies act on (ProviderError itself, RateLimitedError, TransientError, BreakerOpenError) are theirs.
import { ProviderError } from '../resilience/errors';

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

/** The platform is still processing (an Instagram or Threads container): ask again after retryAfterMs. */
export class NotReadyError extends ProviderError {
  constructor(provider: string, message: string, readonly retryAfterMs: number) {
    super(provider, message);
  }
}
