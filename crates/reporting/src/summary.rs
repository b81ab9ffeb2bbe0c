//! The programme summary: the figures the bureau publishes, each by its definition.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text, Timestamp};
use serde::Serialize;
use tongxing_core::Result;
use tongxing_store::sql::numbered;
use tongxing_store::{DbConnection, map_db_error};
use utoipa::ToSchema;

use crate::scope::{Scope, ScopeEcho};

/// Events that took place, by type (every type present, zero when none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct EventsByType {
    pub quarterly_theme: i64,
    pub care: i64,
    pub visit_and_comfort: i64,
    pub mental_health_consultation: i64,
    pub other: i64,
}

impl EventsByType {
    pub fn add(&mut self, event_type: &str, n: i64) {
        match event_type {
            "quarterly_theme" => self.quarterly_theme += n,
            "care" => self.care += n,
            "visit_and_comfort" => self.visit_and_comfort += n,
            "mental_health_consultation" => self.mental_health_consultation += n,
            _ => self.other += n,
        }
    }

    pub fn total(&self) -> i64 {
        self.quarterly_theme
            + self.care
            + self.visit_and_comfort
            + self.mental_health_consultation
            + self.other
    }
}

/// The definition each figure follows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryDefinitions {
    pub children_registered: &'static str,
    pub families_phoned: &'static str,
    pub children_visited: &'static str,
    pub events_held_by_type: &'static str,
    pub children_attending_events: &'static str,
    pub volunteers_active: &'static str,
    pub volunteer_hours: &'static str,
    pub children_assessed: &'static str,
}

pub const DEFINITIONS: SummaryDefinitions = SummaryDefinitions {
    children_registered: "Children whose case file was opened (status reached `registered`) on a day in the period, counted by the date the file was opened, living in the region. Children in screening are not counted.",
    families_phoned: "Distinct households in the region with at least one completed phone visit in the period, whatever their children's status.",
    children_visited: "Distinct children in the region with at least one completed in-person visit (home, school or centre) in the period.",
    events_held_by_type: "Events held or reported (not planned or cancelled) in the region whose start falls in the period, by event type.",
    children_attending_events: "Distinct children recorded as attending those events.",
    volunteers_active: "Distinct volunteers on the roster of those events.",
    volunteer_hours: "Hours served by the volunteers on the roster of those events.",
    children_assessed: "Distinct children in the region with an assessment dated in the period.",
};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgrammeSummary {
    pub scope: ScopeEcho,
    pub children_registered: i64,
    pub families_phoned: i64,
    pub children_visited: i64,
    pub events_held_by_type: EventsByType,
    pub events_held: i64,
    pub children_attending_events: i64,
    pub volunteers_active: i64,
    pub volunteer_hours: f64,
    pub children_assessed: i64,
    pub definitions: SummaryDefinitions,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct TypeCount {
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Roster {
    #[diesel(sql_type = BigInt)]
    volunteers: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    minutes: Option<i64>,
}

const IN_REGION: &str = "IN (SELECT r.id FROM regions r WHERE r.path LIKE ?)";

/// Events counted by the summary: held or reported, starting in the period, in the region.
pub(crate) const EVENTS_IN_SCOPE: &str = "SELECT e.id FROM events e WHERE e.status IN ('held', 'reported') \
    AND e.starts_at >= ? AND e.starts_at < ? AND e.region_id IN (SELECT r.id FROM regions r WHERE r.path LIKE ?)";

pub fn summary(conn: &mut DbConnection, scope: &Scope) -> Result<ProgrammeSummary> {
    let b = conn.backend();
    let (start, end) = scope.instants();
    let region = scope.region_pattern();
    let count = |conn: &mut DbConnection, sql: String, instants: bool| -> Result<i64> {
        let q = diesel::sql_query(numbered(b, &sql)).into_boxed();
        let q = if instants {
            q.bind::<Timestamp, _>(start).bind::<Timestamp, _>(end)
        } else {
            q.bind::<Date, _>(scope.first_day()).bind::<Date, _>(scope.to)
        };
        q.bind::<Text, _>(region.clone()).get_result::<Count>(conn).map(|c| c.n).map_err(map_db_error)
    };
    let children_registered = count(
        conn,
        format!(
            "SELECT COUNT(*) AS n FROM children c WHERE c.registered_on >= ? AND c.registered_on <= ? AND c.region_id {IN_REGION}"
        ),
        false,
    )?;
    let families_phoned = count(
        conn,
        format!(
            "SELECT COUNT(DISTINCT ct.household_id) AS n FROM contacts ct JOIN households h ON h.id = ct.household_id \
             WHERE ct.kind = 'phone_visit' AND ct.outcome = 'completed' AND ct.occurred_at >= ? AND ct.occurred_at < ? \
             AND h.region_id {IN_REGION}"
        ),
        true,
    )?;
    let children_visited = count(
        conn,
        format!(
            "SELECT COUNT(DISTINCT ct.child_id) AS n FROM contacts ct JOIN children c ON c.id = ct.child_id \
             WHERE ct.kind IN ('home_visit', 'school_visit', 'centre_visit') AND ct.outcome = 'completed' \
             AND ct.occurred_at >= ? AND ct.occurred_at < ? AND c.region_id {IN_REGION}"
        ),
        true,
    )?;
    let children_assessed = count(
        conn,
        format!(
            "SELECT COUNT(DISTINCT a.child_id) AS n FROM assessments a JOIN children c ON c.id = a.child_id \
             WHERE a.assessed_on >= ? AND a.assessed_on <= ? AND c.region_id {IN_REGION}"
        ),
        false,
    )?;
    let by_type: Vec<TypeCount> = diesel::sql_query(numbered(
        b,
        &format!(
            "SELECT e.event_type AS event_type, COUNT(*) AS n FROM events e WHERE e.id IN ({EVENTS_IN_SCOPE}) GROUP BY e.event_type"
        ),
    ))
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .bind::<Text, _>(region.clone())
    .load(conn)
    .map_err(map_db_error)?;
    let mut events_held_by_type = EventsByType::default();
    for t in by_type {
        events_held_by_type.add(&t.event_type, t.n);
    }
    let children_attending_events = diesel::sql_query(numbered(
        b,
        &format!("SELECT COUNT(DISTINCT a.child_id) AS n FROM event_attendance a WHERE a.event_id IN ({EVENTS_IN_SCOPE})"),
    ))
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .bind::<Text, _>(region.clone())
    .get_result::<Count>(conn)
    .map_err(map_db_error)?
    .n;
    let roster: Roster = diesel::sql_query(numbered(
        b,
        &format!(
            "SELECT COUNT(DISTINCT r.volunteer_id) AS volunteers, CAST(SUM(r.minutes) AS BIGINT) AS minutes \
             FROM event_roster r WHERE r.event_id IN ({EVENTS_IN_SCOPE})"
        ),
    ))
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .bind::<Text, _>(region)
    .get_result(conn)
    .map_err(map_db_error)?;
    Ok(ProgrammeSummary {
        scope: scope.echo(),
        children_registered,
        families_phoned,
        children_visited,
        events_held: events_held_by_type.total(),
        events_held_by_type,
        children_attending_events,
        volunteers_active: roster.volunteers,
        volunteer_hours: roster.minutes.unwrap_or(0) as f64 / 60.0,
        children_assessed,
        definitions: DEFINITIONS,
    })
}
