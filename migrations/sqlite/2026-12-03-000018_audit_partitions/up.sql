-- The audit log over years. SQLite has no partitions: `tongxing audit archive --before YYYY-MM`
-- exports each month before it and deletes its entries, which the append-only trigger lets
-- through only for a month the archive has marked `deleting`, inside its own transaction.

-- What `tongxing audit archive` has exported and removed from the log: one row a month.
CREATE TABLE audit_archives (
    month TEXT PRIMARY KEY NOT NULL CHECK (length(month) = 7),
    entries BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    archived_at TIMESTAMP NOT NULL,
    -- True only inside the archive's own transaction, while it deletes the month's entries.
    deleting BOOLEAN NOT NULL DEFAULT FALSE
);

DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_archives WHERE month = substr(OLD.at, 1, 7) AND deleting)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
