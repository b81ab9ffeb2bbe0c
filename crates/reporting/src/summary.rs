//! The programme summary: the figures the bureau publishes, each by its definition.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::Serialize;
use tongxing_cases::children::Category;
use tongxing_core::Result;
use tongxing_core::record::parse_id;
use tongxing_store::sql::numbered;
use tongxing_store::{DbConnection, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::csv::{Table, Words, number};
use crate::scope::{Coverage, ScopeEcho};
use crate::suppression::{Grid, Suppression};

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
    pub by_category: &'static str,
    pub by_village: &'static str,
}

impl SummaryDefinitions {
    /// Every definition by its key (the CSV asks for its words by these).
    pub fn each(&self) -> [(&'static str, &'static str); 10] {
        [
            ("children_registered", self.children_registered),
            ("families_phoned", self.families_phoned),
            ("children_visited", self.children_visited),
            ("events_held_by_type", self.events_held_by_type),
            ("children_attending_events", self.children_attending_events),
            ("volunteers_active", self.volunteers_active),
            ("volunteer_hours", self.volunteer_hours),
            ("children_assessed", self.children_assessed),
            ("by_category", self.by_category),
            ("by_village", self.by_village),
        ]
    }
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
    by_category: "The children of each figure in each category they are recorded in (orphaned or disabled, left-behind, in difficulty); a child in two categories counts in both.",
    by_village: "The children (for families_phoned, the households) of each figure by the region where they live; the villages add up to the totals.",
};

/// The figures about children of one category (a child may be in more than one, so the
/// categories need not add up to the totals); `null` where withheld.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CategoryFigures {
    pub category: Category,
    #[schema(required = true)]
    pub children_registered: Option<i64>,
    #[schema(required = true)]
    pub children_visited: Option<i64>,
    #[schema(required = true)]
    pub children_attending_events: Option<i64>,
    #[schema(required = true)]
    pub children_assessed: Option<i64>,
}

/// The figures about the children (and households) of one village or community, by where they
/// live; the villages add up to the totals. `null` where withheld.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VillageFigures {
    pub region_id: Uuid,
    /// The village or community name (names repeat across towns; the id does not).
    pub name: String,
    #[schema(required = true)]
    pub children_registered: Option<i64>,
    #[schema(required = true)]
    pub families_phoned: Option<i64>,
    #[schema(required = true)]
    pub children_visited: Option<i64>,
    #[schema(required = true)]
    pub children_attending_events: Option<i64>,
    #[schema(required = true)]
    pub children_assessed: Option<i64>,
}

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
    /// The child figures by category: orphaned or disabled, left-behind, in difficulty.
    pub by_category: Vec<CategoryFigures>,
    /// The figures by the village or community where each child (or household) lives.
    pub by_village: Vec<VillageFigures>,
    pub definitions: SummaryDefinitions,
    /// Present when small cells were withheld from this answer: which, and below what.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
}

/// One figure's members by the region where they live, with the children in each category.
#[derive(QueryableByName)]
struct Breakdown {
    #[diesel(sql_type = Text)]
    region_id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    orphaned_or_disabled: i64,
    #[diesel(sql_type = BigInt)]
    left_behind: i64,
    #[diesel(sql_type = BigInt)]
    in_difficulty: i64,
}

/// The children whose ids `ids` selects, by region and category.
fn children_by_region(ids: &str) -> String {
    format!(
        "SELECT g.id AS region_id, g.name AS name, CAST(COUNT(*) AS BIGINT) AS n, \
         CAST(SUM(CASE WHEN bc.in_welfare_centre THEN 1 ELSE 0 END) AS BIGINT) AS orphaned_or_disabled, \
         CAST(SUM(CASE WHEN bc.left_behind THEN 1 ELSE 0 END) AS BIGINT) AS left_behind, \
         CAST(SUM(CASE WHEN bc.in_difficulty THEN 1 ELSE 0 END) AS BIGINT) AS in_difficulty \
         FROM children bc JOIN regions g ON g.id = bc.region_id WHERE bc.id IN ({ids}) GROUP BY g.id, g.name"
    )
}

/// The households whose ids `ids` selects, by region.
fn households_by_region(ids: &str) -> String {
    format!(
        "SELECT g.id AS region_id, g.name AS name, CAST(COUNT(*) AS BIGINT) AS n, \
         CAST(0 AS BIGINT) AS orphaned_or_disabled, CAST(0 AS BIGINT) AS left_behind, CAST(0 AS BIGINT) AS in_difficulty \
         FROM households bh JOIN regions g ON g.id = bh.region_id WHERE bh.id IN ({ids}) GROUP BY g.id, g.name"
    )
}

/// A figure's total and its breakdowns.
struct Figure(Vec<Breakdown>);

impl Figure {
    fn total(&self) -> i64 {
        self.0.iter().map(|b| b.n).sum()
    }

    fn category(&self, c: Category) -> i64 {
        self.0
            .iter()
            .map(|b| match c {
                Category::OrphanedOrDisabled => b.orphaned_or_disabled,
                Category::LeftBehind => b.left_behind,
                Category::InDifficulty => b.in_difficulty,
            })
            .sum()
    }

    fn village(&self, region: &str) -> i64 {
        self.0.iter().filter(|b| b.region_id == region).map(|b| b.n).sum()
    }
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
    let figure = |conn: &mut DbConnection, sql: String, instants: bool| -> Result<Figure> {
        scoped(conn, scope, &sql, instants).load::<Breakdown>(conn).map(Figure).map_err(map_db_error)
    };
    let registered = figure(
        conn,
        children_by_region(&format!(
            "SELECT c.id FROM children c WHERE c.registered_on >= ? AND c.registered_on <= ?{}",
            scope.region_clause("c.region_id")
        )),
        false,
    )?;
    let (household_join, household_region) = match scope.region_prefix {
        Some(_) => (" JOIN households h ON h.id = ct.household_id", scope.region_clause("h.region_id")),
        None => ("", String::new()),
    };
    let phoned = figure(
        conn,
        households_by_region(&format!(
            "SELECT ct.household_id FROM contacts ct{household_join} \
             WHERE ct.kind = 'phone_visit' AND ct.outcome = 'completed' AND ct.occurred_at >= ? AND ct.occurred_at < ?{household_region}"
        )),
        true,
    )?;
    let (child_join, child_region) = match scope.region_prefix {
        Some(_) => (" JOIN children c ON c.id = ct.child_id", scope.region_clause("c.region_id")),
        None => ("", String::new()),
    };
    let visited = figure(
        conn,
        children_by_region(&format!(
            "SELECT ct.child_id FROM contacts ct{child_join} \
             WHERE ct.kind IN ('home_visit', 'school_visit', 'centre_visit') AND ct.outcome = 'completed' \
             AND ct.occurred_at >= ? AND ct.occurred_at < ?{child_region}"
        )),
        true,
    )?;
    let (assessed_join, assessed_region) = match scope.region_prefix {
        Some(_) => (" JOIN children c ON c.id = a.child_id", scope.region_clause("c.region_id")),
        None => ("", String::new()),
    };
    let assessed = figure(
        conn,
        children_by_region(&format!(
            "SELECT a.child_id FROM assessments a{assessed_join} \
             WHERE a.assessed_on >= ? AND a.assessed_on <= ?{assessed_region}"
        )),
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
    let attending = figure(
        conn,
        children_by_region(&format!(
            "SELECT a.child_id FROM event_attendance a WHERE a.event_id IN ({in_scope})"
        )),
        true,
    )?;
    let by_category = Category::ALL
        .iter()
        .map(|&category| CategoryFigures {
            category,
            children_registered: Some(registered.category(category)),
            children_visited: Some(visited.category(category)),
            children_attending_events: Some(attending.category(category)),
            children_assessed: Some(assessed.category(category)),
        })
        .collect();
    let mut villages: Vec<(String, String)> = [&registered, &phoned, &visited, &attending, &assessed]
        .iter()
        .flat_map(|f| f.0.iter().map(|b| (b.name.clone(), b.region_id.clone())))
        .collect();
    villages.sort();
    villages.dedup();
    let by_village = villages
        .into_iter()
        .map(|(name, id)| {
            Ok(VillageFigures {
                region_id: parse_id(&id)?,
                name,
                children_registered: Some(registered.village(&id)),
                families_phoned: Some(phoned.village(&id)),
                children_visited: Some(visited.village(&id)),
                children_attending_events: Some(attending.village(&id)),
                children_assessed: Some(assessed.village(&id)),
            })
        })
        .collect::<Result<Vec<_>>>()?;
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
        children_registered: Some(registered.total()),
        families_phoned: Some(phoned.total()),
        children_visited: Some(visited.total()),
        events_held: events_held_by_type.total(),
        events_held_by_type,
        children_attending_events: Some(attending.total()),
        volunteers_active: roster.volunteers,
        volunteer_hours: roster.minutes.unwrap_or(0) as f64 / 60.0,
        children_assessed: Some(assessed.total()),
        by_category,
        by_village,
        definitions: DEFINITIONS,
        suppression: None,
    };
    let villages: Vec<Uuid> = summary.by_village.iter().map(|v| v.region_id).collect();
    let outside = scope.outside_reader(conn, &villages)?;
    if let Some(grid) = scope.grid(&outside) {
        summary.suppression = scope.shown(summary.protect(grid, &outside));
    }
    Ok(summary)
}

/// The columns of the report's table (keys of its words, as `csv::Words` asks for them).
pub const COLUMNS: &[&str] = &["figure", "value", "definition"];

impl ProgrammeSummary {
    /// Withholds the small counts of children and households: each total with its villages
    /// (which add up to it, each child and household living in one place), and each category's
    /// count (categories overlap, so they add up to nothing). In a partial grid, the figures of
    /// the villages in `outside` (children the caller may not read).
    fn protect<'a>(&'a mut self, mut g: Grid<'a>, outside: &HashSet<Uuid>) -> Suppression {
        let mut totals = [
            g.count("/children_registered".into(), &mut self.children_registered),
            g.count("/families_phoned".into(), &mut self.families_phoned),
            g.count("/children_visited".into(), &mut self.children_visited),
            g.count("/children_attending_events".into(), &mut self.children_attending_events),
            g.count("/children_assessed".into(), &mut self.children_assessed),
        ]
        .map(|t| vec![t]);
        for (i, v) in self.by_village.iter_mut().enumerate() {
            let at = |f: &str| format!("/by_village/{i}/{f}");
            let beyond = outside.contains(&v.region_id);
            let cells = [
                g.count(at("children_registered"), &mut v.children_registered),
                g.count(at("families_phoned"), &mut v.families_phoned),
                g.count(at("children_visited"), &mut v.children_visited),
                g.count(at("children_attending_events"), &mut v.children_attending_events),
                g.count(at("children_assessed"), &mut v.children_assessed),
            ];
            for (total, cell) in totals.iter_mut().zip(cells) {
                if beyond {
                    g.protect(cell);
                }
                total.push(cell);
            }
        }
        for relation in totals {
            g.adds_up(relation);
        }
        for (i, c) in self.by_category.iter_mut().enumerate() {
            let at = |f: &str| format!("/by_category/{i}/{f}");
            g.count(at("children_registered"), &mut c.children_registered);
            g.count(at("children_visited"), &mut c.children_visited);
            g.count(at("children_attending_events"), &mut c.children_attending_events);
            g.count(at("children_assessed"), &mut c.children_assessed);
        }
        g.finish()
    }

    pub fn to_table(&self, words: &dyn Words) -> Table {
        let d = &self.definitions;
        let mut t = Table::new(words, COLUMNS);
        let t_ = &self.events_held_by_type;
        let count = |n: Option<i64>| n.map(|n| n as f64);
        let definition = |key: &str| {
            let english = d.each().into_iter().find(|(k, _)| *k == key).map_or("", |(_, text)| text);
            words.definition(key, english)
        };
        let by_type = "events_held_by_type";
        let rows: [(&[&str], Option<f64>, &str); 13] = [
            (&["children_registered"], count(self.children_registered), "children_registered"),
            (&["families_phoned"], count(self.families_phoned), "families_phoned"),
            (&["children_visited"], count(self.children_visited), "children_visited"),
            (&["events_held", "quarterly_theme"], Some(t_.quarterly_theme as f64), by_type),
            (&["events_held", "care"], Some(t_.care as f64), by_type),
            (&["events_held", "visit_and_comfort"], Some(t_.visit_and_comfort as f64), by_type),
            (
                &["events_held", "mental_health_consultation"],
                Some(t_.mental_health_consultation as f64),
                by_type,
            ),
            (&["events_held", "other"], Some(t_.other as f64), by_type),
            (&["events_held"], Some(self.events_held as f64), by_type),
            (
                &["children_attending_events"],
                count(self.children_attending_events),
                "children_attending_events",
            ),
            (&["volunteers_active"], Some(self.volunteers_active as f64), "volunteers_active"),
            (&["volunteer_hours"], Some(self.volunteer_hours), "volunteer_hours"),
            (&["children_assessed"], count(self.children_assessed), "children_assessed"),
        ];
        for (keys, v, key) in rows {
            t.push(vec![words.labels(keys), v.map(number).unwrap_or_default(), definition(key)]);
        }
        for c in &self.by_category {
            let figures = [
                ("children_registered", c.children_registered),
                ("children_visited", c.children_visited),
                ("children_attending_events", c.children_attending_events),
                ("children_assessed", c.children_assessed),
            ];
            for (k, v) in figures {
                t.push(vec![
                    words.labels(&["by_category", c.category.as_str(), k]),
                    count(v).map(number).unwrap_or_default(),
                    definition("by_category"),
                ]);
            }
        }
        for v in &self.by_village {
            let figures = [
                ("children_registered", v.children_registered),
                ("families_phoned", v.families_phoned),
                ("children_visited", v.children_visited),
                ("children_attending_events", v.children_attending_events),
                ("children_assessed", v.children_assessed),
            ];
            for (k, n) in figures {
                // The village by name and id: two villages of one name stay apart.
                t.push(vec![
                    format!(
                        "{} · {} ({}) · {}",
                        words.label("by_village"),
                        v.name,
                        v.region_id,
                        words.label(k)
                    ),
                    count(n).map(number).unwrap_or_default(),
                    definition("by_village"),
                ]);
            }
        }
        t.note(words, self.suppression.as_ref());
        t
    }
}
