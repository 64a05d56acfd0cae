-- The school register (学校名录): each county's schools, kept by county staff. Once a
-- county has entered its schools, a child's school_id must name one of them, and sheets
-- may name a school by its name or its 学校标识码 as well as by its id.

CREATE TABLE schools (
    id             text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    county_code    text NOT NULL CHECK (county_code ~ '^\d{6}000000$'),
    township_code  text NOT NULL CHECK (township_code ~ '^\d{9}000$'),
    name           text NOT NULL,
    code           text UNIQUE CHECK (code ~ '^\d{10}$'),   -- 学校标识码, where known
    stage          text NOT NULL,                            -- vocabulary school_stage
    head           text,                                     -- 校长 (the head's name)
    version        integer NOT NULL DEFAULT 1,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (county_code, name)
);
CREATE INDEX schools_township ON schools (township_code, name);
