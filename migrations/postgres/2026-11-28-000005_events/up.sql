-- Volunteer events ("5+N"): organisations and their service contracts, volunteers with their
-- safeguarding clearance, teams, events, rosters and children's attendance.

CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('government_agency', 'welfare_centre', 'social_organisation', 'social_work_centre',
        'village_committee', 'school', 'enterprise', 'charity', 'media')),
    region_id TEXT REFERENCES regions (id),
    contact_name TEXT,
    contact_phone TEXT,
    notes TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX organisations_name_key ON organisations (name);

CREATE TABLE service_contracts (
    id TEXT PRIMARY KEY NOT NULL,
    purchaser_id TEXT NOT NULL REFERENCES organisations (id),
    provider_id TEXT NOT NULL REFERENCES organisations (id),
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    services TEXT NOT NULL,
    notes TEXT,
    created_at TIMESTAMP NOT NULL,
    CHECK (ends_on >= starts_on),
    CHECK (purchaser_id <> provider_id)
);
CREATE INDEX service_contracts_provider_idx ON service_contracts (provider_id);

CREATE TABLE volunteers (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users (id),
    name TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('social_organisation', 'community', 'university', 'staff')),
    organisation_id TEXT REFERENCES organisations (id),
    phone TEXT,
    skills TEXT NOT NULL,
    background_check_on DATE,
    background_check_expires_on DATE,
    safety_training_on DATE,
    safety_training_expires_on DATE,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX volunteers_user_key ON volunteers (user_id);
CREATE INDEX volunteers_organisation_idx ON volunteers (organisation_id);

CREATE TABLE teams (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    organisation_id TEXT REFERENCES organisations (id),
    description TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX teams_name_key ON teams (name);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    volunteer_id TEXT NOT NULL REFERENCES volunteers (id),
    PRIMARY KEY (team_id, volunteer_id)
);

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    theme TEXT,
    event_type TEXT NOT NULL CHECK (event_type IN ('quarterly_theme', 'care', 'visit_and_comfort', 'mental_health_consultation', 'other')),
    programme TEXT NOT NULL CHECK (programme IN ('one_plus_one', 'five_plus_n', 'one_plus_n')),
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    region_id TEXT NOT NULL REFERENCES regions (id),
    address TEXT,
    organiser_id TEXT NOT NULL REFERENCES organisations (id),
    with_children BOOLEAN NOT NULL DEFAULT TRUE,
    service_forms TEXT NOT NULL,
    other_participants INTEGER NOT NULL DEFAULT 0 CHECK (other_participants >= 0),
    status TEXT NOT NULL CHECK (status IN ('planned', 'held', 'reported', 'cancelled')),
    cancel_reason TEXT,
    notes TEXT,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK (ends_at >= starts_at),
    CHECK (status <> 'cancelled' OR cancel_reason IS NOT NULL)
);
CREATE INDEX events_starts_idx ON events (starts_at);
CREATE INDEX events_region_idx ON events (region_id);
CREATE INDEX events_organiser_idx ON events (organiser_id);

CREATE TABLE event_partners (
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    organisation_id TEXT NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (event_id, organisation_id)
);
CREATE INDEX event_partners_organisation_idx ON event_partners (organisation_id);

CREATE TABLE event_roster (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events (id),
    volunteer_id TEXT NOT NULL REFERENCES volunteers (id),
    role TEXT NOT NULL CHECK (role IN ('lead', 'volunteer', 'teacher', 'counsellor', 'other')),
    minutes INTEGER NOT NULL DEFAULT 0 CHECK (minutes BETWEEN 0 AND 1440),
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX event_roster_key ON event_roster (event_id, volunteer_id);
CREATE INDEX event_roster_volunteer_idx ON event_roster (volunteer_id);

CREATE TABLE event_attendance (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events (id),
    child_id TEXT NOT NULL REFERENCES children (id),
    guardian_present BOOLEAN NOT NULL DEFAULT FALSE,
    notes TEXT,
    recorded_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX event_attendance_key ON event_attendance (event_id, child_id);
CREATE INDEX event_attendance_child_idx ON event_attendance (child_id);
