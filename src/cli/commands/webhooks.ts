// Outgoing webhook subscriptions: list, create, show, delete, the delivery log, redelivery and a test event.
import type { Command } from 'commander';
import { LIFECYCLE_EVENT_TYPES } from '../../domain/lifecycle-events';
import { many, type Context } from '../context';
import { table, type Output } from '../output';

interface WebhookView {
  id: string;
  url: string;
  events: string[];
  description?: string | null;
  status?: string;
  disabledReason?: string | null;
  secret?: string;
}

interface DeliveryView {
  id: string;
  event?: string;
  type?: string;
  status: string;
  attempts?: number;
  responseStatus?: number | null;
  nextAttemptAt?: string | null;
}

const hook = (id: string) => `/v1/webhooks/${encodeURIComponent(id)}`;

function webhookRows(out: Output, items: WebhookView[]): string[] {
  return table([
    ['ID', 'STATUS', 'URL', 'EVENTS'].map(out.dim),
    ...items.map((w) => [w.id, w.status === 'disabled' ? out.red(`disabled${w.disabledReason ? `: ${w.disabledReason}` : ''}`) : (w.status ?? 'active'), w.url, w.events.join(',')]),
  ]);
}

export function registerWebhookCommands(program: Command, ctx: Context): void {
  const webhooks = program.command('webhooks').summary('outgoing webhooks: signed lifecycle events sent to your URL');

  webhooks
    .command('list')
    .summary('subscriptions')
    .action((_flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.untyped<{ items: WebhookView[] }>('GET', '/v1/webhooks'), (out, body) => {
        if (!body.items.length) return out.line('no webhooks');
        for (const row of webhookRows(out, body.items)) out.line(row);
      }),
    );

  webhooks
    .command('create')
    .summary('subscribe a URL to events; prints the signing secret once')
    .requiredOption('--url <url>', 'where deliveries are POSTed')
    .requiredOption('--event <type>', `an event type, repeatable: ${LIFECYCLE_EVENT_TYPES.join(', ')}`, many(LIFECYCLE_EVENT_TYPES))
    .option('--description <text>', 'a note for yourself')
    .action((flags: { url: string; event: string[]; description?: string }, cmd: Command) =>
      ctx.show(
        cmd,
        (api) => api.untyped<WebhookView>('POST', '/v1/webhooks', { url: flags.url, events: flags.event, ...(flags.description ? { description: flags.description } : {}) }),
        (out, created) => {
          out.line(`created webhook ${created.id} for ${created.url}`);
          if (created.secret) out.line(`signing secret (shown once; verify the webhook-signature header with it):\n${created.secret}`);
        },
      ),
    );

  webhooks
    .command('show <id>')
    .summary('one subscription')
    .action((id: string, _flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.untyped<WebhookView>('GET', hook(id)), (out, w) => webhookRows(out, [w]).forEach((row) => out.line(row))),
    );

  webhooks
    .command('delete <id>')
    .summary('stop sending to it')
    .action((id: string, _flags: unknown, cmd: Command) =>
      ctx.show(
        cmd,
        async (api) => {
          await api.untyped('DELETE', hook(id));
          return { id, deleted: true };
        },
        (out) => out.line(`deleted webhook ${id}`),
      ),
    );

  webhooks
    .command('deliveries <id>')
    .summary('the delivery log: status, attempts, response code, next attempt')
    .action((id: string, _flags: unknown, cmd: Command) =>
      ctx.show(cmd, (api) => api.untyped<{ items: DeliveryView[] }>('GET', `${hook(id)}/deliveries`), (out, body) => {
        if (!body.items.length) return out.line('no deliveries');
        const rows = body.items.map((d) => [d.id, d.event ?? d.type ?? '', d.status, String(d.attempts ?? ''), d.responseStatus == null ? '-' : String(d.responseStatus), d.nextAttemptAt ?? '-']);
        for (const row of table([['DELIVERY', 'EVENT', 'STATUS', 'ATTEMPTS', 'RESPONSE', 'NEXT ATTEMPT'].map(out.dim), ...rows])) out.line(row);
      }),
    );

  webhooks
    .command('redeliver <id> <deliveryId>')
    .summary('send a delivery again')
    .action((id: string, deliveryId: string, _flags: unknown, cmd: Command) =>
      ctx.show(
        cmd,
        async (api) => (await api.untyped<DeliveryView | undefined>('POST', `${hook(id)}/deliveries/${encodeURIComponent(deliveryId)}/redeliver`)) ?? { id: deliveryId, redelivered: true },
        (out) => out.line(`redelivery of ${deliveryId} queued`),
      ),
    );

  webhooks
    .command('test <id>')
    .summary('send a test event')
    .action((id: string, _flags: unknown, cmd: Command) =>
      ctx.show(
        cmd,
        async (api) => (await api.untyped<DeliveryView | undefined>('POST', `${hook(id)}/test`)) ?? { id, tested: true },
        (out, body) => out.line(`test event sent to ${id}${'status' in body ? ` (delivery ${body.id}: ${body.status})` : ''}`),
      ),
    );
}
