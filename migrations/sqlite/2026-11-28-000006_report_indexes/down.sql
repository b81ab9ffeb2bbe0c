DROP INDEX assessments_assessed_on_idx;
CREATE INDEX assessments_assessed_on_idx ON assessments (assessed_on);
DROP INDEX contacts_report_idx;
