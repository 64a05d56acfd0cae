-- Retention of closed and aged-out children's records (PIPL: personal data is deleted once
-- its purpose is fulfilled). The county sets the policy (one row; no row, or a NULL period,
-- keeps records for ever, as before); the registry worker's retention job
-- (services/registry/retention.py) erases each record whose period ended, keeps a tombstone
-- of non-personal facts for statistics, writes the shared `erasures` trail and publishes
-- ChildErased, on which every other service clears what it holds about the child.
CREATE TABLE retention_policy (
    id                    boolean PRIMARY KEY DEFAULT true CHECK (id),
    -- years after the record was closed (any reason) ...
    years_after_closing   integer CHECK (years_after_closing BETWEEN 0 AND 100),
    -- ... or after the child turned 18 (aged out), whatever the record's status
    years_after_adulthood integer CHECK (years_after_adulthood BETWEEN 0 AND 100),
    action                text NOT NULL DEFAULT 'anonymise' CHECK (action IN ('purge', 'anonymise')),
    scope                 text NOT NULL,        -- who set it: their jurisdiction (the history's place)
    version               integer NOT NULL DEFAULT 1,
    updated_by            text NOT NULL,
    updated_at            timestamptz NOT NULL
);
SELECT shouhu_track_changes('retention_policy', 'retention_policy', '', 'id');

-- Set when the record's personal fields were cleared (anonymise); an erased record is read-only.
ALTER TABLE children ADD COLUMN erased_at timestamptz;

-- What statistics still need of an erased child: place down to the township, school,
-- gender, birth year, public categories, left-behind type, status and why it ended.
-- No name, ID, address, village, birthday or sensitive category.
CREATE TABLE child_tombstones (
    child_id          uuid PRIMARY KEY,
    county_code       text NOT NULL,
    township_code     text NOT NULL,
    school_id         text,
    gender            text NOT NULL,
    birth_year        integer NOT NULL,
    categories        text[] NOT NULL,
    left_behind_type  text,
    status            text NOT NULL,
    close_reason      text,
    status_changed_at timestamptz NOT NULL,
    registered_at     timestamptz NOT NULL,
    basis             text NOT NULL CHECK (basis IN ('closed', 'adulthood')),
    action            text NOT NULL CHECK (action IN ('purge', 'anonymise')),
    erased_at         timestamptz NOT NULL
);
CREATE INDEX child_tombstones_township ON child_tombstones (township_code);
