-- Deliberately without a unique key: if an event were applied twice, it would show here.
CREATE TABLE effects (
    event_id  uuid NOT NULL,
    child_id  uuid NOT NULL,
    kind      text NOT NULL
);
