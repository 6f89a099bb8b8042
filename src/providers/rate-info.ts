// What a provider said about its own limits on a response (success or error), normalised. The resilience layer
// learns from it so Herald slows down before the provider answers 429.

export interface RateWindowInfo {
  /** What the window counts. */
  kind: 'requests' | 'tokens';
  limit?: number;
  remaining?: number;
  /** When the window's capacity returns, epoch ms. */
  resetAt?: number;
}

export interface RateInfo {
  windows: RateWindowInfo[];
}

/** Passed by the caller to every adapter call. */
export interface CallContext {
  /** Adapters call this with the limits parsed from every response they get, errors included. */
  report?(info: RateInfo): void;
  /** Aborts the HTTP request (activity cancellation or timeout). */
  signal?: AbortSignal;
}
