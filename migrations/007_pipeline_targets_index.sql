-- Daily caps (src/db/caps-repo.ts) count an account's scheduled publications when a pipeline with publishAt is
-- created: this index finds the pipelines that target one account without reading every live pipeline of the tenant.
-- Only scheduled, real (not dry-run) pipelines are indexed, so pipelines that publish at once pay nothing for it.
CREATE INDEX pipelines_scheduled_targets ON pipelines USING gin ((request->'targets') jsonb_path_ops)
  WHERE state->>'publishAt' IS NOT NULL AND request->>'dryRun' = 'false';
