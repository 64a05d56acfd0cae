-- Column mapping: an upload whose headers the registry does not all know waits
-- ('awaiting_mapping', never claimed by a worker) until a clerk confirms or edits the
-- proposed mapping; the confirmed mapping is kept per county and applied to its next uploads.

ALTER TABLE import_jobs DROP CONSTRAINT import_jobs_status_check;
ALTER TABLE import_jobs ADD CONSTRAINT import_jobs_status_check
    CHECK (status IN ('awaiting_mapping', 'pending', 'running', 'done', 'failed'));
ALTER TABLE import_jobs ADD COLUMN headers text[] NOT NULL DEFAULT '{}';

CREATE TABLE column_mappings (
    county      text NOT NULL CHECK (county ~ '^\d{6}$'),
    header      text NOT NULL,            -- as the county's sheets write it (first line)
    column_key  text NOT NULL,            -- the template column; '' for "not imported"
    saved_by    text NOT NULL,
    saved_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (county, header)
);
