-- Reads of caregivers' contact points move into the audit every service shares (read_audit,
-- from shared/migrations/0020). Rows written before recorded no fields nor purpose: they say so.
INSERT INTO read_audit (subject, roles, action, record_kind, record_ids, fields, purpose, read_at)
SELECT reader, reader_roles, 'contact_points', 'caregiver', ARRAY[caregiver_id], '{}', 'not recorded', read_at
  FROM contact_point_reads ORDER BY id;
DROP TABLE contact_point_reads;
DROP FUNCTION contact_point_reads_append_only();

-- Who changed what (shared/migrations/0020).
CREATE TRIGGER caregivers_history AFTER INSERT OR UPDATE OR DELETE ON caregivers
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('caregiver', '', 'id');
CREATE TRIGGER pairings_history AFTER INSERT OR UPDATE OR DELETE ON pairings
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('pairing', 'children.child_id', 'id');
CREATE TRIGGER capacity_defaults_history AFTER INSERT OR UPDATE OR DELETE ON capacity_defaults
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('capacity_default', '', 'county_code', 'kind');
CREATE TRIGGER support_records_history AFTER INSERT OR UPDATE OR DELETE ON support_records
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('support_record', '', 'id');
CREATE TRIGGER proposals_history AFTER INSERT OR UPDATE OR DELETE ON proposals
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('proposal', '', 'id');
