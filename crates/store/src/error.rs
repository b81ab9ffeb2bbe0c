//! The one place where database errors become domain errors, by constraint name.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tongxing_core::Code;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tongxing_core::Error;

/// Rules over several rows, held by an exclusion constraint on PostgreSQL and by a trigger that
/// aborts with the same name on SQLite: the name, the stable code, and the message.
const EXCLUSIONS: &[(&str, Code, &str)] = &[
    (
        "pairings_mentor_intervals_disjoint",
        Code::MentorAlreadyPaired,
        "the mentor has another pairing active over these dates",
    ),
    (
        "pairings_child_intervals_disjoint",
        Code::ChildAlreadyPaired,
        "the child has another pairing active over these dates",
    ),
];

/// Unique constraints the domain names to clients: PostgreSQL constraint name, the column list
/// SQLite reports, the stable code, and the message.
const UNIQUE: &[(&str, &str, Code, &str)] = &[
    ("users_username_key", "users.username", Code::UsernameTaken, "a user with this username exists"),
    (
        "organisations_name_key",
        "organisations.name",
        Code::OrganisationNameTaken,
        "an organisation with this name exists",
    ),
    ("teams_name_key", "teams.name", Code::TeamNameTaken, "a team with this name exists"),
    (
        "volunteers_user_key",
        "volunteers.user_id",
        Code::UserAlreadyVolunteer,
        "this user account already belongs to a volunteer",
    ),
    (
        "event_roster_key",
        "event_roster.event_id, event_roster.volunteer_id",
        Code::AlreadyRostered,
        "the volunteer is already on the roster",
    ),
    (
        "event_attendance_key",
        "event_attendance.event_id, event_attendance.child_id",
        Code::AlreadyAttending,
        "the child's attendance is already recorded",
    ),
    (
        "pairings_one_active_per_mentor",
        "pairings.mentor_id",
        Code::MentorAlreadyPaired,
        "the mentor already has an active pairing",
    ),
    (
        "pairings_one_active_per_child",
        "pairings.child_id",
        Code::ChildAlreadyPaired,
        "the child already has an active pairing",
    ),
    (
        "mentors_user_key",
        "mentors.user_id",
        Code::UserAlreadyMentor,
        "this user account already belongs to a mentor",
    ),
    ("cadence_rules_code_key", "cadence_rules.code", Code::RuleCodeTaken, "a rule with this code exists"),
    (
        "cadence_rule_versions_key",
        "cadence_rule_versions.rule_id, cadence_rule_versions.effective_from",
        Code::RuleVersionExists,
        "the rule already changes on this date",
    ),
    (
        "compliance_exemptions_key",
        "compliance_exemptions.rule_id, compliance_exemptions.subject_id, compliance_exemptions.period_start",
        Code::AlreadyExempt,
        "this period is already exempt",
    ),
    (
        "children_case_number_key",
        "children.case_number",
        Code::CaseNumberTaken,
        "this case-file number is in use",
    ),
    ("regions_code_key", "regions.code", Code::RegionCodeTaken, "a region with this division code exists"),
    (
        "regions_parent_name_key",
        "regions.parent_id, regions.name",
        Code::RegionNameTaken,
        "the parent region already has a region of this name",
    ),
    (
        "idempotency_keys_pkey",
        "idempotency_keys.actor_id, idempotency_keys.key",
        Code::IdempotencyKeyInUse,
        "a request with this Idempotency-Key is being processed",
    ),
];

pub fn map_db_error(e: DieselError) -> Error {
    match e {
        DieselError::NotFound => Error::not_found("record"),
        DieselError::DatabaseError(kind, info) => {
            let constraint = info.constraint_name().unwrap_or_default().to_owned();
            let message = info.message().to_owned();
            for (name, code, detail) in EXCLUSIONS {
                if constraint == *name || message == *name {
                    return Error::conflict(*code, *detail);
                }
            }
            match kind {
                DatabaseErrorKind::UniqueViolation => {
                    for (pg, sqlite, code, detail) in UNIQUE {
                        if constraint == *pg || message.ends_with(sqlite) {
                            return Error::conflict(*code, *detail);
                        }
                    }
                    if constraint.ends_with("_pkey") || message.ends_with(".id") {
                        return Error::conflict(Code::IdTaken, "a record with this id exists");
                    }
                    Error::conflict(Code::Duplicate, "the record duplicates an existing one")
                }
                DatabaseErrorKind::ForeignKeyViolation => Error::conflict(
                    Code::ReferenceMissing,
                    "the record refers to a record that does not exist",
                ),
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::ReadOnlyTransaction => {
                    unavailable(&message)
                }
                _ if is_unavailable(&message) => unavailable(&message),
                _ => Error::internal(format!("database error ({kind:?}, {constraint}): {message}")),
            }
        }
        DieselError::BrokenTransactionManager => unavailable("broken transaction manager"),
        other => Error::internal(format!("database error: {other}")),
    }
}

/// SQLite reports a busy, read-only or full database by message; so does a PostgreSQL server
/// that went away in the middle of a query.
fn is_unavailable(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "database is locked",
        "readonly database",
        "database or disk is full",
        "disk i/o error",
        "server closed the connection",
        "terminating connection",
        "connection refused",
        "no connection to the server",
        "could not connect",
        "the database system is",
    ]
    .iter()
    .any(|s| m.contains(s))
}

/// The cause travels in `detail`: the API logs it once when it answers 503.
fn unavailable(message: &str) -> Error {
    note_failure();
    Error::Unavailable { detail: format!("the database is not available: {message}") }
}

/// When the database last failed in a way that may have cut pooled connections, in
/// milliseconds on [`clock`]; 0 for never.
static LAST_FAILURE: AtomicU64 = AtomicU64::new(0);

/// Milliseconds since the first call, plus one (so that 0 means "never").
fn clock() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    u64::try_from(START.get_or_init(Instant::now).elapsed().as_millis()).unwrap_or(u64::MAX).saturating_add(1)
}

/// Remembers that the database has just failed (see [`failed_within`]).
pub(crate) fn note_failure() {
    LAST_FAILURE.store(clock(), Ordering::Relaxed);
}

/// Whether the database failed less than `window` ago.
pub(crate) fn failed_within(window: Duration) -> bool {
    let at = LAST_FAILURE.load(Ordering::Relaxed);
    let window = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    at != 0 && clock().saturating_sub(at) < window
}

/// Maps a `NotFound` from a single-row query to the named resource.
pub fn not_found_as(resource: &'static str) -> impl Fn(DieselError) -> Error {
    move |e| match e {
        DieselError::NotFound => Error::not_found(resource),
        other => map_db_error(other),
    }
}
