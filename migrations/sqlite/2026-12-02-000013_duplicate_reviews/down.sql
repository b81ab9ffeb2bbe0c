DROP TABLE duplicate_reviews;
DROP INDEX children_national_id_idx;
CREATE UNIQUE INDEX children_national_id_key ON children (national_id);
