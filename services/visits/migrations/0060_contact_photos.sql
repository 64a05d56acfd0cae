-- Photos taken during a contact (at most three), sealed with the field cipher like the
-- contact's notes (the column holds the ciphertext of the base64 of the image, bound to the
-- photo's id). Photos never travel in events; they are read through the API only.
CREATE TABLE contact_photos (
    id              uuid PRIMARY KEY,
    contact_id      uuid NOT NULL REFERENCES contacts (id),
    slot            smallint NOT NULL CHECK (slot BETWEEN 1 AND 3),
    content_type    text NOT NULL,
    size_bytes      integer NOT NULL CHECK (size_bytes > 0),
    photo_enc       text NOT NULL,
    stored_by       text NOT NULL,
    stored_at       timestamptz NOT NULL,
    UNIQUE (contact_id, slot)
);

