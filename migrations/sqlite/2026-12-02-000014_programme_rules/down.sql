-- Reverting keeps the rebuilt tables (their CHECKs admit every older state); it removes what
-- older code cannot read or write.
DROP TRIGGER pairings_mentor_intervals_disjoint_insert;
DROP TRIGGER pairings_mentor_intervals_disjoint_update;
DROP TRIGGER pairings_child_intervals_disjoint_insert;
DROP TRIGGER pairings_child_intervals_disjoint_update;
ALTER TABLE pair_contacts DROP COLUMN outcome;
