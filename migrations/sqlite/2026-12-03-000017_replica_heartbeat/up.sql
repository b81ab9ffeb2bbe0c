-- The replica's freshness: every node configured with a read replica (TONGXING_REPLICA_URL)
-- writes the time here on the primary every second; what a replica holds of this row says up
-- to when it has replayed the primary's commits. One row.
CREATE TABLE replica_heartbeat (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    at TIMESTAMP NOT NULL
);
INSERT INTO replica_heartbeat (id, at) VALUES (1, '1970-01-01 00:00:00');
