DROP TABLE audit_archives;
ALTER TABLE audit_log RENAME TO audit_log_partitioned;
ALTER INDEX audit_log_pkey RENAME TO audit_log_partitioned_pkey;
ALTER INDEX audit_log_child_idx RENAME TO audit_log_partitioned_child_idx;
ALTER INDEX audit_log_actor_idx RENAME TO audit_log_partitioned_actor_idx;
ALTER INDEX audit_log_at_idx RENAME TO audit_log_partitioned_at_idx;
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
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
    request_id TEXT
);
INSERT INTO audit_log SELECT * FROM audit_log_partitioned;
DROP TABLE audit_log_partitioned;
DROP FUNCTION audit_log_partition_for(DATE);
CREATE INDEX audit_log_child_idx ON audit_log (child_id, at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
