-- Possible duplicates found by the similarity rule (tongxing_cases::similarity) join those found
-- by national ID number in the review queue, with their score and signals. The rule looks for
-- candidates by birth date (exact or day and month swapped): an index for it. SQLite cannot
-- change a CHECK constraint in place, so the review table is rebuilt (nothing refers to it).
CREATE INDEX children_birth_date_idx ON children (birth_date);
CREATE TABLE duplicate_reviews_new (
    id TEXT PRIMARY KEY NOT NULL,
    child_id TEXT NOT NULL REFERENCES children (id),
    other_child_id TEXT NOT NULL REFERENCES children (id),
    reason TEXT NOT NULL CHECK (reason IN ('national_id', 'similar')),
    found_by TEXT NOT NULL REFERENCES users (id),
    found_at TIMESTAMP NOT NULL,
    outcome TEXT CHECK (outcome IN ('same_child', 'different_children')),
    note TEXT,
    resolved_by TEXT REFERENCES users (id),
    resolved_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1,
    score INTEGER,
    signals TEXT,
    CHECK (child_id <> other_child_id),
    CHECK ((outcome IS NULL) = (resolved_at IS NULL))
);
INSERT INTO duplicate_reviews_new (id, child_id, other_child_id, reason, found_by, found_at, outcome, note,
        resolved_by, resolved_at, version)
    SELECT id, child_id, other_child_id, reason, found_by, found_at, outcome, note, resolved_by, resolved_at, version
    FROM duplicate_reviews;
DROP TABLE duplicate_reviews;
ALTER TABLE duplicate_reviews_new RENAME TO duplicate_reviews;
CREATE UNIQUE INDEX duplicate_reviews_pair_key ON duplicate_reviews (child_id, other_child_id, reason);
CREATE INDEX duplicate_reviews_open_idx ON duplicate_reviews (resolved_at);

-- A record merged into another (POST /children/{id}/merge). The merged child's row leaves
-- `children` (so no list, scope or report can count it twice), with its status history and its
-- duplicate reviews; `record` keeps them (JSON) and `moved` the ids of the rows re-pointed to the
-- surviving record, per table, so that an admin can undo the merge within its window.
CREATE TABLE child_merges (
    id TEXT PRIMARY KEY NOT NULL,
    child_id TEXT NOT NULL,
    merged_into TEXT NOT NULL,
    reason TEXT NOT NULL,
    merged_by TEXT NOT NULL REFERENCES users (id),
    merged_at TIMESTAMP NOT NULL,
    record TEXT NOT NULL,
    moved TEXT NOT NULL,
    undone_by TEXT REFERENCES users (id),
    undone_at TIMESTAMP,
    undo_reason TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (child_id <> merged_into),
    CHECK ((undone_at IS NULL) = (undone_by IS NULL))
);
-- A record is merged away once at a time.
CREATE UNIQUE INDEX child_merges_standing_key ON child_merges (child_id) WHERE undone_at IS NULL;
CREATE INDEX child_merges_into_idx ON child_merges (merged_into);
