-- Updates by sheet (动态管理): a re-uploaded sheet's rows whose ID is registered are
-- compared with the record. Same child (name and birth date agree) with different values:
-- a proposed change, applied only when a clerk confirms it. The ID of another child (name
-- or birth date differ): a conflict in the report (kind 'conflict'), never "existing".

ALTER TABLE import_errors DROP CONSTRAINT import_errors_kind_check;
ALTER TABLE import_errors ADD CONSTRAINT import_errors_kind_check
    CHECK (kind IN ('error', 'existing', 'conflict'));

CREATE TABLE import_changes (
    id            uuid PRIMARY KEY,
    job_id        uuid NOT NULL REFERENCES import_jobs (id),
    row_number    integer NOT NULL,
    child_id      uuid NOT NULL REFERENCES children (id),
    -- the record's version the change was read against: applied only if it is still that
    base_version  integer NOT NULL,
    -- the sheet's new values (JSON: field → value), encrypted, bound to "import_changes.changes:<id>"
    changes_enc   text NOT NULL,
    fields        text[] NOT NULL,       -- which fields change (names only, no values)
    status        text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'applied', 'stale', 'refused')),
    reason        text,                   -- why stale or refused
    decided_by    text,
    decided_at    timestamptz,
    UNIQUE (job_id, row_number)
);
CREATE INDEX import_changes_child ON import_changes (child_id);

ALTER TABLE import_jobs ADD COLUMN rows_changed integer NOT NULL DEFAULT 0,
                        ADD COLUMN rows_conflicting integer NOT NULL DEFAULT 0;

-- The end-of-year grade promotion, once per school year and place.
CREATE TABLE grade_promotions (
    scope         text NOT NULL,           -- the township, school or county promoted
    school_year   integer NOT NULL,
    promoted      integer NOT NULL,
    promoted_by   text NOT NULL,
    promoted_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, school_year)
);
