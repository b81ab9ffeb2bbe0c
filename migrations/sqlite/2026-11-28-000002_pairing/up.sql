-- Mentor pairings ("1+1"), their contacts, and the cadence rules that check them.

CREATE TABLE mentors (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users (id),
    name TEXT NOT NULL,
    organisation TEXT,
    phone TEXT,
    email TEXT,
    notes TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX mentors_user_key ON mentors (user_id);

CREATE TABLE pairings (
    id TEXT PRIMARY KEY NOT NULL,
    mentor_id TEXT NOT NULL REFERENCES mentors (id),
    child_id TEXT NOT NULL REFERENCES children (id),
    status TEXT NOT NULL CHECK (status IN ('proposed', 'active', 'ended')),
    started_on DATE,
    ended_on DATE,
    end_reason TEXT,
    notes TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (status <> 'active' OR started_on IS NOT NULL),
    CHECK (status <> 'ended' OR (ended_on IS NOT NULL AND end_reason IS NOT NULL)),
    CHECK (ended_on IS NULL OR started_on IS NULL OR ended_on >= started_on)
);
-- One active pairing per mentor and per child, enforced by the database so that two racing
-- requests cannot both win.
CREATE UNIQUE INDEX pairings_one_active_per_mentor ON pairings (mentor_id) WHERE status = 'active';
CREATE UNIQUE INDEX pairings_one_active_per_child ON pairings (child_id) WHERE status = 'active';
CREATE INDEX pairings_child_idx ON pairings (child_id);
CREATE INDEX pairings_status_idx ON pairings (status);

CREATE TABLE pair_contacts (
    id TEXT PRIMARY KEY NOT NULL,
    pairing_id TEXT NOT NULL REFERENCES pairings (id),
    occurred_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('phone', 'video', 'centre_visit', 'outing', 'home_visit', 'message')),
    topics TEXT NOT NULL,
    duration_minutes INTEGER CHECK (duration_minutes IS NULL OR duration_minutes BETWEEN 1 AND 4320),
    commemorative BOOLEAN NOT NULL DEFAULT FALSE,
    title TEXT,
    notes TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    CHECK (NOT commemorative OR (kind = 'outing' AND title IS NOT NULL))
);
CREATE INDEX pair_contacts_pairing_idx ON pair_contacts (pairing_id, occurred_at);

CREATE TABLE cadence_rules (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    subject TEXT NOT NULL CHECK (subject IN ('pairing', 'counselling_enrolment')),
    counted_kinds TEXT NOT NULL,
    commemorative_only BOOLEAN NOT NULL DEFAULT FALSE,
    period TEXT NOT NULL CHECK (period IN ('iso_week', 'month', 'year')),
    at_risk_days INTEGER NOT NULL CHECK (at_risk_days BETWEEN 0 AND 366),
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX cadence_rules_code_key ON cadence_rules (code);

CREATE TABLE cadence_rule_versions (
    id TEXT PRIMARY KEY NOT NULL,
    rule_id TEXT NOT NULL REFERENCES cadence_rules (id),
    effective_from DATE NOT NULL,
    minimum INTEGER NOT NULL CHECK (minimum BETWEEN 0 AND 1000),
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX cadence_rule_versions_key ON cadence_rule_versions (rule_id, effective_from);

CREATE TABLE compliance_exemptions (
    id TEXT PRIMARY KEY NOT NULL,
    rule_id TEXT NOT NULL REFERENCES cadence_rules (id),
    subject_id TEXT NOT NULL,
    period_start DATE NOT NULL,
    reason TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX compliance_exemptions_key ON compliance_exemptions (rule_id, subject_id, period_start);

-- The rules the programmes wrote: a monthly contact and a yearly commemorative outing per
-- pairing, and a weekly home counselling session per enrolment.
INSERT INTO cadence_rules (id, code, name, subject, counted_kinds, commemorative_only, period, at_risk_days, created_at, updated_at)
VALUES
    ('00000000-0000-7000-8000-00000000c001', 'monthly_contact', 'Mentor contacts the child at least once every month', 'pairing',
     'phone,video,centre_visit,outing,home_visit,message', FALSE, 'month', 7, '2023-01-01 00:00:00', '2023-01-01 00:00:00'),
    ('00000000-0000-7000-8000-00000000c002', 'yearly_outing', 'Mentor takes the child to at least one commemorative activity every year', 'pairing',
     'outing', TRUE, 'year', 7, '2023-01-01 00:00:00', '2023-01-01 00:00:00'),
    ('00000000-0000-7000-8000-00000000c003', 'weekly_counselling', 'One home counselling session every week', 'counselling_enrolment',
     'session', FALSE, 'iso_week', 2, '2023-01-01 00:00:00', '2023-01-01 00:00:00');
INSERT INTO cadence_rule_versions (id, rule_id, effective_from, minimum, created_at)
VALUES
    ('00000000-0000-7000-8000-00000000c101', '00000000-0000-7000-8000-00000000c001', '2000-01-01', 1, '2023-01-01 00:00:00'),
    ('00000000-0000-7000-8000-00000000c102', '00000000-0000-7000-8000-00000000c002', '2000-01-01', 1, '2023-01-01 00:00:00'),
    ('00000000-0000-7000-8000-00000000c103', '00000000-0000-7000-8000-00000000c003', '2000-01-01', 1, '2023-01-01 00:00:00');
