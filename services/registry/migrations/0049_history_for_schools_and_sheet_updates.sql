-- Who changed what (shared/migrations/0020) for the records added beside the child's: the
-- school register, the changes a sheet proposes (the import's history: who applied which)
-- and the year's grade promotions. Field names only, never values.
CREATE TRIGGER schools_history AFTER INSERT OR UPDATE OR DELETE ON schools
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('school', '', 'id');
CREATE TRIGGER import_changes_history AFTER INSERT OR UPDATE OR DELETE ON import_changes
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('import', 'import_jobs.job_id', 'job_id');
CREATE TRIGGER grade_promotions_history AFTER INSERT OR UPDATE OR DELETE ON grade_promotions
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('grade_promotion', '', 'scope', 'school_year');
