-- What each cadence rule counted per relationship and period, kept in the transaction that
-- records the activity, so that the alert list reads one row per relationship and period
-- instead of every activity. A rule's tallies are complete once `tallies_built_at` is set: the
-- service builds them when a rule is created and, at start-up, for every rule without them
-- (those of a database from before this migration).
CREATE TABLE compliance_tallies (
    rule_id TEXT NOT NULL REFERENCES cadence_rules (id),
    period_start DATE NOT NULL,
    subject_id TEXT NOT NULL,
    activities BIGINT NOT NULL CHECK (activities > 0),
    -- The count rides in the key's index, so that the alert list reads the index alone.
    PRIMARY KEY (rule_id, period_start, subject_id) INCLUDE (activities)
);

ALTER TABLE cadence_rules ADD COLUMN tallies_built_at TIMESTAMP;
