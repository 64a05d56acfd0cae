-- Children visits may log contacts for: a projection of the registry's events.
CREATE TABLE children (
    id              uuid PRIMARY KEY,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    status          text NOT NULL,
    record_version  integer NOT NULL
);

CREATE TABLE contacts (
    id              uuid PRIMARY KEY,           -- the client's own id: a repeat is a no-op
    child_id        uuid NOT NULL REFERENCES children (id),
    caregiver_id    uuid NOT NULL,
    kind            text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    logged_by       text NOT NULL,
    logged_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_child ON contacts (child_id, occurred_at DESC);
CREATE INDEX contacts_caregiver ON contacts (caregiver_id, occurred_at DESC);
