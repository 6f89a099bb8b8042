import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeliverWebhookResult } from '../activities/webhooks';
import { REQUEST_TIMEOUT_MS, RETRY_BACKOFF, RETRY_INITIAL_MS, RETRY_MAX_INTERVAL_MS, RETRY_WINDOW_MS } from '../webhooks/policy';

export interface WebhookDeliveryInput {
  deliveryId: string;
  /** How long attempts go on; default 24 h. */
  retryWindowMs?: number;
}

const { giveUpWebhookDelivery } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { maximumInterval: '1 minute' } });

/**
 * One delivery of one event to one subscription, durable: attempts follow Temporal's retry policy (5 s, doubling, at
 * most an hour apart) for the whole retry window, across worker restarts. Each attempt heartbeats, so one held by a
 * killed worker is retried within seconds. When the window ends without a 2xx, the delivery fails and the
 * subscription is disabled with the reason.
 */
export async function webhookDelivery({ deliveryId, retryWindowMs = RETRY_WINDOW_MS }: WebhookDeliveryInput): Promise<DeliverWebhookResult> {
  const { deliverWebhook } = proxyActivities<Activities>({
    startToCloseTimeout: REQUEST_TIMEOUT_MS + 20_000,
    heartbeatTimeout: '8 seconds',
    scheduleToCloseTimeout: retryWindowMs,
    retry: { initialInterval: RETRY_INITIAL_MS, backoffCoefficient: RETRY_BACKOFF, maximumInterval: RETRY_MAX_INTERVAL_MS },
  });
  try {
    return await deliverWebhook({ deliveryId });
  } catch {
    // Only the retry window running out ends here: every outcome that is final (delivered, 410, refused) is a result.
    await giveUpWebhookDelivery({ deliveryId, retryWindowMs });
    return { status: 'failed', statusCode: null, reason: 'retry window over' };
  }
}
