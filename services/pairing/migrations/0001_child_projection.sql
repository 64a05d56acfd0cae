-- The children pairing may pair: a local projection of the registry's events, holding
-- only what pairing needs (no name, no ID number, no contact details).
CREATE TABLE children (
    id              uuid PRIMARY KEY,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    priority        boolean NOT NULL,
    age_band        text NOT NULL,
    status          text NOT NULL,
    record_version  integer NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX children_township_status ON children (township_code, status);
