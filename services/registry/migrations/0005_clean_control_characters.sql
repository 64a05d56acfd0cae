-- Control characters (C0, DEL, C1) are refused at the edge now (shared/clean_text.py); rows
-- stored before that are cleaned here, so that no export or screen trips over them again.
-- Only the columns kept in clear; encrypted values are cleaned when an export writes them
-- (sheet_writers). The audit trail (sensitive_reads) is append-only and stays as written.
-- PostgreSQL text cannot hold NUL, so the characters to drop are U+0001-U+001F and
-- U+007F-U+009F.
UPDATE children
   SET name        = regexp_replace(name, '[\x01-\x1f\x7f-\x9f]', '', 'g'),
       search_text = regexp_replace(search_text, '[\x01-\x1f\x7f-\x9f]', '', 'g'),
       ethnicity   = regexp_replace(ethnicity, '[\x01-\x1f\x7f-\x9f]', '', 'g'),
       school_id   = regexp_replace(school_id, '[\x01-\x1f\x7f-\x9f]', '', 'g'),
       grade       = regexp_replace(grade, '[\x01-\x1f\x7f-\x9f]', '', 'g'),
       class_name  = regexp_replace(class_name, '[\x01-\x1f\x7f-\x9f]', '', 'g')
 WHERE concat_ws(' ', name, search_text, ethnicity, school_id, grade, class_name) ~ '[\x01-\x1f\x7f-\x9f]';

-- A school id that becomes equal to another once cleaned keeps one row (the clean one if any).
DELETE FROM expected_counts dirty
 USING expected_counts twin
 WHERE dirty.kind = twin.kind
   AND dirty.ctid <> twin.ctid
   AND dirty.code ~ '[\x01-\x1f\x7f-\x9f]'
   AND regexp_replace(dirty.code, '[\x01-\x1f\x7f-\x9f]', '', 'g')
       = regexp_replace(twin.code, '[\x01-\x1f\x7f-\x9f]', '', 'g')
   AND (twin.code !~ '[\x01-\x1f\x7f-\x9f]' OR twin.ctid < dirty.ctid);

UPDATE expected_counts
   SET code = regexp_replace(code, '[\x01-\x1f\x7f-\x9f]', '', 'g')
 WHERE code ~ '[\x01-\x1f\x7f-\x9f]';
