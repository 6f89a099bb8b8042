import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { DeliveryEvent, DeliveryView } from '../../db/webhooks-repo';
import { resolveWebhookTarget, systemResolve, WebhookUrlError, type Resolve } from '../../webhooks/address';
import { startDeliveryWorkflow } from '../../webhooks/dispatcher';
import { TEST_EVENT_TYPE } from '../../webhooks/policy';
import { newSigningSecret } from '../../webhooks/signing';
import type { ApiDeps } from '../deps';
import { HttpError, notFound } from '../errors';
import { noContent, typedResponses } from '../schemas/common';
import {
  deliveryListQuery,
  deliveryParams,
  webhookCreatedView,
  webhookCreateSchema,
  webhookDeliveryListView,
  webhookDeliveryView,
  webhookIdParams,
  webhookListView,
  webhookView,
} from '../schemas/webhooks';

const tags = ['webhooks'];

/** A slow resolver must not hold the request: after 3 s the host counts as not resolving yet (checked at delivery). */
const resolveWithin3s: Resolve = (host) => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('no DNS answer within 3 s'), { code: 'ETIMEOUT' })), 3_000);
  });
  return Promise.race([systemResolve(host), late]).finally(() => clearTimeout(timer));
};

/**
 * The URL's refusals at creation. A host that resolves to a private address is refused now (and again at every
 * delivery); one that does not resolve yet is accepted, since its DNS may be set up later, and checked at delivery.
 */
async function checkUrl(url: string, allowPrivate: boolean): Promise<void> {
  try {
    await resolveWebhookTarget(url, { allowPrivate, resolve: resolveWithin3s });
  } catch (err) {
    if (!(err instanceof WebhookUrlError)) throw err;
    if (err.reason === 'unresolvable') return;
    if (err.reason === 'private_address') throw new HttpError('unprocessable', `url: ${err.message}`, [{ path: 'url', reason: err.reason, message: err.message }]);
    throw new HttpError('validation_failed', `url: ${err.message}`, [{ path: 'url', reason: err.reason, message: err.message }]);
  }
}

/** Outgoing webhook subscriptions, their delivery log, redelivery and a test event. */
export const webhookRoutes: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const { webhooks, temporal, config } = deps;

  async function load(tenantId: string, id: string) {
    const sub = await webhooks.getSubscription(tenantId, id);
    if (!sub) throw notFound(`webhook ${id}`);
    return sub;
  }

  /** Starts the workflow of a delivery just made; if Temporal is away the row is closed and the caller gets a 503. */
  async function start(tenantId: string, delivery: DeliveryView): Promise<DeliveryView> {
    try {
      await startDeliveryWorkflow(temporal, config.temporal.taskQueue, { id: delivery.id, tenantId });
    } catch (err) {
      await webhooks.failDelivery(delivery.id, 'not sent: the delivery could not be started (Temporal unavailable); try again');
      throw err;
    }
    return delivery;
  }

  app.post(
    '/webhooks',
    {
      schema: {
        operationId: 'createWebhook',
        tags,
        summary: 'Subscribe a URL to lifecycle events',
        description: 'Answers with the signing secret, shown this once only. Unknown event types are 400; a private or loopback address is 422 unless WEBHOOK_ALLOW_PRIVATE=true.',
        body: webhookCreateSchema,
        response: typedResponses({ 201: webhookCreatedView }),
      },
    },
    async (request, reply) => {
      const { url, events, description } = request.body;
      await checkUrl(url, config.webhookAllowPrivate);
      const secret = newSigningSecret();
      const sub = await webhooks.createSubscription({ tenantId: request.tenantId, url, events: [...new Set(events)], description, secret });
      return reply.status(201).send({ ...sub, secret });
    },
  );

  app.get('/webhooks', { schema: { operationId: 'listWebhooks', tags, summary: 'Webhook subscriptions, newest first', response: typedResponses({ 200: webhookListView }) } }, async (request) => ({
    items: await webhooks.listSubscriptions(request.tenantId),
  }));

  app.get(
    '/webhooks/:id',
    { schema: { operationId: 'getWebhook', tags, summary: 'A webhook subscription (never its secret)', params: webhookIdParams, response: typedResponses({ 200: webhookView }) } },
    async (request) => load(request.tenantId, request.params.id),
  );

  app.delete(
    '/webhooks/:id',
    { schema: { operationId: 'deleteWebhook', tags, summary: 'Delete a subscription and its delivery log', params: webhookIdParams, response: typedResponses({ 204: noContent }) } },
    async (request, reply) => {
      if (!(await webhooks.deleteSubscription(request.tenantId, request.params.id))) throw notFound(`webhook ${request.params.id}`);
      return reply.status(204).send();
    },
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        operationId: 'listWebhookDeliveries',
        tags,
        summary: 'The delivery log, newest first',
        description: 'Each delivery: status, attempts, the last response code or error, and when the next attempt is due.',
        params: webhookIdParams,
        querystring: deliveryListQuery,
        response: typedResponses({ 200: webhookDeliveryListView }),
      },
    },
    async (request) => {
      await load(request.tenantId, request.params.id);
      return webhooks.listDeliveries(request.tenantId, request.params.id, request.query);
    },
  );

  app.post(
    '/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      schema: {
        operationId: 'redeliverWebhook',
        tags,
        summary: 'Send a delivery again',
        description: 'A new delivery of the same event, with the same webhook-id (receivers that already have it can ignore it). 409 while the original is still being retried or the subscription is disabled.',
        params: deliveryParams,
        response: typedResponses({ 202: webhookDeliveryView }),
      },
    },
    async (request, reply) => {
      const sub = await load(request.tenantId, request.params.id);
      const original = await webhooks.getDelivery(request.tenantId, sub.id, request.params.deliveryId);
      if (!original) throw notFound(`delivery ${request.params.deliveryId}`);
      if (sub.status !== 'active') throw new HttpError('conflict', `the subscription is disabled: ${sub.disabledReason ?? 'no reason recorded'}`, [{ status: sub.status }]);
      if (original.status === 'pending') throw new HttpError('conflict', `delivery ${original.id} is still being retried (next attempt ${original.nextAttemptAt ?? 'soon'})`, [{ status: 'pending' }]);
      const delivery = await webhooks.createDelivery(request.tenantId, sub.id, original.event, original.id);
      return reply.status(202).send(await start(request.tenantId, delivery));
    },
  );

  app.post(
    '/webhooks/:id/test',
    {
      schema: {
        operationId: 'testWebhook',
        tags,
        summary: `Send a ${TEST_EVENT_TYPE} event`,
        description: `A signed \`${TEST_EVENT_TYPE}\` event to this subscription only (whatever events it lists), delivered and retried like any other.`,
        params: webhookIdParams,
        response: typedResponses({ 202: webhookDeliveryView }),
      },
    },
    async (request, reply) => {
      const sub = await load(request.tenantId, request.params.id);
      if (sub.status !== 'active') throw new HttpError('conflict', `the subscription is disabled: ${sub.disabledReason ?? 'no reason recorded'}`, [{ status: sub.status }]);
      const event: DeliveryEvent = {
        id: `evt_test_${randomBytes(12).toString('base64url')}`,
        type: TEST_EVENT_TYPE,
        occurredAt: new Date().toISOString(),
        data: { subscriptionId: sub.id, message: 'A test event from Herald: your endpoint and signature check work.' },
      };
      const delivery = await webhooks.createDelivery(request.tenantId, sub.id, event);
      return reply.status(202).send(await start(request.tenantId, delivery));
    },
  );
};
