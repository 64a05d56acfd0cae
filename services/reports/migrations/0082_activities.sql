-- Group activities (visits' ActivityHeld): type, day, place codes and how many came.
CREATE TABLE activities (
    activity_id         uuid PRIMARY KEY,
    activity_type       text NOT NULL,
    held_on             date NOT NULL,
    recorded_at         timestamptz NOT NULL,
    county_code         text NOT NULL,
    township_code       text NOT NULL,
    village_code        text,
    school_id           text,
    home_id             uuid,
    registered_children integer NOT NULL,
    other_children      integer NOT NULL,
    family_members      integer NOT NULL,
    others              integer NOT NULL
);
CREATE INDEX activities_held_on ON activities (held_on);
