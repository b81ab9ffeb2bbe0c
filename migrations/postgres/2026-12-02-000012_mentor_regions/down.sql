DROP INDEX mentors_region_idx;
ALTER TABLE mentors DROP COLUMN region_id;
