-- A follow-up with a due date written on a contact ("联系学校申请助学金，12月10日前") is its
-- caregiver's duty: reminded before the date and escalated up the ladder after it, like
-- every duty, until the caregiver marks it done.
CREATE TABLE follow_ups (
    contact_id      uuid NOT NULL REFERENCES contacts (id),
    position        smallint NOT NULL,          -- its place in the contact's follow_ups list
    due_on          date NOT NULL,
    duty_id         uuid NOT NULL UNIQUE,
    done_at         timestamptz,
    done_by         text,
    PRIMARY KEY (contact_id, position)
);

-- Duties by policy and plan reviews stay one per pairing, kind and window; follow-ups are
-- one per follow-up, and two written the same day share their window's start.
ALTER TABLE duties DROP CONSTRAINT duties_pairing_id_duty_kind_period_start_key;
CREATE UNIQUE INDEX duties_one_per_window ON duties (pairing_id, duty_kind, period_start)
    WHERE duty_kind <> 'follow_up';
