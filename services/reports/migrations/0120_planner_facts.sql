-- child_school_at only reads child_versions: declared parallel safe, so that a query that
-- names it (the school filter of the contacts' and concerns' counts) may still be shared
-- out among parallel workers; a function not so declared keeps the whole query on one core.
ALTER FUNCTION child_school_at(uuid, timestamptz) PARALLEL SAFE;

-- Every count filters on coalesce(village_code, township_code) LIKE 'prefix%'. Without
-- statistics on that expression the planner guesses a few hundred rows where a county's
-- year has hundreds of thousands, and picks sorts that spill to disk over hash aggregates.
CREATE STATISTICS child_versions_place ON (coalesce(village_code, township_code)) FROM child_versions;
CREATE STATISTICS pairings_place ON (coalesce(village_code, township_code)) FROM pairings;
CREATE STATISTICS contacts_place ON (coalesce(village_code, township_code)) FROM contacts;
CREATE STATISTICS duties_place ON (coalesce(village_code, township_code)) FROM duties;
CREATE STATISTICS concerns_place ON (coalesce(village_code, township_code)) FROM concerns;
CREATE STATISTICS activities_place ON (coalesce(village_code, township_code)) FROM activities;
