// When a pipeline may be set to publish: checked by the request schema (400), by PUT /publish-at and by POST /v1/validate
// (a problem in its answer), from this one rule.

const MAX_SCHEDULE_AHEAD_MS = 366 * 86_400_000;
/** A little clock skew between a client and Herald is forgiven. */
const PAST_GRACE_MS = 5_000;

export type PublishAtProblemCode = 'publish_at_past' | 'publish_at_too_far';

/** Why publishAt cannot be used (it must lie ahead, and within a year), or null. */
export function publishAtProblem(value: string, now = Date.now()): { code: PublishAtProblemCode; message: string } | null {
  const t = Date.parse(value);
  if (t < now - PAST_GRACE_MS) return { code: 'publish_at_past', message: 'publishAt is in the past' };
  if (t > now + MAX_SCHEDULE_AHEAD_MS) return { code: 'publish_at_too_far', message: 'publishAt is more than a year ahead' };
  return null;
}
