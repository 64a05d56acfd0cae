-- A plan's goals are cleared (NULL) when the child's retention period ended (ChildErased,
-- services/visits/store_erasure.py); the plan itself stays, counted, without its words.
ALTER TABLE plans ALTER COLUMN goals_enc DROP NOT NULL;
