-- Outgoing webhooks: a tenant's subscriptions and every delivery made to them.
-- The signing secret is an AES-256-GCM envelope (the same secret box as account credentials): shown once at creation,
-- never readable through the API again.

CREATE TABLE webhook_subscriptions (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL REFERENCES tenants(id),
  url              text NOT NULL,
  events           text[] NOT NULL,
  description      text,
  secret           text NOT NULL,
  status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  disabled_reason  text,
  disabled_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_subscriptions_tenant ON webhook_subscriptions (tenant_id, created_at DESC);

-- One row per delivery workflow. The event is copied in (type, time, data), so a delivery is self-contained: test
-- events and redeliveries need no outbox row. The first delivery of an event to a subscription has an id derived from
-- both, so a dispatcher that runs twice makes one row; a redelivery is a new row pointing at the one it repeats.
CREATE TABLE webhook_deliveries (
  id                 text PRIMARY KEY,
  subscription_id    text NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
  tenant_id          text NOT NULL,
  event_id           text NOT NULL,
  event_type         text NOT NULL,
  event_occurred_at  timestamptz NOT NULL,
  event_data         jsonb NOT NULL,
  redelivery_of      text,
  status             text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts           integer NOT NULL DEFAULT 0,
  last_status_code   integer,
  last_error         text,
  last_attempt_at    timestamptz,
  next_attempt_at    timestamptz,
  delivered_at       timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, created_at DESC, id DESC);
