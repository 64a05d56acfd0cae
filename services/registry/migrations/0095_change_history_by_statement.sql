-- Inserts into the tables this service tracks are recorded in change_history by one trigger
-- per statement instead of one per row (shared migration 0021 says why).
SELECT shouhu_track_changes_by_statement();

-- The same for child_history (migration 0050): a new record has no earlier version to end, so
-- a statement's new children are written in one INSERT ... SELECT; updates keep the row trigger.
CREATE FUNCTION child_history_of_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO child_history (child_id, valid_from, county_code, township_code, village_code, school_id, gender,
                               birth_date, left_behind_type, categories, priority, status)
    SELECT id, created_at, county_code, township_code, village_code, school_id, gender, birth_date,
           left_behind_type, categories, priority, status
      FROM inserted_children;
    RETURN NULL;
END $$;
DROP TRIGGER child_history_keep ON children;
CREATE TRIGGER child_history_keep AFTER UPDATE ON children
    FOR EACH ROW EXECUTE FUNCTION child_history_keep();
CREATE TRIGGER child_history_of_inserts AFTER INSERT ON children REFERENCING NEW TABLE AS inserted_children
    FOR EACH STATEMENT EXECUTE FUNCTION child_history_of_inserts();
