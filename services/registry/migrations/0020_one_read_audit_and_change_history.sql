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
-- An import's progress counters change every batch: its history is its start, its claim and its end.
CREATE TRIGGER import_jobs_history AFTER INSERT OR UPDATE OF status OR DELETE ON import_jobs
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('import', '', 'id');
