-- POST /v1/children/resolve finds the open record of a child named on an aid distribution
-- sheet by 姓名 and 出生日期 (when the sheet has no 身份证号): one look-up per row, so by index
-- rather than a scan of the county's records per row.
CREATE INDEX children_name_birth ON children (birth_date, name) WHERE status = 'active';
