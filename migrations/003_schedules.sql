-- Recurring pipelines: one row per Temporal Schedule, every row carrying its tenant. Temporal owns the timing (next
-- and recent runs come from describing the Schedule); this row is what the API lists, and what a tenant check reads.
CREATE TABLE schedules (
  id                     text PRIMARY KEY,
  tenant_id              text NOT NULL REFERENCES tenants(id),
  temporal_schedule_id   text NOT NULL UNIQUE,
  spec                   jsonb NOT NULL,          -- {"cron": "0 9 * * 1-5"} or {"every": "1h"}, as given
  timezone               text NOT NULL DEFAULT 'UTC',
  request                jsonb NOT NULL,          -- the pipeline request each run starts (defaults applied)
  paused                 boolean NOT NULL DEFAULT false,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX schedules_tenant_created ON schedules (tenant_id, created_at DESC, id DESC);
