// Outgoing webhook subscriptions: list, create, show, delete, the delivery log, redelivery and a test event.
import type { Command } from 'commander';
import type { components, operations } from '../../client';
import { LIFECYCLE_EVENT_TYPES } from '../../domain/lifecycle-events';
import { deleteAction, many, positiveInt, type Context } from '../context';
import { table, type Output } from '../output';

type Webhook = components['schemas']['Webhook'];
type Delivery = components['schemas']['WebhookDelivery'];
// --event is checked against the event types as it is parsed.
type EventTypes = operations['createWebhook']['requestBody']['content']['application/json']['events'];

const hookPath = (id: string) => ({ params: { path: { id } } });

function webhookRows(out: Output, items: Webhook[]): string[] {
  return table([
    ['ID', 'STATUS', 'URL', 'EVENTS'].map(out.dim),
    ...items.map((w) => [w.id, w.status === 'disabled' ? out.red(`disabled${w.disabledReason ? `: ${w.disabledReason}` : ''}`) : w.status, w.url, w.events.join(',')]),
  ]);
}

function deliveryRows(out: Output, items: Delivery[]): string[] {
  return table([
    ['DELIVERY', 'EVENT', 'STATUS', 'ATTEMPTS', 'RESPONSE', 'NEXT ATTEMPT', 'LAST ERROR'].map(out.dim),
    ...items.map((d) => [
      d.id,
      d.eventType,
      d.status === 'delivered' ? out.green(d.status) : d.status === 'failed' ? out.red(d.status) : d.status,
      String(d.attempts),
      d.lastStatusCode === null ? '-' : String(d.lastStatusCode),
      d.nextAttemptAt ?? '-',
      d.lastError ?? '',
    ]),
  ]);
}

export function registerWebhookCommands(program: Command, ctx: Context): void {
  const webhooks = program.command('webhooks').summary('outgoing webhooks: signed lifecycle events sent to your URL');

  webhooks
    .command('list')
    .summary('subscriptions, newest first')
    .action((_flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.GET('/v1/webhooks')), (out, body) => {
        if (!body.items.length) return out.line('no webhooks');
        for (const row of webhookRows(out, body.items)) out.line(row);
      }),
    );

  webhooks
    .command('create')
    .summary('subscribe a URL to events; prints the signing secret once')
    .requiredOption('--url <url>', 'where deliveries are POSTed (http or https)')
    .requiredOption('--event <type>', `an event type, repeatable: ${LIFECYCLE_EVENT_TYPES.join(', ')}`, many(LIFECYCLE_EVENT_TYPES))
    .option('--description <text>', 'a note for yourself')
    .action((flags: { url: string; event: string[]; description?: string }, cmd: Command) =>
      ctx.show(
        cmd,
        (api) => api.unwrap(api.client.POST('/v1/webhooks', { body: { url: flags.url, events: flags.event as EventTypes, ...(flags.description ? { description: flags.description } : {}) } })),
        (out, created) => {
          out.line(`created webhook ${created.id} for ${created.url}`);
          out.line(`signing secret (shown this once; receivers check the webhook-signature header with it):\n${created.secret}`);
        },
      ),
    );

  webhooks
    .command('show <id>')
    .summary('one subscription')
    .action((id: string, _flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.GET('/v1/webhooks/{id}', hookPath(id))), (out, w) => webhookRows(out, [w]).forEach((row) => out.line(row))),
    );

  webhooks
    .command('delete <id>')
    .summary('stop sending to it')
    .action(deleteAction(ctx, 'webhook', (api, id) => api.unwrap(api.client.DELETE('/v1/webhooks/{id}', hookPath(id)))));

  webhooks
    .command('deliveries <id>')
    .summary('the delivery log, newest first: status, attempts, response code, next attempt')
    .option('--limit <n>', 'how many (1 to 100)', positiveInt(100))
    .option('--cursor <cursor>', 'the next page: nextCursor of the previous one')
    .action((id: string, flags: { limit?: number; cursor?: string }, cmd: Command) =>
      ctx.show(
        cmd,
        (api) => api.unwrap(api.client.GET('/v1/webhooks/{id}/deliveries', { params: { path: { id }, query: { limit: flags.limit, cursor: flags.cursor } } })),
        (out, body) => {
          if (!body.items.length) return out.line('no deliveries');
          for (const row of deliveryRows(out, body.items)) out.line(row);
          if (body.nextCursor) out.line(out.dim(`more: herald webhooks deliveries ${id} --cursor ${body.nextCursor}`));
        },
      ),
    );

  webhooks
    .command('redeliver <id> <deliveryId>')
    .summary('send a delivery again (same event id, so receivers can tell it is a repeat)')
    .action((id: string, deliveryId: string, _flags: unknown, cmd: Command) =>
      ctx.show(
        cmd,
        (api) => api.unwrap(api.client.POST('/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver', { params: { path: { id, deliveryId } } })),
        (out, d) => out.line(`redelivery ${d.id} of event ${d.eventId} queued`),
      ),
    );

  webhooks
    .command('test <id>')
    .summary('send a test event')
    .action((id: string, _flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.unwrap(api.client.POST('/v1/webhooks/{id}/test', hookPath(id))), (out, d) => out.line(`test event ${d.eventId} queued as delivery ${d.id}`)),
    );
}
