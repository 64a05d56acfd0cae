-- The wording of the work summary as a county writes it: sections (a heading and a
-- paragraph with {placeholders} for the figures), one template per county. None: the
-- built-in wording (services/reports/summary_template.py).
CREATE TABLE summary_templates (
    county_code  text PRIMARY KEY CHECK (county_code ~ '^\d{6}000000$'),
    sections     jsonb NOT NULL,
    updated_by   text NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    version      integer NOT NULL DEFAULT 1
);
