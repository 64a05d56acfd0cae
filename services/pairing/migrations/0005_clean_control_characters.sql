-- Control characters (C0, DEL, C1) are refused at the edge now (shared/clean_text.py); rows
-- stored before that are cleaned here. Only the columns kept in clear that people typed;
-- PostgreSQL text cannot hold NUL, so the characters to drop are U+0001-U+001F and
-- U+007F-U+009F. The read audit (contact_point_reads) is append-only and stays as written.
UPDATE caregivers
   SET school_id = regexp_replace(school_id, '[\x01-\x1f\x7f-\x9f]', '', 'g')
 WHERE school_id ~ '[\x01-\x1f\x7f-\x9f]';

UPDATE support_records
   SET item = regexp_replace(item, '[\x01-\x1f\x7f-\x9f]', '', 'g'),
       fund = regexp_replace(fund, '[\x01-\x1f\x7f-\x9f]', '', 'g')
 WHERE concat_ws(' ', item, fund) ~ '[\x01-\x1f\x7f-\x9f]';
