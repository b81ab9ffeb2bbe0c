ALTER TABLE cadence_rules DROP COLUMN tallies_built_at;
DROP TABLE compliance_tallies;
