-- The division register (行政区划): China's five levels with their 12-digit statistical
-- codes and names, one set of rows per edition. `migrate` loads each edition the registry
-- ships (services/registry/data/divisions-<edition>.csv.gz) once; a new edition adds
-- rows beside the old ones, so the names of codes since retired stay known. Codes and
-- names are checked against the newest edition.

CREATE TABLE division_editions (
    edition     text PRIMARY KEY,         -- the statistics bureau's edition, e.g. 2023
    source      text NOT NULL,
    divisions   integer NOT NULL DEFAULT 0,
    loaded_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE divisions (
    edition     text NOT NULL REFERENCES division_editions (edition),
    -- "C" collation: a county's rows are read by a code range, in code order.
    code        text COLLATE "C" NOT NULL CHECK (code ~ '^\d{12}$'),
    level       smallint NOT NULL CHECK (level BETWEEN 1 AND 5),  -- province … village
    name        text NOT NULL,
    parent_code text COLLATE "C",
    PRIMARY KEY (edition, code)
);

-- An import's report keeps two lists apart: rows refused (kind 'error', with a reason to
-- fix) and rows whose child is already registered (kind 'existing': nothing to fix).
ALTER TABLE import_errors ADD COLUMN kind text NOT NULL DEFAULT 'error' CHECK (kind IN ('error', 'existing'));
CREATE INDEX import_errors_kind ON import_errors (job_id, kind, row_number);

-- How the upload's headers were read: header → column; the headers that name no column
-- (listed in the job's report: a column is never dropped without a word); and, for those,
-- the column their values look like (a proposal for the clerk, not applied).
ALTER TABLE import_jobs ADD COLUMN column_mapping jsonb NOT NULL DEFAULT '{}',
                        ADD COLUMN unmapped_columns text[] NOT NULL DEFAULT '{}',
                        ADD COLUMN suggested_columns jsonb NOT NULL DEFAULT '{}';
