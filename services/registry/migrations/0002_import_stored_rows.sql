-- The upload's rows as the api read them (JSON lines, stored_rows.encode_stored_rows), so that
-- the import job does not read the file a second time. Dropped with `content` when the job
-- finishes. NULL for jobs stored before this column existed: the worker reads their file.
ALTER TABLE import_jobs ADD COLUMN stored_rows bytea;
