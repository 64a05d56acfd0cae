-- The read audit moves into the shape every service shares (read_audit, from
-- shared/migrations/0020). Rows written before recorded neither roles, fields nor purpose:
-- they say so rather than guess.
INSERT INTO read_audit (subject, roles, action, record_kind, record_ids, fields, purpose, read_at)
SELECT subject, '{}', 'read', record_kind, ARRAY[record_id], '{}', 'not recorded', read_at
  FROM sensitive_reads ORDER BY id;
DROP TABLE sensitive_reads;
DROP FUNCTION sensitive_reads_append_only();

-- Who changed what (shared/migrations/0020).
CREATE TRIGGER contacts_history AFTER INSERT OR UPDATE OR DELETE ON contacts
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('contact', '', 'id');
CREATE TRIGGER concerns_history AFTER INSERT OR UPDATE OR DELETE ON concerns
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('concern', '', 'id');
CREATE TRIGGER duty_policies_history AFTER INSERT OR UPDATE OR DELETE ON duty_policies
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('policy', '', 'scope_code', 'audience', 'duty_kind');
