-- Searching by one or two characters (a surname: 王; 王振) finds no trigram in the query, so
-- the trigram index (children_search) cannot narrow it and every child in scope was read:
-- ~0.4 s in a county of 100,000 children on a busy 2-core machine (bench/console_children.py).
-- The characters of each name, lower-cased as search_text holds it, in a GIN index answer
-- "names containing these characters" from the index; the search's LIKE still decides.
-- A builtin, so imports pay little for it (two or three entries a child).
CREATE INDEX children_name_characters ON children USING gin (string_to_array(lower(name), NULL));
