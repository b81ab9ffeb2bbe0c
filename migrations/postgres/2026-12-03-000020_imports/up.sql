-- Registers imported from spreadsheets (tongxing_registers): the upload, checked row by row in
-- a dry run, then committed all or nothing by the user who uploaded it.
CREATE TABLE imports (
    id TEXT PRIMARY KEY NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('xlsx', 'csv')),
    sheet TEXT,
    encoding TEXT,
    state TEXT NOT NULL CHECK (state IN ('checking', 'checked', 'committing', 'committed', 'failed')),
    progress INTEGER NOT NULL DEFAULT 0,
    total_rows INTEGER NOT NULL,
    creates INTEGER NOT NULL DEFAULT 0,
    updates INTEGER NOT NULL DEFAULT 0,
    possible_duplicates INTEGER NOT NULL DEFAULT 0,
    invalid INTEGER NOT NULL DEFAULT 0,
    column_map TEXT NOT NULL,
    source TEXT,
    skip_invalid BOOLEAN,
    commit_key TEXT,
    failure TEXT,
    committed_at TIMESTAMP,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX imports_created_by_idx ON imports (created_by, id);

CREATE TABLE import_rows (
    import_id TEXT NOT NULL REFERENCES imports (id),
    row_number INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('create', 'update', 'possible_duplicate', 'invalid')),
    child_id TEXT,
    candidate_id TEXT,
    signals TEXT,
    problems TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (import_id, row_number)
);
