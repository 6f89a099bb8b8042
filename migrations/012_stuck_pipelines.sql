-- Started pipelines with no recorded step for a while (GET /v1/stalls `stuck_pipeline` items and the
-- herald_stuck_pipelines gauge): a pipeline whose next workflow task or activity waits on a task queue that no worker
-- takes it from stays in its stage with its row untouched. Only pipelines in a working stage have entries, so the
-- scrape-time count reads as many entries as pipelines are at work, however many rows the table holds. updated_at is
-- left out of the index on purpose: a state save inside a stage changes only it and the state, and stays a HOT update
-- (no index touched) instead of writing every index of the table. The predicate is spelt as src/db/stalls-repo.ts
-- spells it.
CREATE INDEX pipelines_working_by_tenant ON pipelines (tenant_id)
  WHERE status IN ('generating', 'illustrating', 'adapting', 'publishing');
