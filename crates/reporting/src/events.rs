//! The events report: events that took place, by type, programme, service form and region,
//! and the villages they reached.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use tongxing_core::Result;
use tongxing_core::record::parse_id;
use tongxing_events::service_forms::ServiceForm;
use tongxing_store::{DbConnection, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::csv::{Table, Words, count};
use crate::scope::{Coverage, ScopeEcho};
use crate::summary::{EventsByType, events_in_scope, scoped};
use crate::suppression::{Grid, Slot, Suppression};

// Not `Tally`: the compliance report's `Tally` (active, met, missed, exempt) is another shape,
// and two schema types of one name are one schema in the contract.
/// Events counted under one key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventTally {
    /// A programme or service form.
    pub key: String,
    pub events: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionTally {
    pub region_id: Uuid,
    pub name: String,
    /// Events (for villages reached: the events its children attended; `null` where their
    /// number is withheld).
    #[schema(required = true)]
    pub events: Option<i64>,
    /// Distinct attending children from there (for villages reached; `null` where withheld).
    #[schema(required = true)]
    pub children: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventsReport {
    pub scope: ScopeEcho,
    /// Events held or reported, whose start falls in the period, in the region.
    pub events_held: i64,
    pub by_type: EventsByType,
    pub by_programme: Vec<EventTally>,
    pub by_service_form: Vec<EventTally>,
    /// By the village or community where each event took place.
    pub by_region: Vec<RegionTally>,
    /// The attending children's villages.
    pub villages_reached: Vec<RegionTally>,
    /// The same figure as `children_attending_events_held_here`, under its first name.
    #[schema(required = true)]
    #[schema(deprecated)]
    pub children_attending: Option<i64>,
    /// Distinct children, wherever they live, recorded as attending the events held in the
    /// region (the events this report counts).
    #[schema(required = true)]
    pub children_attending_events_held_here: Option<i64>,
    /// Distinct children living in the region recorded as attending events held anywhere,
    /// started in the period (held or reported).
    #[schema(required = true)]
    pub children_of_region_attending_anywhere: Option<i64>,
    #[schema(required = true)]
    pub guardians_present: Option<i64>,
    pub other_participants: i64,
    /// Present when small cells were withheld from this answer: which, and below what.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
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

pub fn report(conn: &mut DbConnection, scope: &Coverage) -> Result<EventsReport> {
    let in_scope = format!("e.id IN ({})", events_in_scope(scope));
    let mut by_type = EventsByType::default();
    let types: Vec<KeyCount> = scoped(
        conn,
        scope,
        &format!(
            "SELECT e.event_type AS key, COUNT(*) AS n FROM events e WHERE {in_scope} GROUP BY e.event_type"
        ),
        true,
    )
    .load(conn)
    .map_err(map_db_error)?;
    for t in types {
        by_type.add(&t.key, t.n);
    }
    let by_programme: Vec<EventTally> = scoped(
        conn,
        scope,
        &format!("SELECT e.programme AS key, COUNT(*) AS n FROM events e WHERE {in_scope} GROUP BY e.programme ORDER BY e.programme"),
        true,
    )
    .load::<KeyCount>(conn)
    .map_err(map_db_error)?
    .into_iter()
    .map(|k| EventTally { key: k.key, events: k.n })
    .collect();
    // One pass over the events for all eleven forms (a closed set of names, written into the SQL).
    let sums = ServiceForm::ALL
        .iter()
        .map(|f| format!("CAST(COALESCE(SUM(CASE WHEN (',' || e.service_forms || ',') LIKE '%,{f},%' THEN 1 ELSE 0 END), 0) AS BIGINT) AS {f}"))
        .collect::<Vec<_>>()
        .join(", ");
    let forms: FormCounts =
        scoped(conn, scope, &format!("SELECT {sums} FROM events e WHERE {in_scope}"), true)
            .get_result(conn)
            .map_err(map_db_error)?;
    let by_service_form: Vec<EventTally> = ServiceForm::ALL
        .iter()
        .zip(forms.counts())
        .filter(|(_, n)| *n > 0)
        .map(|(f, n)| EventTally { key: f.as_str().to_owned(), events: n })
        .collect();
    let region_rows = |conn: &mut DbConnection, sql: String| -> Result<Vec<RegionTally>> {
        let rows: Vec<RegionRow> = scoped(conn, scope, &sql, true).load(conn).map_err(map_db_error)?;
        rows.into_iter()
            .map(|r| {
                Ok(RegionTally {
                    region_id: parse_id(&r.id)?,
                    name: r.name,
                    events: Some(r.events),
                    children: Some(r.children),
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
             WHERE a.event_id IN ({}) GROUP BY g.id, g.name ORDER BY children DESC, g.name",
            events_in_scope(scope)
        ),
    )?;
    let totals: Totals = scoped(
        conn,
        scope,
        &format!(
            "SELECT COUNT(DISTINCT a.child_id) AS children, \
             CAST(COALESCE(SUM(CASE WHEN a.guardian_present THEN 1 ELSE 0 END), 0) AS BIGINT) AS guardians \
             FROM event_attendance a WHERE a.event_id IN ({})",
            events_in_scope(scope)
        ),
        true,
    )
    .get_result(conn)
    .map_err(map_db_error)?;
    let anywhere: Others = scoped(
        conn,
        scope,
        &format!(
            "SELECT COUNT(DISTINCT a.child_id) AS n FROM event_attendance a \
             JOIN events e ON e.id = a.event_id JOIN children c ON c.id = a.child_id \
             WHERE e.status IN ('held', 'reported') AND e.starts_at >= ? AND e.starts_at < ?{}",
            scope.region_clause("c.region_id")
        ),
        true,
    )
    .get_result(conn)
    .map_err(map_db_error)?;
    let others: Others = scoped(
        conn,
        scope,
        &format!("SELECT CAST(COALESCE(SUM(e.other_participants), 0) AS BIGINT) AS n FROM events e WHERE {in_scope}"),
        true,
    )
    .get_result(conn)
    .map_err(map_db_error)?;
    let mut report = EventsReport {
        scope: scope.echo(),
        events_held: by_type.total(),
        by_type,
        by_programme,
        by_service_form,
        by_region,
        villages_reached,
        children_attending: Some(totals.children),
        children_attending_events_held_here: Some(totals.children),
        children_of_region_attending_anywhere: Some(anywhere.n),
        guardians_present: Some(totals.guardians),
        other_participants: others.n,
        suppression: None,
    };
    let villages: Vec<Uuid> = report.villages_reached.iter().map(|v| v.region_id).collect();
    let outside = scope.outside_reader(conn, &villages)?;
    if let Some(grid) = scope.grid(&outside) {
        report.suppression = scope.shown(report.protect(grid, &outside));
    }
    Ok(report)
}

#[derive(QueryableByName)]
struct FormCounts {
    #[diesel(sql_type = BigInt)]
    psychological_counselling: i64,
    #[diesel(sql_type = BigInt)]
    traditional_culture_education: i64,
    #[diesel(sql_type = BigInt)]
    traditional_skills_teaching: i64,
    #[diesel(sql_type = BigInt)]
    family_education_guidance: i64,
    #[diesel(sql_type = BigInt)]
    gratitude_education: i64,
    #[diesel(sql_type = BigInt)]
    sports_teaching: i64,
    #[diesel(sql_type = BigInt)]
    proxy_parenting: i64,
    #[diesel(sql_type = BigInt)]
    reading_companionship: i64,
    #[diesel(sql_type = BigInt)]
    interactive_games: i64,
    #[diesel(sql_type = BigInt)]
    handicrafts: i64,
    #[diesel(sql_type = BigInt)]
    hand_painting: i64,
}

impl FormCounts {
    /// In the order of `ServiceForm::ALL`.
    fn counts(&self) -> [i64; 11] {
        [
            self.psychological_counselling,
            self.traditional_culture_education,
            self.traditional_skills_teaching,
            self.family_education_guidance,
            self.gratitude_education,
            self.sports_teaching,
            self.proxy_parenting,
            self.reading_companionship,
            self.interactive_games,
            self.handicrafts,
            self.hand_painting,
        ]
    }
}

/// The columns of the report's table (keys of its words, as `csv::Words` asks for them).
pub const COLUMNS: &[&str] = &["section", "key", "events", "children"];

impl EventsReport {
    /// Withholds the small counts of attending children and what they tell: each village's
    /// children (which add up to all attending children, each child living in one place) and
    /// the events they attended, and the guardians present. The events themselves are
    /// programme records, always shown.
    /// Withholds the small counts of attending children (in a partial grid, of the villages in
    /// `outside`, whose children the caller may not read).
    fn protect<'a>(&'a mut self, mut g: Grid<'a>, outside: &HashSet<Uuid>) -> Suppression {
        let attending = g.count(
            "/children_attending_events_held_here".into(),
            &mut self.children_attending_events_held_here,
        );
        // The same figure twice: withheld together.
        let alias = g.count("/children_attending".into(), &mut self.children_attending);
        g.adds_up(vec![attending, alias]);
        // Children of the region, wherever they attended: a figure of its own.
        g.count(
            "/children_of_region_attending_anywhere".into(),
            &mut self.children_of_region_attending_anywhere,
        );
        let guardians = g.count("/guardians_present".into(), &mut self.guardians_present);
        let mut parts = vec![attending];
        let mut members = vec![guardians];
        for (i, v) in self.villages_reached.iter_mut().enumerate() {
            let beyond = outside.contains(&v.region_id);
            let children = g.count(format!("/villages_reached/{i}/children"), &mut v.children);
            if beyond {
                g.protect(children);
            }
            let events = g.figure(format!("/villages_reached/{i}/events"), Slot::Count(&mut v.events));
            g.within(children, &[events]);
            parts.push(children);
            members.extend([children, events]);
        }
        g.adds_up(parts);
        g.within(attending, &members);
        g.finish()
    }

    pub fn to_table(&self, words: &dyn Words) -> Table {
        let mut t = Table::by(words, COLUMNS, "section");
        let types = [
            ("quarterly_theme", self.by_type.quarterly_theme),
            ("care", self.by_type.care),
            ("visit_and_comfort", self.by_type.visit_and_comfort),
            ("mental_health_consultation", self.by_type.mental_health_consultation),
            ("other", self.by_type.other),
        ];
        let (label, none) = (|k: &str| words.label(k), String::new);
        for (k, n) in types {
            t.push(vec![label("type"), label(k), n.to_string(), none()]);
        }
        for x in &self.by_programme {
            t.push(vec![label("programme"), label(&x.key), x.events.to_string(), none()]);
        }
        for x in &self.by_service_form {
            t.push(vec![label("service_form"), label(&x.key), x.events.to_string(), none()]);
        }
        for x in &self.by_region {
            t.push(vec![label("region"), x.name.clone(), count(x.events), none()]);
        }
        for x in &self.villages_reached {
            t.push(vec![label("village_reached"), x.name.clone(), count(x.events), count(x.children)]);
        }
        t.push(vec![
            label("total"),
            label("events_held"),
            self.events_held.to_string(),
            count(self.children_attending_events_held_here),
        ]);
        t.push(vec![
            label("total"),
            label("children_of_region_attending_anywhere"),
            none(),
            count(self.children_of_region_attending_anywhere),
        ]);
        t.note(words, self.suppression.as_ref());
        t
    }
}
