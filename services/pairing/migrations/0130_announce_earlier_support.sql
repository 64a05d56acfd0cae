-- Support records made before pairing published SupportRecorded are announced once, through
-- the outbox like any event, so that the reports' support ledger holds them too. Each is
-- dated by when it was recorded (ce_time = created_at: "as recorded by" dates stay true); the
-- school is the child's as the projection holds it now (the record kept none). A record
-- already announced is left alone, so running this again adds nothing.
INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload)
SELECT s.event_id, 'shouhu.pairing.events.v1', s.child_id::text, 'cn.shouhu.SupportRecorded.v1',
       jsonb_build_object('ce_id', s.event_id::text, 'ce_type', 'cn.shouhu.SupportRecorded.v1',
                          'ce_source', '/shouhu/pairing', 'ce_subject', s.child_id::text,
                          'ce_time', to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                          'content-type', 'application/json', 'ce_specversion', '1.0'),
       jsonb_build_object('child_id', s.child_id, 'support_id', s.id, 'kind', s.kind, 'amount_fen', s.amount_fen,
                          'given_on', s.given_on::text,
                          'jurisdiction', jsonb_build_object('county_code', s.county_code,
                                                             'township_code', s.township_code,
                                                             'village_code', s.village_code),
                          'school_id', c.school_id, 'duplicate_of', s.flagged_duplicate_of)
  FROM (SELECT *, gen_random_uuid() AS event_id FROM support_records) s  -- a new id per record
  LEFT JOIN children c ON c.id = s.child_id
 WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_type = 'cn.shouhu.SupportRecorded.v1'
                                            AND o.payload->>'support_id' = s.id::text)
 ORDER BY s.created_at, s.id;
