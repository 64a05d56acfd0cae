-- The registry's own projection of pairing's events (PairingCreated, PairingEnded): which
-- caregiver is paired with which child, and until when. It decides what a caregiver may
-- read here (their children's cards and growth notes); no call goes to the pairing service.
-- A row may be created by its end first (events replayed out of order): started_on is then
-- NULL until the start arrives, and the pairing gives no access while it is ended anyway.

CREATE TABLE caregiver_pairings (
    pairing_id    uuid PRIMARY KEY,
    child_id      uuid NOT NULL,
    caregiver_id  uuid NOT NULL,
    role          text NOT NULL CHECK (role IN ('lead', 'helper')),
    started_on    date,
    ended_on      date,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- "Is this caregiver paired with this child now?" and "which children are mine?"
CREATE INDEX caregiver_pairings_current ON caregiver_pairings (caregiver_id, child_id)
    WHERE ended_on IS NULL AND started_on IS NOT NULL;
