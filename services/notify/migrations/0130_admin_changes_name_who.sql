-- The console's administration lists say who last changed a rule, a recipient or a shift
-- (as the duty policies do), and a shift is now edited in place: it needs a version for
-- If-Match like every other record people change.
ALTER TABLE routing_rules ADD COLUMN updated_by text NOT NULL DEFAULT 'migration';
ALTER TABLE staff_recipients ADD COLUMN updated_by text NOT NULL DEFAULT 'migration';
ALTER TABLE duty_roster
    ADD COLUMN version integer NOT NULL DEFAULT 1,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_by text NOT NULL DEFAULT 'migration';
