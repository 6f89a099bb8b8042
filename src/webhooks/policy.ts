// The delivery schedule, shared by the delivery workflow (which sets Temporal's retry policy from it) and the activity
// (which shows the next attempt's time in the delivery log). No imports: workflow code reads it.

/** First retry 5 s after a failed attempt, then twice as long each time, at most an hour apart. */
export const RETRY_INITIAL_MS = 5_000;
export const RETRY_BACKOFF = 2;
export const RETRY_MAX_INTERVAL_MS = 3_600_000;
/** A delivery is retried for this long; a receiver that fails for all of it has its subscription disabled. */
export const RETRY_WINDOW_MS = 24 * 3_600_000;
/** Each attempt: the receiver has this long to answer. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** The wait after failed attempt number `attempt` (1-based), as Temporal computes it from the policy above. */
export function retryDelayMs(attempt: number): number {
  return Math.min(RETRY_INITIAL_MS * RETRY_BACKOFF ** Math.max(0, attempt - 1), RETRY_MAX_INTERVAL_MS);
}

/** The type of the event `POST /v1/webhooks/{id}/test` sends; no subscription needs to list it. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** One delivery's workflow id: a dispatcher that starts it twice starts it once. */
export function deliveryWorkflowId(deliveryId: string): string {
  return `webhook-delivery:${deliveryId}`;
}
