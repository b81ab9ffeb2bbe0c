-- Home counselling ("1+N"), the statutory holiday calendar, and holiday home visits.

CREATE TABLE counselling_enrolments (
    id TEXT PRIMARY KEY NOT NULL,
    child_id TEXT NOT NULL REFERENCES children (id),
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    time_of_day TEXT NOT NULL,
    starts_on DATE NOT NULL,
    ends_on DATE,
    notes TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (ends_on IS NULL OR ends_on >= starts_on)
);
CREATE INDEX counselling_enrolments_child_idx ON counselling_enrolments (child_id);

CREATE TABLE counselling_team_members (
    id TEXT PRIMARY KEY NOT NULL,
    enrolment_id TEXT NOT NULL REFERENCES counselling_enrolments (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('counsellor', 'social_worker', 'volunteer', 'other')),
    user_id TEXT REFERENCES users (id)
);
CREATE UNIQUE INDEX counselling_team_members_position_key ON counselling_team_members (enrolment_id, position);
CREATE INDEX counselling_team_members_user_idx ON counselling_team_members (user_id);

CREATE TABLE counselling_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    enrolment_id TEXT NOT NULL REFERENCES counselling_enrolments (id),
    occurred_at TIMESTAMP NOT NULL,
    attended_by TEXT NOT NULL,
    services TEXT NOT NULL,
    notes TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX counselling_sessions_enrolment_idx ON counselling_sessions (enrolment_id, occurred_at);

CREATE TABLE holidays (
    id TEXT PRIMARY KEY NOT NULL,
    year INTEGER NOT NULL,
    holiday TEXT NOT NULL CHECK (holiday IN ('new_year', 'spring_festival', 'qingming', 'labour_day', 'dragon_boat',
        'mid_autumn', 'national_day', 'mid_autumn_and_national_day')),
    first_day DATE NOT NULL,
    last_day DATE NOT NULL,
    makeup_workdays TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (last_day >= first_day)
);
CREATE UNIQUE INDEX holidays_year_holiday_key ON holidays (year, holiday);
CREATE INDEX holidays_days_idx ON holidays (first_day, last_day);

CREATE TABLE home_visit_requests (
    id TEXT PRIMARY KEY NOT NULL,
    pairing_id TEXT NOT NULL REFERENCES pairings (id),
    holiday_id TEXT NOT NULL REFERENCES holidays (id),
    status TEXT NOT NULL CHECK (status IN ('requested', 'consented', 'approved', 'completed', 'rejected', 'cancelled')),
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
    CHECK (returns_at > leaves_at)
);
CREATE INDEX home_visit_requests_pairing_idx ON home_visit_requests (pairing_id);

CREATE TABLE home_visit_steps (
    id TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES home_visit_requests (id),
    step TEXT NOT NULL,
    actor_id TEXT NOT NULL REFERENCES users (id),
    at TIMESTAMP NOT NULL,
    note TEXT
);
CREATE INDEX home_visit_steps_request_idx ON home_visit_steps (request_id, at);

ALTER TABLE pair_contacts ADD COLUMN home_visit_request_id TEXT REFERENCES home_visit_requests (id);
