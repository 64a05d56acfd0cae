-- change_history and read_audit, partitioned by month of their time column.
--
-- Why these two: they are the only tables in every database that grow with every write
-- (change_history: one row per insert statement, update and delete of a record people
-- write) or every clear read (read_audit), forever, and are never updated. A county's year
-- of contacts, duties and notifications is millions of rows in each; by month, a time-window
-- query reads only its months, an index stays the size of a month, and a partition past a
-- county's retention can be detached or dropped whole (no DELETE, which the append-only
-- trigger forbids anyway). Lookups by record (change_history_record, read_audit_records)
-- still use an index on every partition.
--
-- The primary key must include the partition key: (id, changed_at) / (id, read_at). The ids
-- still come from the same sequences, so they stay unique and increasing (the history API
-- pages by id). Partitions are named <table>_YYYYMM, month boundaries in UTC; a default
-- partition takes any row whose month has no partition yet (a worker that has not run its
-- housekeeping), so a write never fails for want of one. The housekeeping of every worker
-- creates the coming months ahead (shared/partitions.py, with shouhu_ensure_month below).
--
-- Conversion: the existing table is renamed, the partitioned one created like it, the rows
-- copied in one INSERT ... SELECT inside the migration's transaction (a few seconds per
-- million rows; writers wait on the lock meanwhile), the old table dropped.

CREATE FUNCTION shouhu_ensure_month(parent text, month date) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    first_day date := date_trunc('month', month)::date;
    part text := format('%s_%s', parent, to_char(first_day, 'YYYYMM'));
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, parent,
                   first_day::text || ' 00:00:00+00', (first_day + interval '1 month')::date::text || ' 00:00:00+00');
    RETURN true;
EXCEPTION
    WHEN duplicate_table THEN
        RETURN false;  -- another worker created it meanwhile
    WHEN check_violation THEN
        -- the default partition already holds rows of that month (no partition existed when
        -- they were written): they stay there, readable as before; the month is left to it.
        RAISE WARNING 'rows of % are in %_default; month partition % not created', first_day, parent, part;
        RETURN false;
END $$;

CREATE FUNCTION shouhu_partition_by_month(parent text, time_column text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    old_name text := parent || '_unpartitioned';
    first_month date;
    month date;
    idx record;
BEGIN
    EXECUTE format('ALTER TABLE %I RENAME TO %I', parent, old_name);
    FOR idx IN SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = old_name::regclass LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', idx.name, 'old_' || idx.name);
    END LOOP;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS, PRIMARY KEY (id, %I))'
                   ' PARTITION BY RANGE (%I)', parent, old_name, time_column, time_column);
    EXECUTE format('ALTER SEQUENCE %I OWNED BY %I.id', parent || '_id_seq', parent);
    EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', parent || '_default', parent);
    EXECUTE format('SELECT date_trunc(''month'', min(%I) AT TIME ZONE ''UTC'')::date FROM %I', time_column, old_name)
       INTO first_month;
    month := least(coalesce(first_month, current_date), date_trunc('month', now() AT TIME ZONE 'UTC')::date);
    WHILE month <= (now() AT TIME ZONE 'UTC')::date + interval '3 months' LOOP
        PERFORM shouhu_ensure_month(parent, month);
        month := (month + interval '1 month')::date;
    END LOOP;
    EXECUTE format('INSERT INTO %I SELECT * FROM %I', parent, old_name);
    EXECUTE format('DROP TABLE %I', old_name);
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION shouhu_append_only()',
                   parent || '_append_only', parent);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION shouhu_append_only()',
                   parent || '_no_truncate', parent);
END $$;

SELECT shouhu_partition_by_month('change_history', 'changed_at');
CREATE INDEX change_history_record ON change_history (record_kind, record_id, id);
CREATE INDEX change_history_time ON change_history (changed_at);

SELECT shouhu_partition_by_month('read_audit', 'read_at');
CREATE INDEX read_audit_time ON read_audit (read_at);
CREATE INDEX read_audit_records ON read_audit USING gin (record_ids);
