//! The programme summary: the figures the bureau publishes, each by its definition.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::Serialize;
use tongxing_core::Result;
use tongxing_store::sql::numbered;
use tongxing_store::{DbConnection, map_db_error};
use utoipa::ToSchema;

use crate::csv::{Table, number};
use crate::scope::{Coverage, ScopeEcho};
use crate::suppression::{Grid, Suppression, Threshold};

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

/// The figures about children are `null` where small cells are withheld (see `suppression`);
/// the figures about events and volunteers are always shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProgrammeSummary {
    pub scope: ScopeEcho,
    #[schema(required = true)]
    pub children_registered: Option<i64>,
    #[schema(required = true)]
    pub families_phoned: Option<i64>,
    #[schema(required = true)]
    pub children_visited: Option<i64>,
    pub events_held_by_type: EventsByType,
    pub events_held: i64,
    #[schema(required = true)]
    pub children_attending_events: Option<i64>,
    pub volunteers_active: i64,
    pub volunteer_hours: f64,
    #[schema(required = true)]
    pub children_assessed: Option<i64>,
    pub definitions: SummaryDefinitions,
    /// Present when small cells were withheld from this answer: which, and below what.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
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

/// Events counted by the summary: held or reported, starting in the period, in the region.
/// Binds: the two instants, then the region pattern when the scope has a region.
pub(crate) fn events_in_scope(scope: &Coverage) -> String {
    format!(
        "SELECT e.id FROM events e WHERE e.status IN ('held', 'reported') AND e.starts_at >= ? AND e.starts_at < ?{}",
        scope.region_clause("e.region_id")
    )
}

type Query = diesel::query_builder::BoxedSqlQuery<
    'static,
    tongxing_store::conn::MultiBackend,
    diesel::query_builder::SqlQuery,
>;

/// A query over the scope. `sql` holds one or more sets of the scope's placeholders, each the
/// period's two bounds (instants or dates), then the region pattern when the scope has a region.
/// The bounds are written into the SQL as literals (see [`crate::scope::date_literal`]); the
/// region patterns are bound.
pub(crate) fn scoped(conn: &DbConnection, scope: &Coverage, sql: &str, instants: bool) -> Query {
    let b = conn.backend();
    let (start, end) = scope.period_literals(b, instants);
    let per_set = if scope.region_prefix.is_some() { 3 } else { 2 };
    let mut text = String::with_capacity(sql.len() + 64);
    let mut regions = 0;
    for (i, part) in sql.split('?').enumerate() {
        if i > 0 {
            match (i - 1) % per_set {
                0 => text.push_str(&start),
                1 => text.push_str(&end),
                _ => {
                    text.push('?');
                    regions += 1;
                }
            }
        }
        text.push_str(part);
    }
    let mut q = diesel::sql_query(numbered(b, &text)).into_boxed();
    for _ in 0..regions {
        q = q.bind::<Text, _>(scope.region_pattern());
    }
    q
}

pub fn summary(conn: &mut DbConnection, scope: &Coverage) -> Result<ProgrammeSummary> {
    let count = |conn: &mut DbConnection, sql: String, instants: bool| -> Result<i64> {
        scoped(conn, scope, &sql, instants).get_result::<Count>(conn).map(|c| c.n).map_err(map_db_error)
    };
    let children_registered = count(
        conn,
        format!(
            "SELECT COUNT(*) AS n FROM children c WHERE c.registered_on >= ? AND c.registered_on <= ?{}",
            scope.region_clause("c.region_id")
        ),
        false,
    )?;
    let (household_join, household_region) = match scope.region_prefix {
        Some(_) => (" JOIN households h ON h.id = ct.household_id", scope.region_clause("h.region_id")),
        None => ("", String::new()),
    };
    let families_phoned = count(
        conn,
        format!(
            "SELECT COUNT(*) AS n FROM (SELECT ct.household_id FROM contacts ct{household_join} \
             WHERE ct.kind = 'phone_visit' AND ct.outcome = 'completed' AND ct.occurred_at >= ? AND ct.occurred_at < ?{household_region} \
             GROUP BY ct.household_id) d"
        ),
        true,
    )?;
    let (child_join, child_region) = match scope.region_prefix {
        Some(_) => (" JOIN children c ON c.id = ct.child_id", scope.region_clause("c.region_id")),
        None => ("", String::new()),
    };
    let children_visited = count(
        conn,
        format!(
            "SELECT COUNT(*) AS n FROM (SELECT ct.child_id FROM contacts ct{child_join} \
             WHERE ct.kind IN ('home_visit', 'school_visit', 'centre_visit') AND ct.outcome = 'completed' \
             AND ct.occurred_at >= ? AND ct.occurred_at < ?{child_region} GROUP BY ct.child_id) d"
        ),
        true,
    )?;
    let (assessed_join, assessed_region) = match scope.region_prefix {
        Some(_) => (" JOIN children c ON c.id = a.child_id", scope.region_clause("c.region_id")),
        None => ("", String::new()),
    };
    let children_assessed = count(
        conn,
        format!(
            "SELECT COUNT(*) AS n FROM (SELECT a.child_id FROM assessments a{assessed_join} \
             WHERE a.assessed_on >= ? AND a.assessed_on <= ?{assessed_region} GROUP BY a.child_id) d"
        ),
        false,
    )?;
    let in_scope = events_in_scope(scope);
    let by_type: Vec<TypeCount> = scoped(
        conn,
        scope,
        &format!("SELECT e.event_type AS event_type, COUNT(*) AS n FROM events e WHERE e.id IN ({in_scope}) GROUP BY e.event_type"),
        true,
    )
    .load(conn)
    .map_err(map_db_error)?;
    let mut events_held_by_type = EventsByType::default();
    for t in by_type {
        events_held_by_type.add(&t.event_type, t.n);
    }
    let children_attending_events = count(
        conn,
        format!(
            "SELECT COUNT(DISTINCT a.child_id) AS n FROM event_attendance a WHERE a.event_id IN ({in_scope})"
        ),
        true,
    )?;
    let roster: Roster = scoped(
        conn,
        scope,
        &format!(
            "SELECT COUNT(DISTINCT r.volunteer_id) AS volunteers, CAST(SUM(r.minutes) AS BIGINT) AS minutes \
             FROM event_roster r WHERE r.event_id IN ({in_scope})"
        ),
        true,
    )
    .get_result(conn)
    .map_err(map_db_error)?;
    let mut summary = ProgrammeSummary {
        scope: scope.echo(),
        children_registered: Some(children_registered),
        families_phoned: Some(families_phoned),
        children_visited: Some(children_visited),
        events_held: events_held_by_type.total(),
        events_held_by_type,
        children_attending_events: Some(children_attending_events),
        volunteers_active: roster.volunteers,
        volunteer_hours: roster.minutes.unwrap_or(0) as f64 / 60.0,
        children_assessed: Some(children_assessed),
        definitions: DEFINITIONS,
        suppression: None,
    };
    if let Some(threshold) = scope.small_cells {
        summary.suppression = Some(summary.protect(threshold));
    }
    Ok(summary)
}

impl ProgrammeSummary {
    /// Withholds the small counts of children and households (each stands alone: no figure of
    /// the summary adds up to another).
    fn protect(&mut self, threshold: Threshold) -> Suppression {
        let mut g = Grid::new(threshold);
        g.count("/children_registered".into(), &mut self.children_registered);
        g.count("/families_phoned".into(), &mut self.families_phoned);
        g.count("/children_visited".into(), &mut self.children_visited);
        g.count("/children_attending_events".into(), &mut self.children_attending_events);
        g.count("/children_assessed".into(), &mut self.children_assessed);
        g.finish()
    }

    pub fn to_table(&self) -> Table {
        let d = &self.definitions;
        let mut t = Table::new(&["figure", "value", "definition"]);
        let t_ = &self.events_held_by_type;
        let count = |n: Option<i64>| n.map(|n| n as f64);
        let rows: [(&str, Option<f64>, &str); 13] = [
            ("children_registered", count(self.children_registered), d.children_registered),
            ("families_phoned", count(self.families_phoned), d.families_phoned),
            ("children_visited", count(self.children_visited), d.children_visited),
            ("events_held.quarterly_theme", Some(t_.quarterly_theme as f64), d.events_held_by_type),
            ("events_held.care", Some(t_.care as f64), d.events_held_by_type),
            ("events_held.visit_and_comfort", Some(t_.visit_and_comfort as f64), d.events_held_by_type),
            (
                "events_held.mental_health_consultation",
                Some(t_.mental_health_consultation as f64),
                d.events_held_by_type,
            ),
            ("events_held.other", Some(t_.other as f64), d.events_held_by_type),
            ("events_held", Some(self.events_held as f64), d.events_held_by_type),
            ("children_attending_events", count(self.children_attending_events), d.children_attending_events),
            ("volunteers_active", Some(self.volunteers_active as f64), d.volunteers_active),
            ("volunteer_hours", Some(self.volunteer_hours), d.volunteer_hours),
            ("children_assessed", count(self.children_assessed), d.children_assessed),
        ];
        for (k, v, def) in rows {
            t.push(vec![k.to_owned(), v.map(number).unwrap_or_default(), def.to_owned()]);
        }
        t.note(self.suppression.as_ref());
        t
    }
}
