DROP TABLE compliance_exemptions;
DROP TABLE cadence_rule_versions;
DROP TABLE cadence_rules;
DROP TABLE pair_contacts;
DROP TABLE pairings;
DROP TABLE mentors;
