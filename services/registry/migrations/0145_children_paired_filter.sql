-- The children list's "paired or not" filter (结对/未结对): an EXISTS by child on the current
-- pairings, for every row the list walks; the caregiver-first index cannot serve it.
CREATE INDEX caregiver_pairings_current_by_child ON caregiver_pairings (child_id)
    WHERE ended_on IS NULL AND started_on IS NOT NULL;
