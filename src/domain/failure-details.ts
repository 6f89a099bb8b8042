// What an activity's ApplicationFailure carries in details[0]: written by src/activities/failures.ts (the only writer),
// read by workflows through readFailureDetails. Pure: workflows import it.

/** The one shape of details[0] on every failure Herald's activities throw. */
export interface FailureDetails {
  /** The provider or platform the call went to. */
  provider: string | null;
  /** The provider's HTTP status, when there was a response. */
  status: number | null;
  /** The activity attempt that failed (Temporal's attempt counter, from 1). */
  attempt: number | null;
  /** When the provider or the breaker lets the call go again (ISO 8601), for waits the workflow keeps durably. */
  retryAt: string | null;
  /** A duplicate's existing post id, when the platform named it. */
  existingId: string | null;
}

const EMPTY: FailureDetails = { provider: null, status: null, attempt: null, retryAt: null, existingId: null };

/** Builds details[0]; fields left out are null, so every reader sees every key. */
export function failureDetails(fields: Partial<FailureDetails>): FailureDetails {
  return { ...EMPTY, ...fields };
}

/**
 * Reads details[0] of a failure, tolerating what older workers recorded (missing keys, extra entries): histories of
 * pipelines already running still replay through this.
 */
export function readFailureDetails(details: readonly unknown[] | undefined | null): FailureDetails {
  const first = Array.isArray(details) ? details[0] : undefined;
  if (!first || typeof first !== 'object') return { ...EMPTY };
  const d = first as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  // Older duplicates put existingId in a second entry.
  const second = Array.isArray(details) && details[1] && typeof details[1] === 'object' ? (details[1] as Record<string, unknown>) : {};
  return {
    provider: str(d.provider),
    status: num(d.status),
    attempt: num(d.attempt),
    retryAt: str(d.retryAt),
    existingId: str(d.existingId) ?? str(second.existingId),
  };
}
