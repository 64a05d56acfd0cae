-- The aid programme (资助项目) a support record was given under (pairing's SupportRecorded
-- programme_id; NULL for a record given outside any programme, and for those published
-- before the field existed). Its name stays in pairing and is read when a ledger is made.
ALTER TABLE support_given ADD COLUMN programme_id uuid;
CREATE INDEX support_given_programme ON support_given (programme_id, given_on) WHERE programme_id IS NOT NULL;
