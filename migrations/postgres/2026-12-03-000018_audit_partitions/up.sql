-- The audit log over years. On PostgreSQL it is partitioned by month of `at` (UTC), so that
-- `tongxing audit archive --before YYYY-MM` exports a month and then detaches and drops its
-- partition, without a DELETE over millions of rows. Nodes keep the current and the next two
-- months' partitions made (audit_log_partition_for); an entry outside them lands in
-- audit_log_default and moves into its month's partition when that one is made.
-- The copy below runs in the migration's transaction, which holds the log meanwhile: on a
-- large log, run the migration job in a quiet hour (about 100,000 entries a second).
ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;
ALTER INDEX audit_log_pkey RENAME TO audit_log_unpartitioned_pkey;
ALTER INDEX audit_log_child_idx RENAME TO audit_log_unpartitioned_child_idx;
ALTER INDEX audit_log_actor_idx RENAME TO audit_log_unpartitioned_actor_idx;
ALTER INDEX audit_log_at_idx RENAME TO audit_log_unpartitioned_at_idx;
DROP TRIGGER audit_log_no_change ON audit_log_unpartitioned;
DROP TRIGGER audit_log_no_truncate ON audit_log_unpartitioned;

CREATE TABLE audit_log (
    id TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('user', 'client', 'anonymous')),
    actor_id TEXT,
    actor_role TEXT,
    action TEXT NOT NULL CHECK (action IN ('read', 'list', 'create', 'update', 'login', 'login_failed', 'export')),
    resource TEXT NOT NULL,
    resource_id TEXT,
    child_id TEXT,
    status INTEGER NOT NULL,
    changes TEXT,
    address TEXT,
    request_id TEXT,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE INDEX audit_log_child_idx ON audit_log (child_id, at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Append-only, as before. The one delete let through: an entry of the default partition that
-- the making of its month's partition has already copied into that partition's table (named in
-- tongxing.audit_log_moving_to, for the moving transaction alone), so that no entry leaves the
-- log. A session that sets the name itself deletes nothing the log does not still hold.
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target TEXT := current_setting('tongxing.audit_log_moving_to', true);
    kept BOOLEAN := FALSE;
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_log_default'
        AND target ~ '^audit_log_p[0-9]{4}_[0-9]{2}$' AND to_regclass(target) IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE id = $1 AND at = $2)', target)
            INTO kept USING OLD.id, OLD.at;
        IF kept THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Makes the partition of the month starting on `month` (the first of a month) unless it exists,
-- moving into it any entries of that month the default partition holds. Safe to call from
-- several nodes at once (a transaction-scoped advisory lock).
CREATE FUNCTION audit_log_partition_for(month DATE) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    name TEXT := format('audit_log_p%s', to_char(month, 'YYYY_MM'));
    upper DATE := (month + INTERVAL '1 month')::DATE;
BEGIN
    IF month <> date_trunc('month', month)::DATE THEN
        RAISE EXCEPTION 'a month starts on its first day, not %', month;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('tongxing.audit_log_partitions'));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE audit_log INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    IF EXISTS (SELECT 1 FROM audit_log_default WHERE at >= month AND at < upper) THEN
        EXECUTE format('INSERT INTO %I SELECT * FROM audit_log_default WHERE at >= $1 AND at < $2', name)
            USING month, upper;
        PERFORM set_config('tongxing.audit_log_moving_to', name, true);
        DELETE FROM audit_log_default WHERE at >= month AND at < upper;
        PERFORM set_config('tongxing.audit_log_moving_to', '', true);
    END IF;
    EXECUTE format('ALTER TABLE audit_log ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, month, upper);
    EXECUTE format(
        'CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()',
        name
    );
END;
$$;

SELECT audit_log_partition_for(m::DATE)
FROM generate_series(
    date_trunc('month', COALESCE((SELECT min(at) FROM audit_log_unpartitioned), now() AT TIME ZONE 'UTC')),
    date_trunc('month', now() AT TIME ZONE 'UTC') + INTERVAL '2 months',
    INTERVAL '1 month'
) AS m;
INSERT INTO audit_log SELECT * FROM audit_log_unpartitioned;
DROP TABLE audit_log_unpartitioned;

-- What `tongxing audit archive` has exported and removed from the log: a row per file, a month's
-- first file and, for entries of it that came later, more parts. Append-only, as the log is.
CREATE TABLE audit_archives (
    month TEXT NOT NULL CHECK (length(month) = 7),
    part INTEGER NOT NULL CHECK (part >= 1),
    entries BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL,
    archived_at TIMESTAMP NOT NULL,
    -- On SQLite, true only inside the archive's own transaction, while it deletes the month's
    -- entries (the append-only trigger lets those through and no others); PostgreSQL drops the
    -- month's partition instead and leaves it false.
    deleting BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (month, part)
);
CREATE TRIGGER audit_archives_no_change BEFORE UPDATE OR DELETE ON audit_archives
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_archives_no_truncate BEFORE TRUNCATE ON audit_archives
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
