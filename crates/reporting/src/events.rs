//! The events report: events that took place, by type, programme, service form and region,
//! and the villages they reached.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};
use serde::Serialize;
use tongxing_core::Result;
use tongxing_core::record::parse_id;
use tongxing_events::service_forms::ServiceForm;
use tongxing_store::sql::numbered;
use tongxing_store::{DbConnection, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::csv::Table;
use crate::scope::{Scope, ScopeEcho};
use crate::summary::{EVENTS_IN_SCOPE, EventsByType};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tally {
    /// A programme, service form, or region name.
    pub key: String,
    pub events: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionTally {
    pub region_id: Uuid,
    pub name: String,
    pub events: i64,
    /// Distinct attending children from there (for villages reached).
    pub children: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventsReport {
    pub scope: ScopeEcho,
    /// Events held or reported, whose start falls in the period, in the region.
    pub events_held: i64,
    pub by_type: EventsByType,
    pub by_programme: Vec<Tally>,
    pub by_service_form: Vec<Tally>,
    /// By the village or community where each event took place.
    pub by_region: Vec<RegionTally>,
    /// The attending children's villages.
    pub villages_reached: Vec<RegionTally>,
    pub children_attending: i64,
    pub guardians_present: i64,
    pub other_participants: i64,
}

#[derive(QueryableByName)]
struct KeyCount {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct RegionRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    events: i64,
    #[diesel(sql_type = BigInt)]
    children: i64,
}

#[derive(QueryableByName)]
struct Totals {
    #[diesel(sql_type = BigInt)]
    children: i64,
    #[diesel(sql_type = BigInt)]
    guardians: i64,
}

#[derive(QueryableByName)]
struct Others {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub fn report(conn: &mut DbConnection, scope: &Scope) -> Result<EventsReport> {
    let b = conn.backend();
    let (start, end) = scope.instants();
    let region = scope.region_pattern();
    let load_keys = |conn: &mut DbConnection, sql: String| -> Result<Vec<KeyCount>> {
        diesel::sql_query(numbered(b, &sql))
            .bind::<Timestamp, _>(start)
            .bind::<Timestamp, _>(end)
            .bind::<Text, _>(region.clone())
            .load(conn)
            .map_err(map_db_error)
    };
    let in_scope = format!("e.id IN ({EVENTS_IN_SCOPE})");
    let mut by_type = EventsByType::default();
    for t in load_keys(
        conn,
        format!(
            "SELECT e.event_type AS key, COUNT(*) AS n FROM events e WHERE {in_scope} GROUP BY e.event_type"
        ),
    )? {
        by_type.add(&t.key, t.n);
    }
    let by_programme = load_keys(
        conn,
        format!("SELECT e.programme AS key, COUNT(*) AS n FROM events e WHERE {in_scope} GROUP BY e.programme ORDER BY e.programme"),
    )?
    .into_iter()
    .map(|k| Tally { key: k.key, events: k.n })
    .collect();
    // The forms are a closed set of names, so they are written into the SQL.
    let form_sql = ServiceForm::ALL
        .iter()
        .map(|f| {
            format!(
                "SELECT '{f}' AS key, COUNT(*) AS n FROM events e WHERE {in_scope} AND (',' || e.service_forms || ',') LIKE '%,{f},%'"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let mut form_query = diesel::sql_query(numbered(b, &form_sql)).into_boxed();
    for _ in ServiceForm::ALL {
        form_query =
            form_query.bind::<Timestamp, _>(start).bind::<Timestamp, _>(end).bind::<Text, _>(region.clone());
    }
    let by_service_form: Vec<Tally> = form_query
        .load::<KeyCount>(conn)
        .map_err(map_db_error)?
        .into_iter()
        .filter(|k| k.n > 0)
        .map(|k| Tally { key: k.key, events: k.n })
        .collect();
    let region_rows = |conn: &mut DbConnection, sql: String| -> Result<Vec<RegionTally>> {
        let rows: Vec<RegionRow> = diesel::sql_query(numbered(b, &sql))
            .bind::<Timestamp, _>(start)
            .bind::<Timestamp, _>(end)
            .bind::<Text, _>(region.clone())
            .load(conn)
            .map_err(map_db_error)?;
        rows.into_iter()
            .map(|r| {
                Ok(RegionTally {
                    region_id: parse_id(&r.id)?,
                    name: r.name,
                    events: r.events,
                    children: r.children,
                })
            })
            .collect()
    };
    let by_region = region_rows(
        conn,
        format!(
            "SELECT g.id AS id, g.name AS name, COUNT(*) AS events, CAST(0 AS BIGINT) AS children FROM events e \
             JOIN regions g ON g.id = e.region_id WHERE {in_scope} GROUP BY g.id, g.name ORDER BY events DESC, g.name"
        ),
    )?;
    let villages_reached = region_rows(
        conn,
        format!(
            "SELECT g.id AS id, g.name AS name, COUNT(DISTINCT a.event_id) AS events, COUNT(DISTINCT a.child_id) AS children \
             FROM event_attendance a JOIN children c ON c.id = a.child_id JOIN regions g ON g.id = c.region_id \
             WHERE a.event_id IN ({EVENTS_IN_SCOPE}) GROUP BY g.id, g.name ORDER BY children DESC, g.name"
        ),
    )?;
    let totals: Totals = diesel::sql_query(numbered(
        b,
        &format!(
            "SELECT COUNT(DISTINCT a.child_id) AS children, \
             CAST(COALESCE(SUM(CASE WHEN a.guardian_present THEN 1 ELSE 0 END), 0) AS BIGINT) AS guardians \
             FROM event_attendance a WHERE a.event_id IN ({EVENTS_IN_SCOPE})"
        ),
    ))
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .bind::<Text, _>(region.clone())
    .get_result(conn)
    .map_err(map_db_error)?;
    let others: Others = diesel::sql_query(numbered(
        b,
        &format!("SELECT CAST(COALESCE(SUM(e.other_participants), 0) AS BIGINT) AS n FROM events e WHERE {in_scope}"),
    ))
    .bind::<Timestamp, _>(start)
    .bind::<Timestamp, _>(end)
    .bind::<Text, _>(region)
    .get_result(conn)
    .map_err(map_db_error)?;
    Ok(EventsReport {
        scope: scope.echo(),
        events_held: by_type.total(),
        by_type,
        by_programme,
        by_service_form,
        by_region,
        villages_reached,
        children_attending: totals.children,
        guardians_present: totals.guardians,
        other_participants: others.n,
    })
}

impl EventsReport {
    pub fn to_table(&self) -> Table {
        let mut t = Table::new(&["section", "key", "events", "children"]);
        let types = [
            ("quarterly_theme", self.by_type.quarterly_theme),
            ("care", self.by_type.care),
            ("visit_and_comfort", self.by_type.visit_and_comfort),
            ("mental_health_consultation", self.by_type.mental_health_consultation),
            ("other", self.by_type.other),
        ];
        for (k, n) in types {
            t.push(vec!["type".into(), k.into(), n.to_string(), String::new()]);
        }
        for x in &self.by_programme {
            t.push(vec!["programme".into(), x.key.clone(), x.events.to_string(), String::new()]);
        }
        for x in &self.by_service_form {
            t.push(vec!["service_form".into(), x.key.clone(), x.events.to_string(), String::new()]);
        }
        for x in &self.by_region {
            t.push(vec!["region".into(), x.name.clone(), x.events.to_string(), String::new()]);
        }
        for x in &self.villages_reached {
            t.push(vec![
                "village_reached".into(),
                x.name.clone(),
                x.events.to_string(),
                x.children.to_string(),
            ]);
        }
        t.push(vec![
            "total".into(),
            "events_held".into(),
            self.events_held.to_string(),
            self.children_attending.to_string(),
        ]);
        t
    }
}
