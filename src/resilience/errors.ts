// The provider errors the resilience policies throw or decide on, and their type guards. They are defined here, where
// their meaning is acted on (a 429 blocks the limiter, transient failures open the breaker, an open breaker or a
// refused slot fails the call); src/providers builds its other meanings on ProviderError and re-exports these.
// activities/failures.ts maps all of them to ApplicationFailures.

/** A call to a provider failed; the message starts with the provider's name. */
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

/** The provider said "slow down", or the limiter refused the call; retryAfterMs is when capacity returns. */
export class RateLimitedError extends ProviderError {
  constructor(provider: string, message: string, readonly retryAfterMs: number, status?: number) {
    super(provider, message, status);
  }
}

/** May succeed if tried again (5xx, timeouts, dropped connections). Counts towards opening the breaker. */
export class TransientError extends ProviderError {}

/** The circuit breaker for this provider is open: it failed repeatedly, so calls fail fast until retryAt (epoch ms). */
export class BreakerOpenError extends ProviderError {
  constructor(
    provider: string,
    readonly retryAt: number,
  ) {
    super(provider, `circuit breaker open for ${provider} until ${new Date(retryAt).toISOString()}`);
  }
}

export function isBreakerOpenError(err: unknown): err is BreakerOpenError {
  return err instanceof BreakerOpenError;
}

export function isRateLimitedError(err: unknown): err is RateLimitedError {
  return err instanceof RateLimitedError;
}

const NETWORK_CODES = new Set(['ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNABORTED']);

function code(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/**
 * Failures that say the provider is unwell and count towards opening its breaker: TransientError (5xx, 408, 529...),
 * timeouts and dropped connections. Not: permanent errors, rate limits, quota, auth, duplicates, or our own
 * cancellation (AbortError), since those prove the provider answered or that we stopped.
 */
export function isTransientFailure(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  if (!(err instanceof Error)) return false;
  if (err.name === 'TimeoutError') return true; // AbortSignal.timeout()
  const c = code(err) ?? code(err.cause);
  if (c && (NETWORK_CODES.has(c) || (c.startsWith('UND_ERR_') && c !== 'UND_ERR_ABORTED'))) return true;
  // undici's fetch wraps network failures as TypeError('fetch failed') with the socket error as cause.
  return err instanceof TypeError && err.message === 'fetch failed';
}
