-- change_history at a county's or a province's scale.
--
-- 1. A record whose place is another table's row (a pairing's child, a photo's contact) found
--    that row with `t.id::text = $1`, which no index serves: every such write read the whole
--    other table (a county's 700,000 contacts for one photo). The row is now found by its
--    own type, through the primary key.
-- 2. One trigger call per inserted row cost more than the insert itself on a sheet of
--    100,000 children (a plpgsql call, the row as jsonb, its keys compared one by one). An
--    insert's fields are the table's columns whatever the row, so inserts are now written by
--    one statement-level trigger per statement, from its transition table; updates and
--    deletes keep the row-level trigger, which has the old row to compare with.
--
-- Services attach both with shouhu_track_changes(table, kind, place, key columns...), and
-- shouhu_track_changes_by_statement() converts the row-level insert triggers a database
-- already has (each service calls it from a migration of its own: shared migrations run
-- before the service's, when its tables do not exist yet).

-- The lookup of a record's place through another table, by that table's key type.
CREATE FUNCTION shouhu_place_of(place_ref text, source_row anyelement) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    place_table text := split_part(place_ref, '.', 1);
    place_column text := split_part(place_ref, '.', 2);
    id_type text;
    place text;
BEGIN
    SELECT format_type(atttypid, atttypmod) INTO id_type
      FROM pg_attribute WHERE attrelid = place_table::regclass AND attname = 'id';
    EXECUTE format('SELECT shouhu_place(to_jsonb(t)) FROM %I t WHERE t.id = (($1).%I)::text::%s',
                   place_table, place_column, id_type)
       INTO place USING source_row;
    RETURN place;
END $$;

CREATE OR REPLACE FUNCTION shouhu_record_change() RETURNS trigger LANGUAGE plpgsql AS $$
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
    ELSIF TG_OP = 'DELETE' THEN
        place := shouhu_place_of(TG_ARGV[1], OLD);
    ELSE
        place := shouhu_place_of(TG_ARGV[1], NEW);
    END IF;
    PERFORM shouhu_write_change(TG_ARGV[0], key, lower(TG_OP), changed, place);
    RETURN NULL;
END $$;

-- AFTER INSERT ... REFERENCING NEW TABLE AS inserted_rows FOR EACH STATEMENT, with the same
-- arguments as shouhu_record_change: one INSERT ... SELECT for the whole statement, the same
-- rows that the row-level trigger wrote (fields: every column but the bookkeeping ones).
CREATE FUNCTION shouhu_record_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor jsonb := nullif(current_setting('shouhu.actor', true), '')::jsonb;
    columns text[];
    key_sql text := '';
    place_sql text := 'NULL';
    place_table text;
    id_type text;
    i int;
BEGIN
    SELECT coalesce(array_agg(attname::text ORDER BY attname::text), '{}') INTO columns
      FROM pg_attribute
     WHERE attrelid = TG_RELID AND attnum > 0 AND NOT attisdropped
       AND attname NOT IN ('version', 'updated_at', 'heartbeat_at');
    FOR i IN 2 .. TG_NARGS - 1 LOOP
        key_sql := key_sql || CASE WHEN i > 2 THEN ' || '':'' || ' ELSE '' END
                   || format('coalesce(to_jsonb(n.%I) #>> ''{}'', '''')', TG_ARGV[i]);
    END LOOP;
    IF key_sql = '' THEN
        key_sql := '''''';
    END IF;
    IF TG_ARGV[1] = '' THEN
        -- shouhu_place's order, over the columns this table has.
        SELECT coalesce('coalesce(' || string_agg(format('nullif(to_jsonb(n.%I) #>> ''{}'', '''')', name), ', '
                                                  ORDER BY rank) || ')', 'NULL')
          INTO place_sql
          FROM unnest(ARRAY['village_code', 'township_code', 'county_code', 'jurisdiction', 'scope', 'scope_code'])
               WITH ORDINALITY AS place_columns(name, rank)
         WHERE name = ANY (columns);
    ELSE
        place_table := split_part(TG_ARGV[1], '.', 1);
        SELECT format_type(atttypid, atttypmod) INTO id_type
          FROM pg_attribute WHERE attrelid = place_table::regclass AND attname = 'id';
        place_sql := format('(SELECT shouhu_place(to_jsonb(t)) FROM %I t WHERE t.id = (n.%I)::text::%s)',
                            place_table, split_part(TG_ARGV[1], '.', 2), id_type);
    END IF;
    EXECUTE format(
        'INSERT INTO change_history (record_kind, record_id, operation, fields, jurisdiction, actor_subject,'
        '                            actor_roles, actor_jurisdiction, request_id)'
        ' SELECT $1, %s, ''insert'', $2, %s, $3, $4, $5, $6 FROM inserted_rows n', key_sql, place_sql)
    USING TG_ARGV[0], columns, coalesce(actor ->> 'subject', 'system'),
          CASE WHEN actor IS NULL THEN '{system}'::text[]
               ELSE ARRAY(SELECT jsonb_array_elements_text(actor -> 'roles')) END,
          actor ->> 'jurisdiction', actor ->> 'request_id';
    RETURN NULL;
END $$;

-- Attach change tracking to a table: inserts by statement, updates and deletes by row.
CREATE FUNCTION shouhu_track_changes(target regclass, kind text, place text, VARIADIC key_columns text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    arguments text := array_to_string(ARRAY[quote_literal(kind), quote_literal(place)]
                                      || ARRAY(SELECT quote_literal(k) FROM unnest(key_columns) AS k), ', ');
    table_name text := (SELECT relname FROM pg_class WHERE oid = target);
BEGIN
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE OR DELETE ON %s FOR EACH ROW '
                   'EXECUTE FUNCTION shouhu_record_change(%s)', table_name || '_history', target, arguments);
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS inserted_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION shouhu_record_inserts(%s)',
                   table_name || '_history_inserts', target, arguments);
END $$;

-- Every row-level trigger of this database that records inserts through shouhu_record_change
-- becomes a row-level trigger for its other events plus a statement-level one for inserts.
CREATE FUNCTION shouhu_track_changes_by_statement() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    found record;
    definition text;
    arguments text;
    other_events text;
    converted integer := 0;
BEGIN
    FOR found IN
        SELECT t.oid, t.tgname, t.tgrelid::regclass AS target
          FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
         WHERE p.proname = 'shouhu_record_change' AND NOT t.tgisinternal
           AND (t.tgtype & 4) <> 0   -- TRIGGER_TYPE_INSERT
           AND (t.tgtype & 1) <> 0   -- TRIGGER_TYPE_ROW
    LOOP
        definition := pg_get_triggerdef(found.oid);
        arguments := substring(definition FROM 'shouhu_record_change\((.*)\)$');
        other_events := substring(definition FROM ' AFTER (.*) ON ');
        other_events := regexp_replace(regexp_replace(other_events, 'INSERT( OR )?', ''), ' OR $', '');
        EXECUTE format('DROP TRIGGER %I ON %s', found.tgname, found.target);
        IF other_events <> '' THEN
            EXECUTE format('CREATE TRIGGER %I AFTER %s ON %s FOR EACH ROW EXECUTE FUNCTION shouhu_record_change(%s)',
                           found.tgname, other_events, found.target, arguments);
        END IF;
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS inserted_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION shouhu_record_inserts(%s)',
                       found.tgname || '_inserts', found.target, arguments);
        converted := converted + 1;
    END LOOP;
    RETURN converted;
END $$;
