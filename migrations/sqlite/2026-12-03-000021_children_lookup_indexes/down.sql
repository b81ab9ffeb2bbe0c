DROP INDEX children_region_name_idx;
CREATE INDEX children_region_idx ON children (region_id);
DROP INDEX children_caseworker_idx;
CREATE INDEX children_caseworker_idx ON children (caseworker_id);
DROP INDEX children_organisation_idx;
CREATE INDEX children_organisation_idx ON children (organisation_id);
DROP INDEX children_national_id_idx;
CREATE INDEX children_national_id_idx ON children (national_id);
