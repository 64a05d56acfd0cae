-- Work lists name the plan a plan_review duty is owed on (the caregiver app opens the plan
-- from 待办): found from the duty, one review per duty.
CREATE UNIQUE INDEX plan_reviews_duty ON plan_reviews (duty_id);
