// Provider errors by meaning. activities/failures.ts is the one place they become ApplicationFailures.

export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${provider}: ${message}`);
    this.name = new.target.name;
  }
}

/** The provider said "slow down"; retryAfterMs is when it said capacity returns. */
export class RateLimitedError extends ProviderError {
  constructor(provider: string, message: string, readonly retryAfterMs: number, status?: number) {
    super(provider, message, status);
  }
}
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
/** May succeed if tried again (5xx, timeouts, dropped connections). */
export class TransientError extends ProviderError {}

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

/** The circuit breaker for this provider is open: it failed repeatedly, so calls fail fast until retryAt (epoch ms). */
export class BreakerOpenError extends ProviderError {
  constructor(
    provider: string,
    readonly retryAt: number,
  ) {
    super(provider, `circuit breaker open for ${provider} until ${new Date(retryAt).toISOString()}`);
  }
}

/** The platform is still processing (an Instagram or Threads container): ask again after retryAfterMs. */
export class NotReadyError extends ProviderError {
  constructor(provider: string, message: string, readonly retryAfterMs: number) {
    super(provider, message);
  }
}
