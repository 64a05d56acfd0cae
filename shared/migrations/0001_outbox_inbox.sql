-- The plumbing every service has: the transactional outbox, the consumer inbox,
-- dead letters, idempotency keys and the progress a worker reports for /readyz.

CREATE TABLE outbox (
    id            bigserial PRIMARY KEY,
    event_id      uuid NOT NULL UNIQUE,
    topic         text NOT NULL,
    message_key   text NOT NULL,
    event_type    text NOT NULL,
    headers       jsonb NOT NULL,
    payload       jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'published')),
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at  timestamptz
);
-- The relay claims by status; a partial index keeps that scan small however long the
-- published history grows.
CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending';

-- Wake the relay at commit: NOTIFY inside a transaction is delivered only when it commits.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_pending', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

CREATE TABLE inbox (
    consumer      text NOT NULL,
    event_id      uuid NOT NULL,
    event_type    text NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- An event that failed too often ('poison') or whose dependency has not arrived yet
-- ('waiting'). Holds the whole record, so it can be replayed as it came.
CREATE TABLE dead_letters (
    id            bigserial PRIMARY KEY,
    consumer      text NOT NULL,
    event_id      uuid,
    event_type    text,
    topic         text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset  bigint NOT NULL,
    message_key   text,
    headers       jsonb NOT NULL,
    payload       bytea NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('poison', 'waiting')),
    reason        text NOT NULL,
    attempts      integer NOT NULL,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'replayed', 'resolved')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz,
    resolved_at   timestamptz,
    UNIQUE (consumer, topic, kafka_partition, kafka_offset)
);
CREATE INDEX dead_letters_waiting ON dead_letters (next_attempt_at)
    WHERE status = 'open' AND kind = 'waiting';

-- Create endpoints honour Idempotency-Key: the first response is stored and replayed.
CREATE TABLE idempotency_keys (
    principal     text NOT NULL,
    idem_key      text NOT NULL,
    request_hash  text NOT NULL,
    status_code   integer NOT NULL,
    response      jsonb NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, idem_key)
);

-- Written by the worker after each committed batch; read by /readyz and the CLI.
CREATE TABLE consumer_progress (
    consumer        text NOT NULL,
    topic           text NOT NULL,
    kafka_partition integer NOT NULL,
    committed_offset bigint NOT NULL,
    end_offset      bigint NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, kafka_partition)
);
