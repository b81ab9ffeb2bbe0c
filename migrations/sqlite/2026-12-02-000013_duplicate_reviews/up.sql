-- A national ID number may be held by a child outside the scope of the caseworker who records
-- another: the service cannot answer "taken" without telling what exists outside that scope, so
-- the second record is kept and the pair goes to a coordinator's review queue. The number is no
-- longer unique; a duplicate within the caller's scope is still refused by the service.
DROP INDEX children_national_id_key;
CREATE INDEX children_national_id_idx ON children (national_id);

CREATE TABLE duplicate_reviews (
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
CREATE UNIQUE INDEX duplicate_reviews_pair_key ON duplicate_reviews (child_id, other_child_id, reason);
CREATE INDEX duplicate_reviews_open_idx ON duplicate_reviews (resolved_at);
