-- The area a mentor serves (a region of any level): coordinators limited to a region reach the
-- mentors of their subtree.
ALTER TABLE mentors ADD COLUMN region_id TEXT REFERENCES regions (id);
CREATE INDEX mentors_region_idx ON mentors (region_id);
