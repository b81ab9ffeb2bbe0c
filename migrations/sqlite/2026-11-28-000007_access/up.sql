-- Access: who a user works for and where, which cases a caseworker holds, login lockout,
-- partner API clients, asymmetric signing keys, and the append-only access audit log.

ALTER TABLE users ADD COLUMN organisation_id TEXT REFERENCES organisations (id);
ALTER TABLE users ADD COLUMN region_id TEXT REFERENCES regions (id);
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TIMESTAMP;

ALTER TABLE children ADD COLUMN organisation_id TEXT REFERENCES organisations (id);
ALTER TABLE children ADD COLUMN caseworker_id TEXT REFERENCES users (id);
CREATE INDEX children_organisation_idx ON children (organisation_id);
CREATE INDEX children_caseworker_idx ON children (caseworker_id);
CREATE INDEX consents_sharing_idx ON consents (organisation_id, purpose, child_id);

CREATE TABLE api_clients (
    id TEXT PRIMARY KEY NOT NULL,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    secret_rotated_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX api_clients_organisation_idx ON api_clients (organisation_id);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);

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
CREATE INDEX audit_log_child_idx ON audit_log (child_id, at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
CREATE INDEX audit_log_at_idx ON audit_log (at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
