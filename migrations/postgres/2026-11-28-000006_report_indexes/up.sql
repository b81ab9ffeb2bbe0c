-- The summary's contact and assessment counts read only these columns: covering indexes let
-- them scan a period without touching the tables.
CREATE INDEX contacts_report_idx ON contacts (kind, outcome, occurred_at, household_id, child_id);
DROP INDEX assessments_assessed_on_idx;
CREATE INDEX assessments_assessed_on_idx ON assessments (assessed_on, child_id);
