-- A standing merge keeps the merged child only in child_merges: undo the merges first (the
-- CHECK fails while any stands).
CREATE TEMP TABLE standing_merges (n INTEGER CHECK (n = 0));
INSERT INTO standing_merges SELECT COUNT(*) FROM child_merges WHERE undone_at IS NULL;
DROP TABLE standing_merges;
DROP TABLE child_merges;
CREATE TABLE duplicate_reviews_old (
    id TEXT PRIMARY KEY NOT NULL,
    child_id TEXT NOT NULL REFERENCES children (id),
    other_child_id TEXT NOT NULL REFERENCES children (id),
    reason TEXT NOT NULL CHECK (reason IN ('national_id')),
    found_by TEXT NOT NULL REFERENCES users (id),
    found_at TIMESTAMP NOT NULL,
    outcome TEXT CHECK (outcome IN ('same_child', 'different_children')),
    note TEXT,
    resolved_by TEXT REFERENCES users (id),
    resolved_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (child_id <> other_child_id),
    CHECK ((outcome IS NULL) = (resolved_at IS NULL))
);
INSERT INTO duplicate_reviews_old (id, child_id, other_child_id, reason, found_by, found_at, outcome, note,
        resolved_by, resolved_at, version)
    SELECT id, child_id, other_child_id, reason, found_by, found_at, outcome, note, resolved_by, resolved_at, version
    FROM duplicate_reviews WHERE reason = 'national_id';
DROP TABLE duplicate_reviews;
ALTER TABLE duplicate_reviews_old RENAME TO duplicate_reviews;
CREATE UNIQUE INDEX duplicate_reviews_pair_key ON duplicate_reviews (child_id, other_child_id, reason);
CREATE INDEX duplicate_reviews_open_idx ON duplicate_reviews (resolved_at);
DROP INDEX children_birth_date_idx;
