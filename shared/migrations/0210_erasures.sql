-- What each service erased when a child's retention period ended (ChildErased, published by
-- the registry's retention job): one row per child, the action and how many rows of each
-- table were cleared or deleted (counts only, never a value). The same table in every
-- service's database, so that "was this child erased everywhere?" is one question per
-- service. Append-only, like the other trails: an erasure is never undone or forgotten.
CREATE TABLE erasures (
    child_id    uuid PRIMARY KEY,
    action      text NOT NULL CHECK (action IN ('purge', 'anonymise')),
    counts      jsonb NOT NULL DEFAULT '{}',
    erased_by   text NOT NULL,
    erased_at   timestamptz NOT NULL
);
CREATE INDEX erasures_time ON erasures (erased_at);
CREATE TRIGGER erasures_append_only BEFORE UPDATE OR DELETE ON erasures
    FOR EACH ROW EXECUTE FUNCTION shouhu_append_only();
CREATE TRIGGER erasures_no_truncate BEFORE TRUNCATE ON erasures
    FOR EACH STATEMENT EXECUTE FUNCTION shouhu_append_only();
