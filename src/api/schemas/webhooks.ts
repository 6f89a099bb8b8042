import { z } from 'zod';
import { decodeDeliveryCursor } from '../../db/webhooks-repo';
import { LIFECYCLE_EVENT_TYPES } from '../../domain/lifecycle-events';

const EVENT_LIST = LIFECYCLE_EVENT_TYPES.join(', ');

export const webhookCreateSchema = z.strictObject({
  url: z.string().trim().min(1).max(2000).describe('http or https; private and loopback addresses are refused unless WEBHOOK_ALLOW_PRIVATE=true'),
  events: z
    // The list is the documented enum; the check below refuses every unknown name in one message.
    .array(z.string().max(100).meta({ enum: [...LIFECYCLE_EVENT_TYPES] }))
    .min(1, 'events must name at least one event type')
    .max(LIFECYCLE_EVENT_TYPES.length * 2)
    .superRefine((events, ctx) => {
      const unknown = events.filter((e) => !(LIFECYCLE_EVENT_TYPES as readonly string[]).includes(e));
      if (unknown.length) ctx.addIssue({ code: 'custom', message: `unknown event type${unknown.length > 1 ? 's' : ''} ${unknown.map((e) => `"${e}"`).join(', ')}: use ${EVENT_LIST}` });
    })
    .describe(`event types to receive: ${EVENT_LIST}`),
  description: z.string().trim().max(500).optional(),
});

export const webhookIdParams = z.object({ id: z.string().min(1).max(100) });
export const deliveryParams = z.object({ id: z.string().min(1).max(100), deliveryId: z.string().min(1).max(100) });
export const deliveryListQuery = z.object({
  limit: z.coerce.number({ message: 'limit must be a whole number from 1 to 100' }).int('limit must be a whole number from 1 to 100').min(1, 'limit must be at least 1').max(100, 'limit must be at most 100').default(50),
  cursor: z
    .string()
    .max(200)
    .refine((c) => decodeDeliveryCursor(c) !== null, 'cursor is not one this API gave out: pass nextCursor from the previous page')
    .optional(),
});

export const webhookView = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string().nullable(),
    status: z.enum(['active', 'disabled']),
    disabledReason: z.string().nullable().describe('why Herald stopped delivering (410 Gone, every attempt failed for 24 h, a private address at delivery)'),
    disabledAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'Webhook' });

export const webhookCreatedView = webhookView
  .extend({ secret: z.string().describe('whsec_… signing secret: shown in this answer only, never again') })
  .meta({ id: 'WebhookCreated' });

export const webhookListView = z.object({ items: z.array(webhookView) }).meta({ id: 'WebhookList' });

export const webhookDeliveryView = z
  .object({
    id: z.string(),
    subscriptionId: z.string(),
    eventId: z.string().describe('the webhook-id header: the same for every attempt and redelivery of an event'),
    eventType: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number(),
    lastStatusCode: z.number().nullable(),
    lastError: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    redeliveryOf: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'WebhookDelivery' });

export const webhookDeliveryListView = z
  .object({ items: z.array(webhookDeliveryView), nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last') })
  .meta({ id: 'WebhookDeliveryList' });
