-- The audit log over years. SQLite has no partitions: `tongxing audit archive --before YYYY-MM`
-- exports each month before it and deletes its entries, which the append-only trigger lets
-- through only for a month the archive has marked `deleting`, inside its own transaction.

-- What `tongxing audit archive` has exported and removed from the log: a row per file, a month's
-- first file and, for entries of it that came later, more parts. Append-only, as the log is,
-- but for clearing `deleting`.
CREATE TABLE audit_archives (
    month TEXT NOT NULL CHECK (length(month) = 7),
    part INTEGER NOT NULL CHECK (part >= 1),
    entries BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    archived_at TIMESTAMP NOT NULL,
    -- True only inside the archive's own transaction, while it deletes the month's entries.
    deleting BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (month, part)
);
CREATE TRIGGER audit_archives_no_delete BEFORE DELETE ON audit_archives
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_archives_no_update BEFORE UPDATE ON audit_archives
WHEN NOT (OLD.deleting AND NOT NEW.deleting AND NEW.month = OLD.month AND NEW.part = OLD.part
    AND NEW.entries = OLD.entries AND NEW.sha256 = OLD.sha256 AND NEW.file = OLD.file
    AND NEW.archived_at = OLD.archived_at)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (SELECT 1 FROM audit_archives WHERE month = substr(OLD.at, 1, 7) AND deleting)
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
