-- An operator's decision on a dead letter, recorded: 'resolved' (its effect was brought
-- about another way) or 'discarded' (deliberately dropped), by whom and why.
ALTER TABLE dead_letters DROP CONSTRAINT dead_letters_status_check;
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_status_check
    CHECK (status IN ('open', 'replayed', 'resolved', 'discarded'));
ALTER TABLE dead_letters ADD COLUMN decided_by text, ADD COLUMN decision_reason text;

-- `shouhu prune` deletes by age; these keep its scans off the whole table.
CREATE INDEX outbox_published_at ON outbox (published_at) WHERE status = 'published';
CREATE INDEX inbox_processed_at ON inbox (processed_at);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
