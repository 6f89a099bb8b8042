// A dependency that is away (PostgreSQL, Temporal) is the API's 503 `unavailable` with Retry-After, never a 500: the
// request was fine and the same request later will work. One place decides what counts as "away".
import { isDatabaseUnavailable } from '../db/availability';
import { HttpError } from './errors';
import { isTemporalUnavailable } from './temporal-errors';

/** What the API tells a client to wait before trying again while a dependency is away, seconds. */
export const RETRY_AFTER_SECONDS = 5;
export { isDatabaseUnavailable };

/** The API's answer when err means a dependency is away; null for every other error. */
export function unavailableError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return null;
  if (isDatabaseUnavailable(err)) {
    return new HttpError('unavailable', 'the database is not reachable right now; try again shortly', [], RETRY_AFTER_SECONDS);
  }
  if (isTemporalUnavailable(err)) {
    return new HttpError('unavailable', 'the workflow service (Temporal) is not reachable right now; try again shortly', [], RETRY_AFTER_SECONDS);
  }
  return null;
}
