-- Programme rules, part 2 (see the PostgreSQL migration of the same name for the reasons).
--
-- SQLite cannot change a table's CHECK constraints in place, so `children` and
-- `home_visit_requests` are rebuilt as SQLite documents (create, copy, drop, rename, with
-- foreign-key enforcement off and checked before commit). `PRAGMA foreign_keys` has no effect
-- inside a transaction, so this migration runs outside diesel's (metadata.toml) and opens its
-- own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

-- 1. A child screened out closes without ever having a case file.
CREATE TABLE children_rebuilt (
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
    organisation_id TEXT REFERENCES organisations (id),
    caseworker_id TEXT REFERENCES users (id),
    CONSTRAINT children_file_opened CHECK (
        (case_number IS NULL) = (registered_on IS NULL)
        AND (status <> 'screening' OR case_number IS NULL)
        AND (status NOT IN ('registered', 'active') OR case_number IS NOT NULL)
    ),
    CHECK (status <> 'closed' OR (closed_on IS NOT NULL AND closure_reason IS NOT NULL))
);
INSERT INTO children_rebuilt (id, household_id, region_id, name, sex, birth_date, national_id,
    in_welfare_centre, left_behind, in_difficulty, school, health_notes, disability_notes, status,
    case_number, registered_on, closed_on, closure_reason, created_by, created_at, updated_at,
    version, organisation_id, caseworker_id)
SELECT id, household_id, region_id, name, sex, birth_date, national_id,
    in_welfare_centre, left_behind, in_difficulty, school, health_notes, disability_notes, status,
    case_number, registered_on, closed_on, closure_reason, created_by, created_at, updated_at,
    version, organisation_id, caseworker_id
FROM children;
DROP TABLE children;
ALTER TABLE children_rebuilt RENAME TO children;
CREATE UNIQUE INDEX children_case_number_key ON children (case_number);
CREATE INDEX children_region_idx ON children (region_id);
CREATE INDEX children_household_idx ON children (household_id);
CREATE INDEX children_status_idx ON children (status);
CREATE INDEX children_registered_on_idx ON children (registered_on);
CREATE INDEX children_organisation_idx ON children (organisation_id);
CREATE INDEX children_caseworker_idx ON children (caseworker_id);
CREATE INDEX children_national_id_idx ON children (national_id);

-- 2. Pairing exclusivity over dates, [started_on, ended_on) per mentor and per child, held by
--    triggers (SQLite has no exclusion constraints). Every write runs in a `BEGIN IMMEDIATE`
--    transaction, so the check and the write cannot interleave with another writer's. An empty
--    interval (ended the day it started) overlaps nothing, as on PostgreSQL.
CREATE TRIGGER pairings_mentor_intervals_disjoint_insert BEFORE INSERT ON pairings
WHEN NEW.started_on IS NOT NULL AND (NEW.ended_on IS NULL OR NEW.ended_on > NEW.started_on)
    AND EXISTS (SELECT 1 FROM pairings o WHERE o.mentor_id = NEW.mentor_id AND o.id <> NEW.id
        AND o.started_on IS NOT NULL AND (o.ended_on IS NULL OR o.ended_on > o.started_on)
        AND (o.ended_on IS NULL OR o.ended_on > NEW.started_on)
        AND (NEW.ended_on IS NULL OR NEW.ended_on > o.started_on))
BEGIN SELECT RAISE(ABORT, 'pairings_mentor_intervals_disjoint'); END;
CREATE TRIGGER pairings_mentor_intervals_disjoint_update BEFORE UPDATE OF mentor_id, started_on, ended_on ON pairings
WHEN NEW.started_on IS NOT NULL AND (NEW.ended_on IS NULL OR NEW.ended_on > NEW.started_on)
    AND EXISTS (SELECT 1 FROM pairings o WHERE o.mentor_id = NEW.mentor_id AND o.id <> NEW.id
        AND o.started_on IS NOT NULL AND (o.ended_on IS NULL OR o.ended_on > o.started_on)
        AND (o.ended_on IS NULL OR o.ended_on > NEW.started_on)
        AND (NEW.ended_on IS NULL OR NEW.ended_on > o.started_on))
BEGIN SELECT RAISE(ABORT, 'pairings_mentor_intervals_disjoint'); END;
CREATE TRIGGER pairings_child_intervals_disjoint_insert BEFORE INSERT ON pairings
WHEN NEW.started_on IS NOT NULL AND (NEW.ended_on IS NULL OR NEW.ended_on > NEW.started_on)
    AND EXISTS (SELECT 1 FROM pairings o WHERE o.child_id = NEW.child_id AND o.id <> NEW.id
        AND o.started_on IS NOT NULL AND (o.ended_on IS NULL OR o.ended_on > o.started_on)
        AND (o.ended_on IS NULL OR o.ended_on > NEW.started_on)
        AND (NEW.ended_on IS NULL OR NEW.ended_on > o.started_on))
BEGIN SELECT RAISE(ABORT, 'pairings_child_intervals_disjoint'); END;
CREATE TRIGGER pairings_child_intervals_disjoint_update BEFORE UPDATE OF child_id, started_on, ended_on ON pairings
WHEN NEW.started_on IS NOT NULL AND (NEW.ended_on IS NULL OR NEW.ended_on > NEW.started_on)
    AND EXISTS (SELECT 1 FROM pairings o WHERE o.child_id = NEW.child_id AND o.id <> NEW.id
        AND o.started_on IS NOT NULL AND (o.ended_on IS NULL OR o.ended_on > o.started_on)
        AND (o.ended_on IS NULL OR o.ended_on > NEW.started_on)
        AND (NEW.ended_on IS NULL OR NEW.ended_on > o.started_on))
BEGIN SELECT RAISE(ABORT, 'pairings_child_intervals_disjoint'); END;

-- 3. Home visits, formalities first: `recorded_late` with its reason.
CREATE TABLE home_visit_requests_rebuilt (
    id TEXT PRIMARY KEY NOT NULL,
    pairing_id TEXT NOT NULL REFERENCES pairings (id),
    holiday_id TEXT NOT NULL REFERENCES holidays (id),
    status TEXT NOT NULL CHECK (status IN ('requested', 'consented', 'approved', 'completed', 'rejected', 'cancelled', 'recorded_late')),
    leaves_at TIMESTAMP NOT NULL,
    returns_at TIMESTAMP NOT NULL,
    address TEXT NOT NULL,
    transport TEXT NOT NULL,
    supervisor TEXT NOT NULL,
    emergency_contact_name TEXT NOT NULL,
    emergency_contact_phone TEXT NOT NULL,
    consent_given_by TEXT,
    consent_relation TEXT,
    consent_given_at TIMESTAMP,
    checklist TEXT NOT NULL,
    checklist_completed_at TIMESTAMP,
    decided_by TEXT REFERENCES users (id),
    decided_at TIMESTAMP,
    decision_reason TEXT,
    returned_at TIMESTAMP,
    requested_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    late_reason TEXT,
    CHECK (returns_at > leaves_at),
    CONSTRAINT home_visit_requests_late_reason CHECK ((status = 'recorded_late') = (late_reason IS NOT NULL))
);
INSERT INTO home_visit_requests_rebuilt (id, pairing_id, holiday_id, status, leaves_at, returns_at,
    address, transport, supervisor, emergency_contact_name, emergency_contact_phone,
    consent_given_by, consent_relation, consent_given_at, checklist, checklist_completed_at,
    decided_by, decided_at, decision_reason, returned_at, requested_by, created_at, updated_at,
    version)
SELECT id, pairing_id, holiday_id, status, leaves_at, returns_at,
    address, transport, supervisor, emergency_contact_name, emergency_contact_phone,
    consent_given_by, consent_relation, consent_given_at, checklist, checklist_completed_at,
    decided_by, decided_at, decision_reason, returned_at, requested_by, created_at, updated_at,
    version
FROM home_visit_requests;
DROP TABLE home_visit_requests;
ALTER TABLE home_visit_requests_rebuilt RENAME TO home_visit_requests;
CREATE INDEX home_visit_requests_pairing_idx ON home_visit_requests (pairing_id);

-- 4. A pair contact has an outcome; contacts logged before stay counted as made.
ALTER TABLE pair_contacts ADD COLUMN outcome TEXT NOT NULL DEFAULT 'completed'
    CHECK (outcome IN ('completed', 'not_reached'));

-- Nothing above may leave a dangling reference.
CREATE TEMP TABLE programme_rules_broken_references (n INTEGER NOT NULL CHECK (n = 0));
INSERT INTO programme_rules_broken_references SELECT count(*) FROM pragma_foreign_key_check;
DROP TABLE programme_rules_broken_references;
COMMIT;
PRAGMA foreign_keys = ON;
