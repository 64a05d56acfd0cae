-- Who changed what (shared/migrations/0020): the assessment weights a county sets.
CREATE TRIGGER assessment_weights_history AFTER INSERT OR UPDATE OR DELETE ON assessment_weights
    FOR EACH ROW EXECUTE FUNCTION shouhu_record_change('assessment_weight', '', 'scope_code');
