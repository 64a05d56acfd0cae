-- Duty rules by the caregiver's kind (an 爱心妈妈 talks with her child every week) and by
-- the role in the pairing (a helper may owe duties too), beside the rules by place and
-- priority; and the talk with the guardian as a duty kind.

-- Caregivers' kinds (pairing's CaregiverEnrolled / CaregiverUpdated; newest version wins).
CREATE TABLE caregivers (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL,
    record_version  integer NOT NULL
);

-- caregiver_kind '' applies to every kind; role 'lead' rows are the rules there were before.
ALTER TABLE duty_policies
    ADD COLUMN caregiver_kind text NOT NULL DEFAULT '' CHECK (caregiver_kind = '' OR caregiver_kind ~ '^[a-z_]{2,40}$'),
    ADD COLUMN role text NOT NULL DEFAULT 'lead' CHECK (role IN ('lead', 'helper'));
ALTER TABLE duty_policies DROP CONSTRAINT duty_policies_pkey;
ALTER TABLE duty_policies ADD PRIMARY KEY (scope_code, audience, caregiver_kind, role, duty_kind);

-- A helper's duty is met by that caregiver's own contacts (the lead's visit does not
-- discharge the 爱心妈妈's weekly talk); a lead's by any contact with the child.
ALTER TABLE duties ADD COLUMN own_contacts_only boolean NOT NULL DEFAULT false;

-- Helpers' pairings are derived and extended too.
DROP INDEX pairings_to_extend;
CREATE INDEX pairings_to_extend ON pairings (derived_as_of) WHERE ended_on IS NULL;
