-- The outbox of lifecycle events (pipeline.*, publication.*, account.*, schedule.*) that webhooks deliver.
-- A producer inserts an event in the same transaction as the change it reports; the id is stable (derived from what
-- happened), so a retried producer inserts nothing new. Delivery starts one Temporal workflow per subscription and
-- event, and marks the event dispatched.

CREATE TABLE lifecycle_events (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants(id),
  type           text NOT NULL,
  occurred_at    timestamptz NOT NULL,
  data           jsonb NOT NULL,
  dispatched_at  timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX lifecycle_events_undispatched ON lifecycle_events (created_at) WHERE dispatched_at IS NULL;
CREATE INDEX lifecycle_events_tenant ON lifecycle_events (tenant_id, occurred_at DESC);
