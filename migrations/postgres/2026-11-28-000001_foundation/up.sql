-- Foundation: accounts and tokens, service state, idempotency, and case records.
-- Ids are UUID text; timestamps are UTC; dates are Asia/Shanghai calendar dates.

CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'caseworker', 'mentor', 'volunteer', 'auditor')),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX users_username_key ON users (username);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    token_hash TEXT NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX refresh_tokens_token_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE idempotency_keys (
    actor_id TEXT NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (actor_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE regions (
    id TEXT PRIMARY KEY NOT NULL,
    parent_id TEXT REFERENCES regions (id),
    level TEXT NOT NULL CHECK (level IN ('province', 'city', 'district', 'town', 'village')),
    name TEXT NOT NULL,
    name_en TEXT,
    code TEXT,
    path TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX regions_code_key ON regions (code);
CREATE UNIQUE INDEX regions_parent_name_key ON regions (parent_id, name);
CREATE INDEX regions_path_idx ON regions (path);

CREATE TABLE households (
    id TEXT PRIMARY KEY NOT NULL,
    region_id TEXT NOT NULL REFERENCES regions (id),
    address TEXT,
    parents_work_away BOOLEAN NOT NULL DEFAULT FALSE,
    notes TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX households_region_idx ON households (region_id);

CREATE TABLE guardians (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    relation TEXT NOT NULL CHECK (relation IN ('father', 'mother', 'grandfather', 'grandmother', 'sibling',
        'other_relative', 'foster_parent', 'institution', 'other')),
    phone TEXT,
    is_primary BOOLEAN NOT NULL DEFAULT FALSE,
    works_away BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX guardians_household_position_key ON guardians (household_id, position);

CREATE TABLE children (
    id TEXT PRIMARY KEY NOT NULL,
    household_id TEXT REFERENCES households (id),
    region_id TEXT NOT NULL REFERENCES regions (id),
    name TEXT NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('female', 'male')),
    birth_date DATE NOT NULL,
    national_id TEXT,
    in_welfare_centre BOOLEAN NOT NULL DEFAULT FALSE,
    left_behind BOOLEAN NOT NULL DEFAULT FALSE,
    in_difficulty BOOLEAN NOT NULL DEFAULT FALSE,
    school TEXT,
    health_notes TEXT,
    disability_notes TEXT,
    status TEXT NOT NULL CHECK (status IN ('screening', 'registered', 'active', 'closed')),
    case_number TEXT,
    registered_on DATE,
    closed_on DATE,
    closure_reason TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (status = 'screening' OR (case_number IS NOT NULL AND registered_on IS NOT NULL)),
    CHECK (status <> 'closed' OR (closed_on IS NOT NULL AND closure_reason IS NOT NULL))
);
CREATE UNIQUE INDEX children_national_id_key ON children (national_id);
CREATE UNIQUE INDEX children_case_number_key ON children (case_number);
CREATE INDEX children_region_idx ON children (region_id);
CREATE INDEX children_household_idx ON children (household_id);
CREATE INDEX children_status_idx ON children (status);
CREATE INDEX children_registered_on_idx ON children (registered_on);

CREATE TABLE child_status_changes (
    id TEXT PRIMARY KEY NOT NULL,
    child_id TEXT NOT NULL REFERENCES children (id),
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    effective_on DATE NOT NULL,
    reason TEXT,
    changed_by TEXT NOT NULL REFERENCES users (id),
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX child_status_changes_child_idx ON child_status_changes (child_id);

CREATE TABLE assessments (
    id TEXT PRIMARY KEY NOT NULL,
    child_id TEXT NOT NULL REFERENCES children (id),
    assessed_on DATE NOT NULL,
    assessor_id TEXT NOT NULL REFERENCES users (id),
    living_conditions_score INTEGER NOT NULL CHECK (living_conditions_score BETWEEN 1 AND 5),
    living_conditions_notes TEXT,
    psychological_state_score INTEGER NOT NULL CHECK (psychological_state_score BETWEEN 1 AND 5),
    psychological_state_notes TEXT,
    study_score INTEGER NOT NULL CHECK (study_score BETWEEN 1 AND 5),
    study_notes TEXT,
    social_development_score INTEGER NOT NULL CHECK (social_development_score BETWEEN 1 AND 5),
    social_development_notes TEXT,
    risk_level TEXT NOT NULL CHECK (risk_level IN ('low', 'medium', 'high')),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX assessments_child_idx ON assessments (child_id, assessed_on);
CREATE INDEX assessments_assessed_on_idx ON assessments (assessed_on);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('phone_visit', 'home_visit', 'school_visit', 'centre_visit')),
    household_id TEXT REFERENCES households (id),
    child_id TEXT REFERENCES children (id),
    occurred_at TIMESTAMP NOT NULL,
    made_by TEXT NOT NULL REFERENCES users (id),
    outcome TEXT NOT NULL CHECK (outcome IN ('completed', 'not_reached')),
    notes TEXT,
    created_at TIMESTAMP NOT NULL,
    CHECK ((kind = 'phone_visit' AND household_id IS NOT NULL) OR (kind <> 'phone_visit' AND child_id IS NOT NULL))
);
CREATE INDEX contacts_household_idx ON contacts (household_id, occurred_at);
CREATE INDEX contacts_child_idx ON contacts (child_id, occurred_at);
CREATE INDEX contacts_occurred_idx ON contacts (occurred_at);

CREATE TABLE consents (
    id TEXT PRIMARY KEY NOT NULL,
    child_id TEXT NOT NULL REFERENCES children (id),
    purpose TEXT NOT NULL CHECK (purpose IN ('case_file', 'data_sharing', 'photos_and_media', 'home_visit',
        'counselling')),
    organisation_id TEXT,
    given_by_name TEXT NOT NULL,
    given_by_relation TEXT NOT NULL,
    given_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    withdrawal_reason TEXT,
    notes TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX consents_child_idx ON consents (child_id);
