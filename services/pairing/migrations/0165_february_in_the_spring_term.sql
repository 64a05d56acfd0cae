-- February moves from the autumn term to the spring term (shared/terms.py: 秋季学期 1 Sep –
-- 31 Jan, 春季学期 1 Feb – 31 Jul, as the screens say; August stays with the spring term).
-- Until now a February gift was stored under the autumn term that began the September before
-- (given_on 2026-02-10: period_key '2025-autumn'); it is now in '2026-spring'. This moves the
-- stored keys of February's support records and aid lists so that the once-per-term rule of
-- aid programmes, the "second gift from one fund in a term" flag and the aid ledger's terms
-- all read February the new way. Half-year keys ('2026H1') are untouched.
--
-- Left as they were, and counted in a NOTICE:
-- * a programme's February record whose child already had the same programme in that spring
--   term (March–August): moving it would break support_programme_term (one per programme,
--   child and term); the two were given under the old rule, in two terms, and stay so;
-- * a confirmed aid list one of whose records stayed behind (the list and its records keep
--   one term).
-- The duplicate flags (flagged_duplicate_of) are not recomputed: each was right by the rule
-- of the day it was recorded and was announced so in its SupportRecorded, which carries the
-- day given and no period (reports reads terms from given_on); a flag is a prompt to look,
-- never a refusal.
DO $$
DECLARE
    kept_records integer;
    kept_lists integer;
BEGIN
    CREATE TEMP TABLE february_moves ON COMMIT DROP AS
        SELECT s.id, extract(year FROM s.given_on)::int || '-spring' AS new_key,
               s.programme_id IS NOT NULL AND EXISTS (
                   SELECT 1 FROM support_records o
                    WHERE o.programme_id = s.programme_id AND o.child_id = s.child_id
                      AND o.period_key = extract(year FROM s.given_on)::int || '-spring') AS taken
          FROM support_records s
         WHERE extract(month FROM s.given_on) = 2 AND s.period_key ~ '^\d{4}-autumn$';

    UPDATE support_records s SET period_key = m.new_key
      FROM february_moves m WHERE m.id = s.id AND NOT m.taken;
    SELECT count(*) INTO kept_records FROM february_moves WHERE taken;

    UPDATE aid_lists l SET period_key = extract(year FROM l.given_on)::int || '-spring'
     WHERE extract(month FROM l.given_on) = 2 AND l.period_key ~ '^\d{4}-autumn$'
       AND NOT EXISTS (SELECT 1 FROM support_records s
                        WHERE s.list_id = l.id AND s.period_key <> extract(year FROM l.given_on)::int || '-spring');
    SELECT count(*) INTO kept_lists FROM aid_lists
     WHERE extract(month FROM given_on) = 2 AND period_key ~ '^\d{4}-autumn$';

    IF kept_records > 0 OR kept_lists > 0 THEN
        RAISE NOTICE 'February in the spring term: % aid record(s) and % aid list(s) keep their autumn term '
                     '(the child already had the programme in that spring term)', kept_records, kept_lists;
    END IF;
END $$;
