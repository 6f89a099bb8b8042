import { Context } from '@temporalio/activity';
import type { SubscriptionView } from '../db/webhooks-repo';
import { TransientError } from '../providers/errors';
import { WebhookUrlError } from '../webhooks/address';
import { REQUEST_TIMEOUT_MS, retryDelayMs } from '../webhooks/policy';
import { sendWebhook } from '../webhooks/send';
import { webhookHeaders } from '../webhooks/signing';
import type { ActivityDeps } from './deps';
import { toApplicationFailure } from './failures';
import { withHeartbeat } from './heartbeat';

export interface DeliverWebhookArgs {
  deliveryId: string;
}
export interface DeliverWebhookResult {
  /** `gone`: the subscription was deleted meanwhile. */
  status: 'delivered' | 'failed' | 'gone';
  statusCode: number | null;
  reason: string | null;
}

type Deps = Pick<ActivityDeps, 'webhooks' | 'webhookAllowPrivate' | 'webhookResolve' | 'logger'>;

/** Disables a subscription, loudly: the tenant reads the reason in GET /v1/webhooks/{id}, the operator in the log. */
async function disable({ webhooks, logger }: Deps, subscription: SubscriptionView, tenantId: string, reason: string): Promise<void> {
  if (await webhooks.disableSubscription(subscription.id, reason)) {
    logger.warn({ subscriptionId: subscription.id, tenantId, reason }, 'webhook subscription disabled');
  }
}

/**
 * One attempt at one delivery: sign, POST to the checked address, write the outcome to the delivery log. A 2xx is
 * delivered; a 410 (the receiver says it is gone for good) or a target that now resolves to a private address ends the
 * delivery and disables the subscription; anything else is written with the next attempt's time and thrown as
 * Transient, so Temporal retries it on the workflow's schedule. A delivery that is no longer pending is never sent again.
 */
export function createDeliverWebhook(deps: Deps) {
  const { webhooks, logger } = deps;
  return (args: DeliverWebhookArgs): Promise<DeliverWebhookResult> => withHeartbeat(() => deliverWebhook(args));
  async function deliverWebhook({ deliveryId }: DeliverWebhookArgs): Promise<DeliverWebhookResult> {
    const activity = Context.current();
    const found = await webhooks.forSending(deliveryId);
    if (!found) return { status: 'gone', statusCode: null, reason: 'the subscription was deleted' };
    const { tenantId, delivery, event, subscription, secret } = found;
    if (delivery.status !== 'pending') return { status: delivery.status, statusCode: delivery.lastStatusCode, reason: delivery.lastError };
    if (subscription.status !== 'active') {
      const reason = `not sent: the subscription is disabled (${subscription.disabledReason ?? 'no reason recorded'})`;
      await webhooks.failDelivery(deliveryId, reason);
      return { status: 'failed', statusCode: null, reason };
    }
    const body = JSON.stringify({ type: event.type, timestamp: event.occurredAt, data: event.data });
    // The timestamp is this attempt's: receivers reject signatures older than a few minutes, and retries go on for a day.
    const headers = webhookHeaders(secret, event.id, body, new Date());
    let failure: { message: string; statusCode: number | null };
    try {
      const answer = await sendWebhook(subscription.url, headers, body, {
        allowPrivate: deps.webhookAllowPrivate,
        resolve: deps.webhookResolve,
        timeoutMs: REQUEST_TIMEOUT_MS,
        signal: activity.cancellationSignal,
      });
      if (answer.status >= 200 && answer.status < 300) {
        await webhooks.recordAttempt(deliveryId, { status: 'delivered', statusCode: answer.status, error: null, nextAttemptAt: null });
        logger.info({ deliveryId, subscriptionId: subscription.id, eventId: event.id, type: event.type, status: answer.status }, 'webhook delivered');
        return { status: 'delivered', statusCode: answer.status, reason: null };
      }
      if (answer.status === 410) {
        const reason = 'the receiver answered 410 Gone: it no longer accepts deliveries';
        // Disabled first: whoever sees the delivery failed sees its subscription disabled (and the log line written).
        await disable(deps, subscription, tenantId, reason);
        await webhooks.recordAttempt(deliveryId, { status: 'failed', statusCode: 410, error: reason, nextAttemptAt: null });
        return { status: 'failed', statusCode: 410, reason };
      }
      failure = { message: `the receiver answered ${answer.status}${answer.excerpt ? `: ${answer.excerpt.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`, statusCode: answer.status };
    } catch (err) {
      if (err instanceof WebhookUrlError && err.reason !== 'unresolvable') {
        const reason = `refused at delivery: ${err.message}`;
        await disable(deps, subscription, tenantId, reason);
        await webhooks.recordAttempt(deliveryId, { status: 'failed', statusCode: null, error: reason, nextAttemptAt: null });
        return { status: 'failed', statusCode: null, reason };
      }
      if (activity.cancellationSignal.aborted) throw err;
      failure = { message: (err as Error).message, statusCode: null };
    }
    const nextAttemptAt = new Date(Date.now() + retryDelayMs(activity.info.attempt));
    await webhooks.recordAttempt(deliveryId, { status: 'pending', statusCode: failure.statusCode, error: failure.message, nextAttemptAt });
    throw toApplicationFailure(new TransientError('webhook', failure.message, failure.statusCode ?? undefined));
  }
}

export interface GiveUpWebhookArgs {
  deliveryId: string;
  /** How long the delivery was retried, for the reason. */
  retryWindowMs: number;
}

/**
 * After the whole retry window failed: the delivery ends `failed` and its subscription is disabled with the reason, so
 * a receiver that is gone stops costing attempts and the tenant sees why deliveries stopped.
 */
export function createGiveUpWebhookDelivery(deps: Deps) {
  const { webhooks } = deps;
  return async function giveUpWebhookDelivery({ deliveryId, retryWindowMs }: GiveUpWebhookArgs): Promise<void> {
    const found = await webhooks.forSending(deliveryId);
    if (!found || found.delivery.status !== 'pending') return;
    const hours = retryWindowMs / 3_600_000;
    const span = hours >= 1 ? `${Math.round(hours * 10) / 10} h` : `${Math.round(retryWindowMs / 1000)} s`;
    const reason = `every attempt for ${span} failed (${found.delivery.attempts} attempts; last: ${found.delivery.lastError ?? 'no answer'})`;
    await disable(deps, found.subscription, found.tenantId, reason);
    await webhooks.failDelivery(deliveryId, reason);
  };
}
