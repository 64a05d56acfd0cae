-- Group work recorded once: an activity (a 安全教育 lecture for a class, a 家长学校 session,
-- a summer camp) with the registry's children who attended and counts of everyone else;
-- the 留守儿童之家 register, whose sessions are activities held there.

-- The county's vocabulary of activity types. county_code '' holds the defaults; a county's
-- own row with the same code renames or switches one off, and a county may add its own.
CREATE TABLE activity_types (
    county_code     text NOT NULL CHECK (county_code = '' OR county_code ~ '^\d{12}$'),
    code            text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
    name            text NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    version         integer NOT NULL DEFAULT 1,
    updated_by      text NOT NULL DEFAULT 'migration',
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county_code, code)
);
INSERT INTO activity_types (county_code, code, name) VALUES
    ('', 'safety_education', '安全教育'),
    ('', 'psychological_counselling', '心理辅导'),
    ('', 'guardian_school', '家长学校'),
    ('', 'class_meeting', '主题班会'),
    ('', 'summer_camp', '夏令营'),
    ('', 'home_activity', '之家活动'),
    ('', 'festival_care', '节日关爱'),
    ('', 'tutoring', '学业辅导'),
    ('', 'other', '其他');

-- 留守儿童之家: where it is, when it opens, who runs it, what it has.
CREATE TABLE childrens_homes (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    place           text NOT NULL,
    opening_hours   text NOT NULL,
    staff_caregiver_ids uuid[] NOT NULL DEFAULT '{}',
    other_staff     text,
    equipment       text[] NOT NULL DEFAULT '{}',
    active          boolean NOT NULL DEFAULT true,
    version         integer NOT NULL DEFAULT 1,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX childrens_homes_township ON childrens_homes (township_code);

CREATE TABLE activities (
    id              uuid PRIMARY KEY,           -- the client's own id: a repeat is a no-op
    activity_type   text NOT NULL,
    title           text NOT NULL,
    held_on         date NOT NULL,
    place           text,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    home_id         uuid REFERENCES childrens_homes (id),
    host_caregiver_ids uuid[] NOT NULL DEFAULT '{}',
    other_hosts     text,
    other_children  integer NOT NULL DEFAULT 0 CHECK (other_children >= 0),
    guardians       integer NOT NULL DEFAULT 0 CHECK (guardians >= 0),
    others          integer NOT NULL DEFAULT 0 CHECK (others >= 0),
    attendee_count  integer NOT NULL DEFAULT 0,
    recorded_by     text NOT NULL,
    recorded_at     timestamptz NOT NULL
);
CREATE INDEX activities_township ON activities (township_code, held_on DESC);
CREATE INDEX activities_home ON activities (home_id, held_on DESC) WHERE home_id IS NOT NULL;

-- The registry's children who attended (ids only).
CREATE TABLE activity_attendees (
    activity_id     uuid NOT NULL REFERENCES activities (id),
    child_id        uuid NOT NULL REFERENCES children (id),
    PRIMARY KEY (activity_id, child_id)
);
CREATE INDEX activity_attendees_child ON activity_attendees (child_id);
