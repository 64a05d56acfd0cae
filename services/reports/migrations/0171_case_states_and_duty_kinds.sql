-- Concern cases' states (visits' ConcernStateChanged: state and when, nothing else), so that
-- the work summary counts cases by the state they stood in at the end of a period.
CREATE TABLE concern_states (
    concern_id      uuid NOT NULL,
    state           text NOT NULL,
    changed_at      timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    PRIMARY KEY (concern_id, changed_at, state)
);
-- Duties by kind (plan reviews, follow-ups, kind-based talks) are counted from duties.
CREATE INDEX duties_kind_due ON duties (duty_kind, due_on);
