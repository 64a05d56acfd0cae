-- Inserts into the tables this service tracks are recorded in change_history by one trigger
-- per statement instead of one per row (shared migration 0021 says why).
SELECT shouhu_track_changes_by_statement();
