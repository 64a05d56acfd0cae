-- Aid and gifts in kind (pairing's SupportRecorded): who received it (an id), its kind, value
-- in fen, the day it was given and when pairing recorded it (for "as recorded by" dates),
-- where the child lived then. The fund's and item's wording and the giver stay in pairing.
CREATE TABLE support_given (
    support_id      uuid PRIMARY KEY,
    child_id        uuid NOT NULL,
    kind            text NOT NULL,
    amount_fen      bigint NOT NULL,
    given_on        date NOT NULL,
    recorded_at     timestamptz NOT NULL,
    county_code     text NOT NULL,
    township_code   text NOT NULL,
    village_code    text,
    school_id       text,
    duplicate_of    uuid
);
CREATE INDEX support_given_given_on ON support_given (given_on);
CREATE STATISTICS support_given_place ON (coalesce(village_code, township_code)) FROM support_given;
