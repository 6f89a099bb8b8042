-- The list (GET /v1/pipelines) answers a summary of each pipeline: its state without the parts only a single pipeline's
-- page reads (content body and hashtags, images, variants, each publication's stored dry-run request, the brief).
-- Reading the whole state for a page of 100 meant 1.4 MB out of TOAST, through the pg driver and the serializer; the
-- summary is about 1 KB. A trigger keeps it beside the state, like publish_at (009), whatever code writes the state.
-- The function never fails on an unexpected shape (it keeps what it cannot trim), so it cannot break a state save; it
-- reads the state out of TOAST once, so a save pays well under a millisecond for it.
CREATE FUNCTION pipeline_list_item(stored jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
  -- Out of TOAST once: `'{}' || x` answers x itself, detoasted. Every `->` on `stored` would decompress it again.
  s jsonb := '{}'::jsonb || stored;
  r jsonb := s->'request';
  c jsonb := s->'content';
  pubs jsonb := s->'publications';
BEGIN
  IF jsonb_typeof(s) IS DISTINCT FROM 'object' THEN
    RETURN NULL;
  END IF;
  IF jsonb_typeof(r) = 'object' AND r ? 'brief' THEN
    r := r - 'brief';
  END IF;
  IF jsonb_typeof(c) = 'object' THEN
    c := c - 'body' - 'hashtags' - 'usage' - 'skipped';
  END IF;
  IF jsonb_typeof(pubs) = 'array' THEN
    pubs := COALESCE((SELECT jsonb_agg(CASE WHEN jsonb_typeof(p) = 'object' AND p ? 'preview' THEN p - 'preview' ELSE p END ORDER BY i)
                      FROM jsonb_array_elements(pubs) WITH ORDINALITY AS e(p, i)), '[]'::jsonb);
  END IF;
  RETURN jsonb_build_object('id', s->'id', 'status', s->'status', 'createdAt', s->'createdAt', 'updatedAt', s->'updatedAt',
    'request', r, 'content', c, 'publications', pubs, 'publishAt', s->'publishAt', 'approval', s->'approval', 'error', s->'error');
END;
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
