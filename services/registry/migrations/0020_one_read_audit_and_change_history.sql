-- The registry's read audit moves into the shape every service shares (read_audit, from
-- shared/migrations/0020), rows and all; the old table goes so that there is one trail.
-- Rows written before this carry no request id.
INSERT INTO read_audit (subject, roles, action, record_kind, record_ids, fields, purpose, read_at)
SELECT subject, roles, action, 'child', record_ids, fields, purpose, read_at FROM sensitive_reads ORDER BY id;
DROP TABLE sensitive_reads;
DROP FUNCTION sensitive_reads_append_only();

-- Who changed what (shared/migrations/0020): the records people write here.
CREATE TRIGGER children_history AFTER INSERT OR UPDATE OR DELETE ON children
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('child', '', 'id');
CREATE TRIGGER growth_notes_history AFTER INSERT OR UPDATE OR DELETE ON growth_notes
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('growth_note', 'children.child_id', 'id');
CREATE TRIGGER expected_counts_history AFTER INSERT OR UPDATE OR DELETE ON expected_counts
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('expected_count', '', 'kind', 'code');
-- An import's history is its upload, its claim and its end (not the progress counters of
-- every batch). Its own trigger, so that the uploaded file (megabytes of bytea) is never
-- converted to be compared: only the job's small columns are.
CREATE FUNCTION import_jobs_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    job import_jobs := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    changed text[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT coalesce(array_agg(name ORDER BY name), '{}') INTO changed FROM (VALUES
            ('status', OLD.status IS DISTINCT FROM NEW.status),
            ('failure', OLD.failure IS DISTINCT FROM NEW.failure),
            ('claimed_by', OLD.claimed_by IS DISTINCT FROM NEW.claimed_by),
            ('content', (OLD.content IS NULL) <> (NEW.content IS NULL)),
            ('finished_at', OLD.finished_at IS DISTINCT FROM NEW.finished_at)) AS c (name, differs)
         WHERE differs;
        IF cardinality(changed) = 0 THEN
            RETURN NULL;
        END IF;
    ELSE
        changed := ARRAY['created_by', 'file_format', 'file_sha256', 'scope', 'status'];
    END IF;
    PERFORM shouhu_write_change('import', job.id::text, lower(TG_OP), changed, job.scope);
    RETURN NULL;
END $$;
CREATE TRIGGER import_jobs_history AFTER INSERT OR UPDATE OF status OR DELETE ON import_jobs
    FOR EACH ROW EXECUTE FUNCTION import_jobs_record_change();
