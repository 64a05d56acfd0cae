-- The school of the child a message is about, as it was when the message was made: the
-- delivery log and a caregiver's inbox are filtered by it, and a school's staff see their
-- school's messages only. Rows made before are given the child's school now.

ALTER TABLE notifications ADD COLUMN school_id text;

UPDATE notifications AS n SET school_id = c.school_id
  FROM children AS c
 WHERE c.id = n.child_id AND c.school_id IS NOT NULL AND n.school_id IS NULL;

CREATE INDEX notifications_school_created ON notifications (school_id, created_at DESC) WHERE school_id IS NOT NULL;
