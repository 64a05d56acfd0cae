-- History of the children projection, for coverage as of a past day: every applied version
-- of a child's place, school, priority and status, from the time its registry event says it
-- took effect (the projection's updated_at, written from the event) until the next one.
-- Kept by a trigger, so that no write to the projection can forget it.

CREATE TABLE child_history (
    child_id        uuid NOT NULL REFERENCES children (id),
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz,            -- NULL: still the current version
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    priority        boolean NOT NULL,
    status          text NOT NULL
);
CREATE INDEX child_history_current ON child_history (child_id) WHERE valid_to IS NULL;
CREATE INDEX child_history_time ON child_history (valid_from, valid_to);

CREATE FUNCTION child_history_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.county_code, NEW.township_code, NEW.village_code, NEW.school_id, NEW.priority,
                             NEW.status)
                        IS NOT DISTINCT FROM
                            (OLD.county_code, OLD.township_code, OLD.village_code, OLD.school_id, OLD.priority,
                             OLD.status) THEN
        RETURN NULL;
    END IF;
    UPDATE child_history SET valid_to = NEW.updated_at WHERE child_id = NEW.id AND valid_to IS NULL;
    INSERT INTO child_history (child_id, valid_from, county_code, township_code, village_code, school_id,
                               priority, status)
    VALUES (NEW.id, NEW.updated_at, NEW.county_code, NEW.township_code, NEW.village_code, NEW.school_id,
            NEW.priority, NEW.status);
    RETURN NULL;
END $$;
CREATE TRIGGER child_history_keep AFTER INSERT OR UPDATE ON children
    FOR EACH ROW EXECUTE FUNCTION child_history_keep();

-- Children projected before this history: their current version, from their last change.
INSERT INTO child_history (child_id, valid_from, county_code, township_code, village_code, school_id, priority,
                           status)
SELECT id, updated_at, county_code, township_code, village_code, school_id, priority, status FROM children;
