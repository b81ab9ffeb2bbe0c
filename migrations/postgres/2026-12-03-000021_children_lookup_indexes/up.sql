-- Lookups by national ID number, organisation and caseworker skip the rows without one: as
-- partial indexes their statistics count only rows that hold a value (a database where most
-- children have no number yet otherwise looks to the planner as if one number matched every
-- child, and `national_id = ?` became a scan of the table). The duplicate rule's lookup of the
-- same name in a village has an index of its own, which also serves lookups by village.
DROP INDEX children_national_id_idx;
CREATE INDEX children_national_id_idx ON children (national_id) WHERE national_id IS NOT NULL;
DROP INDEX children_organisation_idx;
CREATE INDEX children_organisation_idx ON children (organisation_id) WHERE organisation_id IS NOT NULL;
DROP INDEX children_caseworker_idx;
CREATE INDEX children_caseworker_idx ON children (caseworker_id) WHERE caseworker_id IS NOT NULL;
DROP INDEX children_region_idx;
CREATE INDEX children_region_name_idx ON children (region_id, name);
