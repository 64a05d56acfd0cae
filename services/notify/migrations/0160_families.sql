-- Families: messages to a child's guardians and migrant parents by SMS (issue #19, item 5).
-- A family member is the registry's guardian or parent entry (its entry id); notify keeps
-- no name and no phone of theirs: the phone is asked of the registry at send time.

-- Who is paired with whom, from pairing's events: a caregiver writes to the family of a
-- child they are paired with, and to no other.
CREATE TABLE family_pairings (
    child_id        uuid NOT NULL,
    caregiver_id    uuid NOT NULL,
    active          boolean NOT NULL,
    PRIMARY KEY (child_id, caregiver_id)
);

-- Consent to be sent messages, per family member: who recorded it, when, and how it was
-- given. Opting out keeps the row (opted_in false) with when and how, so the history of a
-- consent is never lost; messages go only to members with opted_in true.
CREATE TABLE family_consents (
    child_id        uuid NOT NULL,
    member_id       uuid NOT NULL,                 -- the registry's guardian or parent entry id
    member_kind     text NOT NULL CHECK (member_kind IN ('guardian', 'parent')),
    opted_in        boolean NOT NULL,
    how             text NOT NULL CHECK (how IN ('in_person', 'by_phone', 'in_writing', 'by_reply')),
    recorded_by     text NOT NULL,                 -- the token's subject (a caregiver or staff)
    recorded_at     timestamptz NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    PRIMARY KEY (child_id, member_id)
);

-- Notes written by a caregiver to a family member (家书短信), and the notices sent to them.
-- The text is encrypted (it says how a child is doing); it is read back only when it is
-- sent and when the caregiver or staff look at the family's messages.
CREATE TABLE family_notes (
    id              uuid PRIMARY KEY,
    child_id        uuid NOT NULL,
    member_id       uuid NOT NULL,
    member_kind     text NOT NULL CHECK (member_kind IN ('guardian', 'parent')),
    caregiver_id    uuid,
    written_by      text NOT NULL,
    body_enc        text NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX family_notes_child ON family_notes (child_id, created_at DESC);

-- Replies a provider posted back (the HTTP provider's inbound webhook), tied to the message
-- they answer. The text is encrypted like the note's.
CREATE TABLE family_replies (
    id              uuid PRIMARY KEY,
    notification_id uuid NOT NULL,
    child_id        uuid NOT NULL,
    member_id       uuid NOT NULL,
    text_enc        text NOT NULL,
    received_at     timestamptz NOT NULL,
    opted_out       boolean NOT NULL DEFAULT false  -- the reply was an opt-out word (退订, TD)
);
CREATE INDEX family_replies_child ON family_replies (child_id, received_at DESC);

-- The words a note may not contain, per county ('' = the default list, kept in
-- services/notify/domain_family.py and used while a county has saved none of its own).
CREATE TABLE family_words (
    county_code     text PRIMARY KEY,
    words           text[] NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    updated_at      timestamptz NOT NULL
);

