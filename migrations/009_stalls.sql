-- Overdue posts (GET /v1/stalls and the herald_overdue_pipelines / herald_stalled_publications gauges).
-- A pipeline's publish time lives in its state (jsonb; setPublishAt moves it) and a text-to-timestamptz cast cannot be
-- indexed, so a trigger keeps it in a column of its own whatever code writes the state.
ALTER TABLE pipelines ADD COLUMN publish_at timestamptz;

CREATE FUNCTION pipelines_set_publish_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.publish_at := (NEW.state->>'publishAt')::timestamptz;
  RETURN NEW;
END;
$$;

CREATE TRIGGER pipelines_publish_at BEFORE INSERT OR UPDATE OF state ON pipelines
  FOR EACH ROW EXECUTE FUNCTION pipelines_set_publish_at();

UPDATE pipelines SET publish_at = (state->>'publishAt')::timestamptz WHERE state->>'publishAt' IS NOT NULL;

-- Only unfinished pipelines with a publish time, and only publications still to be posted that wait for a retry:
-- small sets however many rows the tables hold, so the scrape-time count stays cheap.
CREATE INDEX pipelines_unpublished_by_publish_at ON pipelines (publish_at, tenant_id)
  WHERE publish_at IS NOT NULL
    AND status IN ('queued', 'generating', 'illustrating', 'adapting', 'awaiting_approval', 'scheduled', 'publishing');

CREATE INDEX publications_unposted_by_retry_at ON publications (retry_at, tenant_id)
  WHERE retry_at IS NOT NULL AND status IN ('pending', 'waiting', 'publishing');
