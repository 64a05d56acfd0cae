-- Caregivers' notes to families sent by SMS (notify's FamilyNoteSent): ids, place codes, the
-- kind of family member and when; never the words, a number or a name.
CREATE TABLE family_notes_sent (
    letter_id       uuid PRIMARY KEY,
    child_id        uuid NOT NULL,
    caregiver_id    uuid,
    member_kind     text NOT NULL,
    sent_at         timestamptz NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text
);
CREATE INDEX family_notes_sent_at ON family_notes_sent (sent_at);
