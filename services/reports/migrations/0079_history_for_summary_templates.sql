-- Who changed a county's wording of its work summary (shared/migrations/0020).
CREATE TRIGGER summary_templates_history AFTER INSERT OR UPDATE OR DELETE ON summary_templates
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('summary_template', '', 'county_code');
