// Type guards over provider errors that the resilience policies decide on.
import { BreakerOpenError, RateLimitedError, TransientError } from '../providers/errors';

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
