-- The backlog check of every new pipeline (TENANT_MAX_ACTIVE_PIPELINES and the burst share, src/db/pipelines-repo.ts
-- countUnfinished / insertWithinBacklog) counts a tenant's unfinished pipelines. Through pipelines_tenant_status it
-- read every pipeline the tenant ever had and filtered the finished ones out: 10 ms per POST for a tenant with 100,000
-- finished pipelines, growing with history. Here only unfinished pipelines have entries, so the count reads as many
-- entries as the tenant has unfinished pipelines (at most the cap), however long its history. The predicate is spelt
-- as the queries spell it (TERMINAL_STATUSES in src/domain/types.ts, same order), so the planner can use it.
CREATE INDEX pipelines_unfinished_by_tenant ON pipelines (tenant_id, status)
  WHERE status <> ALL ('{published,partially_published,failed,rejected,cancelled,expired}'::text[]);
