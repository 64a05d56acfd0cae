-- `shouhu import` (shared/transfer_import.py): which parts of which county archive this
-- database has taken in, each recorded in the transaction that wrote it, so an interrupted
-- import continues after the last finished part and a repeated one changes nothing.
CREATE TABLE county_imports (
    archive_id  uuid NOT NULL,
    part        text NOT NULL,           -- "<service>/<table>", "<service>/(inbox)" or "<service>/(events)"
    rows        integer NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (archive_id, part)
);
