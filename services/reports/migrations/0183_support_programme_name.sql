-- The aid programme's name (资助项目名称) as pairing's SupportRecorded carried it when the aid
-- was given: the county's title for the programme, not personal data. The work summary
-- names each programme by its latest known name; NULL for events published before the
-- field existed (the summary then prints the id's short form).
ALTER TABLE support_given ADD COLUMN programme_name text;
