CREATE TABLE children (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    gender          text NOT NULL CHECK (gender IN ('male', 'female')),
    birth_date      date NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    categories      text[] NOT NULL DEFAULT '{}',
    priority        boolean NOT NULL DEFAULT false,
    status          text NOT NULL DEFAULT 'active',
    version         integer NOT NULL DEFAULT 1,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX children_township ON children (township_code);
