-- History for statistics as of a past date: every version of what the counts look at
-- (place, school, status, categories, gender, birth date, left-behind type, priority), with
-- the time it took effect and the time the next version replaced it. A trigger keeps it,
-- so that no write to `children` can forget it; the times are the record's own
-- created_at/updated_at, which the application writes from its clock (shared/clock.py).
-- Names, ID numbers, addresses and sensitive categories are not copied.

CREATE TABLE child_history (
    child_id          uuid NOT NULL REFERENCES children (id),
    valid_from        timestamptz NOT NULL,
    valid_to          timestamptz,              -- NULL: still the current version
    county_code       text NOT NULL,
    township_code     text NOT NULL,
    village_code      text,
    school_id         text,
    gender            text NOT NULL,
    birth_date        date NOT NULL,
    left_behind_type  text,
    categories        text[] NOT NULL,
    priority          boolean NOT NULL,
    status            text NOT NULL
);
CREATE INDEX child_history_current ON child_history (child_id) WHERE valid_to IS NULL;
CREATE INDEX child_history_time ON child_history (valid_from, valid_to);

CREATE FUNCTION child_history_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.county_code, NEW.township_code, NEW.village_code, NEW.school_id, NEW.gender,
                             NEW.birth_date, NEW.left_behind_type, NEW.categories, NEW.priority, NEW.status)
                        IS NOT DISTINCT FROM
                            (OLD.county_code, OLD.township_code, OLD.village_code, OLD.school_id, OLD.gender,
                             OLD.birth_date, OLD.left_behind_type, OLD.categories, OLD.priority, OLD.status) THEN
        RETURN NULL;
    END IF;
    UPDATE child_history SET valid_to = NEW.updated_at WHERE child_id = NEW.id AND valid_to IS NULL;
    INSERT INTO child_history (child_id, valid_from, county_code, township_code, village_code, school_id, gender,
                               birth_date, left_behind_type, categories, priority, status)
    VALUES (NEW.id, CASE WHEN TG_OP = 'INSERT' THEN NEW.created_at ELSE NEW.updated_at END, NEW.county_code,
            NEW.township_code, NEW.village_code, NEW.school_id, NEW.gender, NEW.birth_date, NEW.left_behind_type,
            NEW.categories, NEW.priority, NEW.status);
    RETURN NULL;
END $$;
CREATE TRIGGER child_history_keep AFTER INSERT OR UPDATE ON children
    FOR EACH ROW EXECUTE FUNCTION child_history_keep();

-- Records from before this history: their current version, from the day they were created
-- (what changed in between is not known any more).
INSERT INTO child_history (child_id, valid_from, county_code, township_code, village_code, school_id, gender,
                           birth_date, left_behind_type, categories, priority, status)
SELECT id, created_at, county_code, township_code, village_code, school_id, gender, birth_date,
       left_behind_type, categories, priority, status
  FROM children;

-- Every value an expected count had, from when it was set: 建档率 as of a past date is
-- measured against the count in force then.
CREATE TABLE expected_count_history (
    kind            text NOT NULL,
    code            text NOT NULL,
    township_code   text NOT NULL,
    expected        integer NOT NULL,
    valid_from      timestamptz NOT NULL,
    valid_to        timestamptz
);
CREATE INDEX expected_count_history_key ON expected_count_history (kind, code) WHERE valid_to IS NULL;

CREATE FUNCTION expected_count_history_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE expected_count_history SET valid_to = NEW.updated_at
     WHERE kind = NEW.kind AND code = NEW.code AND valid_to IS NULL;
    INSERT INTO expected_count_history (kind, code, township_code, expected, valid_from)
    VALUES (NEW.kind, NEW.code, NEW.township_code, NEW.expected, NEW.updated_at);
    RETURN NULL;
END $$;
CREATE TRIGGER expected_count_history_keep AFTER INSERT OR UPDATE ON expected_counts
    FOR EACH ROW EXECUTE FUNCTION expected_count_history_keep();

INSERT INTO expected_count_history (kind, code, township_code, expected, valid_from)
SELECT kind, code, township_code, expected, updated_at FROM expected_counts;
