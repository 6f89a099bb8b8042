// Moves lifecycle events from the outbox (lifecycle_events) into deliveries: one durable Temporal workflow per
// subscription and event. A poll loop, not a notification, so nothing is lost while a worker is down: whatever was
// written meanwhile still has `dispatched_at IS NULL` and the next pass of any worker picks it up. Several workers may
// run it at once: each pass locks the rows it takes (SKIP LOCKED), and a delivery's workflow id is derived from its
// subscription and event, so a pass repeated after a crash starts nothing twice.
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { WebhookRepository } from '../db/webhooks-repo';
import { tenantPriority } from '../pipelines/start-options';
import { deliveryWorkflowId, RETRY_WINDOW_MS } from './policy';

export interface DispatcherOptions {
  webhooks: WebhookRepository;
  client: Client;
  taskQueue: string;
  logger: Logger;
  /** Time between passes when the outbox was empty; default 1 s. */
  intervalMs?: number;
  /** Events per pass; default 100. */
  batch?: number;
  /** How long each delivery is retried (tests shorten it); default 24 h. */
  retryWindowMs?: number;
  /**
   * Every this often, deliveries committed but never attempted for at least as long are started again (a dispatcher
   * that died between committing and starting, Temporal away then); default 30 s.
   */
  sweepEveryMs?: number;
}

export interface Dispatcher {
  /** Stops polling; waits for a pass in progress. */
  stop(): Promise<void>;
}

/**
 * Starts one delivery workflow; an id already started (or finished) is left alone. It queues with its tenant as
 * fairness key (and the default priority), so one tenant's flood of events does not hold up another's deliveries.
 */
export async function startDeliveryWorkflow(client: Client, taskQueue: string, delivery: { id: string; tenantId: string }, retryWindowMs = RETRY_WINDOW_MS): Promise<boolean> {
  const deliveryId = delivery.id;
  try {
    await client.workflow.start('webhookDelivery', {
      taskQueue,
      workflowId: deliveryWorkflowId(deliveryId),
      priority: tenantPriority(delivery.tenantId),
      // A finished delivery is not started again by a dispatcher that repeats a pass.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [{ deliveryId, retryWindowMs }],
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

export function startWebhookDispatcher(opts: DispatcherOptions): Dispatcher {
  const { webhooks, client, taskQueue, logger } = opts;
  const intervalMs = opts.intervalMs ?? 1_000;
  const batch = opts.batch ?? 100;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  const sweepEveryMs = opts.sweepEveryMs ?? 30_000;
  let failing = false;
  let lastSweep = Date.now();

  async function startAll(deliveries: { id: string; tenantId: string; eventType: string }[]): Promise<void> {
    for (const d of deliveries) {
      const started = await startDeliveryWorkflow(client, taskQueue, d, opts.retryWindowMs);
      if (started) logger.debug({ deliveryId: d.id, type: d.eventType }, 'webhook delivery started');
    }
  }

  async function pass(): Promise<void> {
    let taken: number;
    do {
      taken = await webhooks.dispatchPending(batch, startAll);
    } while (taken === batch && !stopped);
    if (Date.now() - lastSweep >= sweepEveryMs) {
      await startAll(await webhooks.unstartedDeliveries(sweepEveryMs, batch));
      lastSweep = Date.now();
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(tick, delayMs);
  }
  function tick(): void {
    timer = null;
    running = pass()
      .then(() => {
        if (failing) logger.info('webhook dispatch works again');
        failing = false;
      })
      .catch((err: unknown) => {
        // PostgreSQL or Temporal away: said once, retried every pass; nothing is marked dispatched meanwhile.
        if (!failing) logger.warn({ err }, 'webhook dispatch failed; retrying');
        failing = true;
      })
      .finally(() => {
        running = null;
        schedule(intervalMs);
      });
  }
  schedule(0);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
