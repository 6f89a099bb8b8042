import { createHash, randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { LifecycleEvent } from '../domain/lifecycle-events';
import type { SecretBox } from './secret-box';

export type SubscriptionStatus = 'active' | 'disabled';
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** What the API shows of a subscription: never its secret. */
export interface SubscriptionView {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  status: SubscriptionStatus;
  disabledReason: string | null;
  disabledAt: string | null;
  createdAt: string;
}

export interface DeliveryView {
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  redeliveryOf: string | null;
  createdAt: string;
}

/** The event a delivery carries, copied into its row. */
export interface DeliveryEvent {
  id: string;
  type: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

interface SubscriptionRow {
  id: string;
  tenant_id: string;
  url: string;
  events: string[];
  description: string | null;
  status: SubscriptionStatus;
  disabled_reason: string | null;
  disabled_at: Date | null;
  created_at: Date;
}
interface DeliveryRow {
  id: string;
  subscription_id: string;
  tenant_id: string;
  event_id: string;
  event_type: string;
  event_occurred_at: Date;
  event_data: Record<string, unknown>;
  redelivery_of: string | null;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  next_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
}

const SUB_COLUMNS = 'id, tenant_id, url, events, description, status, disabled_reason, disabled_at, created_at';
const DELIVERY_COLUMNS =
  'id, subscription_id, tenant_id, event_id, event_type, event_occurred_at, event_data, redelivery_of, status, attempts, last_status_code, last_error, last_attempt_at, next_attempt_at, delivered_at, created_at';

const iso = (d: Date | null) => d?.toISOString() ?? null;

function subscriptionView(r: SubscriptionRow): SubscriptionView {
  return {
    id: r.id,
    url: r.url,
    events: r.events,
    description: r.description,
    status: r.status,
    disabledReason: r.disabled_reason,
    disabledAt: iso(r.disabled_at),
    createdAt: r.created_at.toISOString(),
  };
}

function deliveryView(r: DeliveryRow): DeliveryView {
  return {
    id: r.id,
    subscriptionId: r.subscription_id,
    eventId: r.event_id,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    lastAttemptAt: iso(r.last_attempt_at),
    nextAttemptAt: iso(r.next_attempt_at),
    deliveredAt: iso(r.delivered_at),
    redeliveryOf: r.redelivery_of,
    createdAt: r.created_at.toISOString(),
  };
}

/** The first delivery of an event to a subscription has this id: derived from both, so dispatching twice makes one. */
export function firstDeliveryId(subscriptionId: string, eventId: string): string {
  return `whd_${createHash('sha256').update(`${subscriptionId}\n${eventId}`).digest('base64url').slice(0, 22)}`;
}

const newDeliveryId = () => `whd_${randomBytes(16).toString('base64url')}`;

/** A page position: the newest-first order is (created_at, id) descending. */
function encodeCursor(r: DeliveryRow): string {
  return Buffer.from(`${r.created_at.toISOString()}|${r.id}`).toString('base64url');
}
/** The position a delivery-log cursor holds, or null when it is not one this API gave out. */
export function decodeDeliveryCursor(cursor: string): [Date, string] | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  const [at, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (rest.length || !id || !/^whd_[A-Za-z0-9_-]+$/.test(id) || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(at ?? '')) return null;
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? null : [date, id];
}

async function insertDelivery(db: Pool | PoolClient, tenantId: string, subscriptionId: string, id: string, event: DeliveryEvent, redeliveryOf: string | null) {
  return db.query<DeliveryRow>(
    `INSERT INTO webhook_deliveries (id, subscription_id, tenant_id, event_id, event_type, event_occurred_at, event_data, redelivery_of)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (id) DO NOTHING RETURNING ${DELIVERY_COLUMNS}`,
    [id, subscriptionId, tenantId, event.id, event.type, event.occurredAt, event.data, redeliveryOf],
  );
}

export function createWebhookRepository(pool: Pool, box: SecretBox) {
  return {
    async createSubscription(input: { tenantId: string; url: string; events: string[]; description?: string; secret: string }): Promise<SubscriptionView> {
      const id = `whk_${randomBytes(12).toString('base64url')}`;
      const { rows } = await pool.query<SubscriptionRow>(
        `INSERT INTO webhook_subscriptions (id, tenant_id, url, events, description, secret) VALUES ($1,$2,$3,$4,$5,$6) RETURNING ${SUB_COLUMNS}`,
        [id, input.tenantId, input.url, input.events, input.description ?? null, box.seal(input.secret)],
      );
      return subscriptionView(rows[0]);
    },
    async listSubscriptions(tenantId: string): Promise<SubscriptionView[]> {
      const { rows } = await pool.query<SubscriptionRow>(`SELECT ${SUB_COLUMNS} FROM webhook_subscriptions WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC`, [tenantId]);
      return rows.map(subscriptionView);
    },
    async getSubscription(tenantId: string, id: string): Promise<SubscriptionView | null> {
      const { rows } = await pool.query<SubscriptionRow>(`SELECT ${SUB_COLUMNS} FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      return rows[0] ? subscriptionView(rows[0]) : null;
    },
    /** Deletes it with its delivery log; deliveries still running find it gone and stop. */
    async deleteSubscription(tenantId: string, id: string): Promise<boolean> {
      const res = await pool.query(`DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
      return res.rowCount === 1;
    },
    /** Disables an active subscription; false when it was already disabled or is gone. */
    async disableSubscription(id: string, reason: string): Promise<boolean> {
      const res = await pool.query(
        `UPDATE webhook_subscriptions SET status = 'disabled', disabled_reason = $2, disabled_at = now() WHERE id = $1 AND status = 'active'`,
        [id, reason],
      );
      return res.rowCount === 1;
    },

    /** Newest first, `limit` at a time; `nextCursor` is null on the last page. */
    async listDeliveries(tenantId: string, subscriptionId: string, opts: { limit: number; cursor?: string }): Promise<{ items: DeliveryView[]; nextCursor: string | null }> {
      const after = opts.cursor ? decodeDeliveryCursor(opts.cursor) : null;
      const { rows } = await pool.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
         WHERE tenant_id = $1 AND subscription_id = $2 AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
         ORDER BY created_at DESC, id DESC LIMIT $5`,
        [tenantId, subscriptionId, after?.[0] ?? null, after?.[1] ?? '', opts.limit + 1],
      );
      const page = rows.slice(0, opts.limit);
      return { items: page.map(deliveryView), nextCursor: rows.length > opts.limit ? encodeCursor(page[page.length - 1]) : null };
    },
    async getDelivery(tenantId: string, subscriptionId: string, id: string): Promise<(DeliveryView & { event: DeliveryEvent }) | null> {
      const { rows } = await pool.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant_id = $1 AND subscription_id = $2 AND id = $3`,
        [tenantId, subscriptionId, id],
      );
      const r = rows[0];
      return r ? { ...deliveryView(r), event: { id: r.event_id, type: r.event_type, occurredAt: r.event_occurred_at.toISOString(), data: r.event_data } } : null;
    },
    /** A new delivery of `event` (a redelivery or a test event): a new row with a new id. */
    async createDelivery(tenantId: string, subscriptionId: string, event: DeliveryEvent, redeliveryOf: string | null = null): Promise<DeliveryView> {
      const { rows } = await insertDelivery(pool, tenantId, subscriptionId, newDeliveryId(), event, redeliveryOf);
      return deliveryView(rows[0]);
    },

    /** Everything one attempt needs: the delivery, its subscription and the decrypted secret (for the activity only). */
    async forSending(deliveryId: string): Promise<{ tenantId: string; delivery: DeliveryView; event: DeliveryEvent; subscription: SubscriptionView; secret: string } | null> {
      const { rows } = await pool.query<DeliveryRow & { s_url: string; s_events: string[]; s_description: string | null; s_status: SubscriptionStatus; s_disabled_reason: string | null; s_disabled_at: Date | null; s_created_at: Date; s_secret: string }>(
        `SELECT d.*, s.url AS s_url, s.events AS s_events, s.description AS s_description, s.status AS s_status,
                s.disabled_reason AS s_disabled_reason, s.disabled_at AS s_disabled_at, s.created_at AS s_created_at, s.secret AS s_secret
         FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE d.id = $1`,
        [deliveryId],
      );
      const r = rows[0];
      if (!r) return null;
      return {
        tenantId: r.tenant_id,
        delivery: deliveryView(r),
        event: { id: r.event_id, type: r.event_type, occurredAt: r.event_occurred_at.toISOString(), data: r.event_data },
        subscription: subscriptionView({
          id: r.subscription_id,
          tenant_id: r.tenant_id,
          url: r.s_url,
          events: r.s_events,
          description: r.s_description,
          status: r.s_status,
          disabled_reason: r.s_disabled_reason,
          disabled_at: r.s_disabled_at,
          created_at: r.s_created_at,
        }),
        secret: box.open<string>(r.s_secret),
      };
    },
    /** One attempt's outcome, in the delivery log. A delivery that is no longer pending is left as it is. */
    async recordAttempt(
      deliveryId: string,
      a: { status: DeliveryStatus; statusCode: number | null; error: string | null; nextAttemptAt: Date | null },
    ): Promise<void> {
      await pool.query(
        `UPDATE webhook_deliveries SET attempts = attempts + 1, status = $2, last_status_code = $3, last_error = $4, last_attempt_at = now(),
           next_attempt_at = $5, delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END
         WHERE id = $1 AND status = 'pending'`,
        [deliveryId, a.status, a.statusCode, a.error, a.nextAttemptAt],
      );
    },
    /** Ends a pending delivery as failed without another attempt (retry window over, subscription disabled). */
    async failDelivery(deliveryId: string, reason: string): Promise<void> {
      await pool.query(
        `UPDATE webhook_deliveries SET status = 'failed', last_error = COALESCE($2, last_error), next_attempt_at = NULL WHERE id = $1 AND status = 'pending'`,
        [deliveryId, reason],
      );
    },

    /** Adds an event to the outbox; an event with the same id (a retried producer) is not added twice. */
    async recordEvent(event: LifecycleEvent): Promise<boolean> {
      const res = await pool.query(
        `INSERT INTO lifecycle_events (id, tenant_id, type, occurred_at, data) VALUES ($1,$2,$3,$4,$5) ON CONFLICT (id) DO NOTHING`,
        [event.id, event.tenantId, event.type, event.occurredAt, event.data],
      );
      return res.rowCount === 1;
    },

    /**
     * Takes up to `limit` undispatched events (rows other dispatchers hold are skipped, not waited for), makes a pending
     * delivery for every active subscription of the event's tenant that listens to its type and marks the events
     * dispatched, in one transaction; then hands each pending delivery to `start`. If `start` throws (Temporal away),
     * the deliveries stay pending without a workflow until unstartedDeliveries finds them (the dispatcher's sweep).
     */
    async dispatchPending(limit: number, start: (deliveries: { id: string; tenantId: string; eventType: string }[]) => Promise<void>): Promise<number> {
      const client = await pool.connect();
      const pending: { id: string; tenantId: string; eventType: string }[] = [];
      let taken: number;
      try {
        await client.query('BEGIN');
        const events = await client.query<{ id: string; tenant_id: string; type: string; occurred_at: Date; data: Record<string, unknown> }>(
          `SELECT id, tenant_id, type, occurred_at, data FROM lifecycle_events WHERE dispatched_at IS NULL
           ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [limit],
        );
        for (const e of events.rows) {
          const subs = await client.query<{ id: string }>(
            `SELECT id FROM webhook_subscriptions WHERE tenant_id = $1 AND status = 'active' AND $2 = ANY(events) ORDER BY id`,
            [e.tenant_id, e.type],
          );
          for (const s of subs.rows) {
            const id = firstDeliveryId(s.id, e.id);
            await insertDelivery(client, e.tenant_id, s.id, id, { id: e.id, type: e.type, occurredAt: e.occurred_at.toISOString(), data: e.data }, null);
            const { rows } = await client.query<{ status: DeliveryStatus }>(`SELECT status FROM webhook_deliveries WHERE id = $1`, [id]);
            if (rows[0]?.status === 'pending') pending.push({ id, tenantId: e.tenant_id, eventType: e.type });
          }
        }
        if (events.rows.length) {
          await client.query(`UPDATE lifecycle_events SET dispatched_at = now() WHERE id = ANY($1)`, [events.rows.map((e) => e.id)]);
        }
        await client.query('COMMIT');
        taken = events.rows.length;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
      // Started only once committed: a delivery's first attempt reads its row, and a workflow started inside the
      // transaction could run before the row exists for other connections (it then found nothing and ended). A
      // failure here leaves committed deliveries without a workflow; unstartedDeliveries finds them again.
      if (pending.length) await start(pending);
      return taken;
    },
    /**
     * Deliveries still pending without a single attempt, created at least `olderThanMs` ago: the ones a dispatcher
     * committed and then could not start (Temporal away, the process killed in between), or whose workflow still waits
     * for a worker. Starting them again is harmless: a delivery's workflow id is fixed, so a started one is kept.
     */
    async unstartedDeliveries(olderThanMs: number, limit: number): Promise<{ id: string; tenantId: string; eventType: string }[]> {
      const { rows } = await pool.query<{ id: string; tenant_id: string; event_type: string }>(
        `SELECT id, tenant_id, event_type FROM webhook_deliveries
         WHERE status = 'pending' AND attempts = 0 AND created_at < now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY created_at LIMIT $2`,
        [olderThanMs, limit],
      );
      return rows.map((r) => ({ id: r.id, tenantId: r.tenant_id, eventType: r.event_type }));
    },
  };
}
export type WebhookRepository = ReturnType<typeof createWebhookRepository>;
