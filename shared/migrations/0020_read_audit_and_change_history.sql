-- Two append-only trails, the same in every service's database.
--
-- read_audit: every read that showed sensitive fields in clear (shared/purpose.py decides
-- when one may): who (subject and roles; for a service-to-service call, the calling service),
-- when, which records, which fields, the stated purpose and the request's id. Never a value.
CREATE TABLE read_audit (
    id          bigserial PRIMARY KEY,
    subject     text NOT NULL,
    roles       text[] NOT NULL,
    action      text NOT NULL,
    record_kind text NOT NULL,
    record_ids  uuid[] NOT NULL,
    fields      text[] NOT NULL,
    purpose     text NOT NULL,
    request_id  text,
    read_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX read_audit_time ON read_audit (read_at);
CREATE INDEX read_audit_records ON read_audit USING gin (record_ids);

-- change_history: every insert, update and delete of a record people write (children,
-- pairings, caregivers, contacts, concerns, policies, routing rules, recipients, imports…),
-- with the actor the API put in the session setting shouhu.actor (shared/request_context.py)
-- or 'system' for a worker's change, the names of the fields that changed and never their
-- values (a value may be personal or encrypted: the history shows that it changed, not what to).
CREATE TABLE change_history (
    id            bigserial PRIMARY KEY,
    record_kind   text NOT NULL,
    record_id     text NOT NULL,
    operation     text NOT NULL CHECK (operation IN ('insert', 'update', 'delete')),
    fields        text[] NOT NULL,
    jurisdiction  text,                 -- the record's deepest division code: who may read this row
    actor_subject text NOT NULL,
    actor_roles   text[] NOT NULL,
    actor_jurisdiction text,
    request_id    text,
    changed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX change_history_record ON change_history (record_kind, record_id, id);
CREATE INDEX change_history_time ON change_history (changed_at);

CREATE FUNCTION shouhu_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER read_audit_append_only BEFORE UPDATE OR DELETE ON read_audit
    FOR EACH ROW EXECUTE FUNCTION shouhu_append_only();
CREATE TRIGGER read_audit_no_truncate BEFORE TRUNCATE ON read_audit
    FOR EACH STATEMENT EXECUTE FUNCTION shouhu_append_only();
CREATE TRIGGER change_history_append_only BEFORE UPDATE OR DELETE ON change_history
    FOR EACH ROW EXECUTE FUNCTION shouhu_append_only();
CREATE TRIGGER change_history_no_truncate BEFORE TRUNCATE ON change_history
    FOR EACH STATEMENT EXECUTE FUNCTION shouhu_append_only();

-- Attached by each service to its tables:
--   AFTER INSERT OR UPDATE OR DELETE ON <table> FOR EACH ROW EXECUTE FUNCTION
--   shouhu_record_change('<record kind>', '<place>', '<key column>'[, '<key column>'...])
-- <place> is '' when the row carries its own division codes (village_code, township_code,
-- county_code, jurisdiction, scope or scope_code), else '<table>.<column>': the row of
-- <table> whose id is this row's <column> (a pairing's child) says where the record lies.
-- Key columns are joined by ':'. Columns whose value did not change are left out of
-- `fields`; so is bookkeeping (version, updated_at, heartbeat_at), and an update that changed
-- nothing else is not recorded.
CREATE FUNCTION shouhu_place(row_data jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(nullif(row_data ->> 'village_code', ''), nullif(row_data ->> 'township_code', ''),
                    nullif(row_data ->> 'county_code', ''), nullif(row_data ->> 'jurisdiction', ''),
                    nullif(row_data ->> 'scope', ''), nullif(row_data ->> 'scope_code', ''))
$$;

-- One change_history row with the actor of the session (or 'system'): what the generic
-- trigger below writes, and what a table-specific trigger calls when the generic one would
-- have to convert large columns (an import's uploaded file) to compare them.
CREATE FUNCTION shouhu_write_change(kind text, key text, operation text, changed text[], place text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    actor jsonb := nullif(current_setting('shouhu.actor', true), '')::jsonb;
BEGIN
    INSERT INTO change_history (record_kind, record_id, operation, fields, jurisdiction,
                                actor_subject, actor_roles, actor_jurisdiction, request_id)
    VALUES (kind, key, operation, changed, place,
            coalesce(actor ->> 'subject', 'system'),
            CASE WHEN actor IS NULL THEN '{system}'
                 ELSE ARRAY(SELECT jsonb_array_elements_text(actor -> 'roles')) END,
            actor ->> 'jurisdiction', actor ->> 'request_id');
END $$;

CREATE FUNCTION shouhu_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    new_row jsonb := CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END;
    old_row jsonb := CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END;
    row_now jsonb := coalesce(new_row, old_row);
    changed text[];
    place text;
    key text := '';
    i int;
BEGIN
    SELECT coalesce(array_agg(k ORDER BY k), '{}') INTO changed
      FROM jsonb_object_keys(row_now) AS k
     WHERE k NOT IN ('version', 'updated_at', 'heartbeat_at')
       AND (old_row IS NULL OR new_row IS NULL OR old_row -> k IS DISTINCT FROM new_row -> k);
    IF TG_OP = 'UPDATE' AND cardinality(changed) = 0 THEN
        RETURN NULL;
    END IF;
    FOR i IN 2 .. TG_NARGS - 1 LOOP
        key := key || CASE WHEN i > 2 THEN ':' ELSE '' END || coalesce(row_now ->> TG_ARGV[i], '');
    END LOOP;
    IF TG_ARGV[1] = '' THEN
        place := shouhu_place(row_now);
    ELSE
        EXECUTE format('SELECT shouhu_place(to_jsonb(t)) FROM %I t WHERE t.id::text = $1',
                       split_part(TG_ARGV[1], '.', 1))
           INTO place USING row_now ->> split_part(TG_ARGV[1], '.', 2);
    END IF;
    PERFORM shouhu_write_change(TG_ARGV[0], key, lower(TG_OP), changed, place);
    RETURN NULL;
END $$;
