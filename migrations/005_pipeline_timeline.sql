-- Every pipeline's life as events: stage changes, provider attempts and skips, waits, approvals, edits, publish-time
-- changes, errors. An event's key is derived from what happened (the state version that showed it, or a producer's own
-- stable name), so a retried producer inserts nothing twice. No foreign key to pipelines: an event may be recorded
-- while the pipeline row is being created, and a pipeline that never started is deleted without its events mattering.

CREATE TABLE pipeline_timeline (
  pipeline_id  text NOT NULL,
  key          text NOT NULL,
  tenant_id    text NOT NULL REFERENCES tenants(id),
  -- Insertion order: events recorded in one write share a time and keep the order they were produced in.
  seq          bigserial NOT NULL,
  type         text NOT NULL,
  occurred_at  timestamptz NOT NULL,
  data         jsonb NOT NULL,
  PRIMARY KEY (pipeline_id, key)
);
CREATE INDEX pipeline_timeline_order ON pipeline_timeline (pipeline_id, occurred_at, seq);
