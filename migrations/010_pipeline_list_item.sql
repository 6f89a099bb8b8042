-- The list (GET /v1/pipelines) answers a summary of each pipeline: its state without the parts only a single pipeline's
-- page reads (content body and hashtags, images, variants, each publication's stored dry-run request, the brief).
-- Reading the whole state for a page of 100 meant 1.4 MB out of TOAST, through the pg driver and the serializer; the
-- summary is about 1 KB. A trigger keeps it beside the state, like publish_at (009), whatever code writes the state.
-- The function never fails on an unexpected shape (it keeps what it cannot trim), so it cannot break a state save.
CREATE FUNCTION pipeline_list_item(s jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN jsonb_typeof(s) <> 'object' THEN NULL ELSE
    (s - 'tenantId' - 'version' - 'images' - 'variants' - 'request' - 'content' - 'publications')
    || jsonb_build_object(
      'request', CASE WHEN jsonb_typeof(s->'request') = 'object' THEN (s->'request') - 'brief' ELSE s->'request' END,
      'content', CASE WHEN jsonb_typeof(s->'content') = 'object' THEN (s->'content') - 'body' - 'hashtags' - 'usage' - 'skipped' ELSE s->'content' END,
      'publications', CASE WHEN jsonb_typeof(s->'publications') = 'array'
        THEN COALESCE((SELECT jsonb_agg(CASE WHEN jsonb_typeof(p) = 'object' THEN p - 'preview' ELSE p END ORDER BY i)
                       FROM jsonb_array_elements(s->'publications') WITH ORDINALITY AS e(p, i)), '[]'::jsonb)
        ELSE s->'publications' END)
  END
$$;

ALTER TABLE pipelines ADD COLUMN list_item jsonb;

CREATE FUNCTION pipelines_set_list_item() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.list_item := pipeline_list_item(NEW.state);
  RETURN NEW;
END;
$$;

CREATE TRIGGER pipelines_list_item BEFORE INSERT OR UPDATE OF state ON pipelines
  FOR EACH ROW EXECUTE FUNCTION pipelines_set_list_item();

UPDATE pipelines SET list_item = pipeline_list_item(state);
