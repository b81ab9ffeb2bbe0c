//! The compliance report: for each cadence rule and each period in the report's range, how many
//! relationships (pairings, counselling enrolments) were active, met, missed, or exempt, and the
//! share met; the same by region and by mentor organisation; and what needs attention now.
//!
//! Periods follow the engine's definitions (`tongxing_pairing::cadence`): a relationship counts
//! in every period it is active at any time; a period still open is neither met nor missed
//! until it is met. The database counts the activities per relationship and period in one
//! query per rule.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use tongxing_core::record::parse_id;
use tongxing_core::{Error, FieldError, Result, time};
use tongxing_pairing::cadence::Period;
use tongxing_pairing::compliance as alerts;
use tongxing_pairing::rules::{self, CadenceRule, RuleSubject};
use tongxing_store::sql::numbered;
use tongxing_store::{DbConnection, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::csv::{Table, Words, count, number};
use crate::scope::{Coverage, ScopeEcho, date_literal, day_start_literal};
use crate::suppression::{Grid, Slot, Suppression, Threshold};

/// The most periods one report evaluates per rule.
const MAX_PERIODS: usize = 160;

/// Relationships by status; each figure is `null` where withheld.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Tally {
    /// Relationships active at some time in the period(s).
    #[schema(required = true)]
    pub active: Option<i64>,
    #[schema(required = true)]
    pub met: Option<i64>,
    #[schema(required = true)]
    pub missed: Option<i64>,
    #[schema(required = true)]
    pub exempt: Option<i64>,
    /// Met among those decided (met, missed or exempt); absent when none is decided yet.
    pub share_met: Option<f64>,
}

/// A tally being summed up.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    active: i64,
    met: i64,
    missed: i64,
    exempt: i64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.active += other.active;
        self.met += other.met;
        self.missed += other.missed;
        self.exempt += other.exempt;
    }

    fn finish(self) -> Tally {
        let decided = self.met + self.missed + self.exempt;
        Tally {
            active: Some(self.active),
            met: Some(self.met),
            missed: Some(self.missed),
            exempt: Some(self.exempt),
            share_met: (decided > 0).then(|| self.met as f64 / decided as f64),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeriodTally {
    /// `2024-01`, `2024-W05` or `2024`.
    pub period: String,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupTally {
    /// A mentor organisation.
    pub group: String,
    #[serde(flatten)]
    pub tally: Tally,
}

/// A region's tally: grouped by the region's id, so that two villages of one name in different
/// towns stay apart.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RegionGroupTally {
    pub region_id: Uuid,
    /// The village or community name (names repeat across towns; the id does not).
    pub group: String,
    #[serde(flatten)]
    pub tally: Tally,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleReport {
    pub rule_code: String,
    pub subject: RuleSubject,
    pub periods: Vec<PeriodTally>,
    /// All periods of the range, by the child's village or community.
    pub by_region: Vec<RegionGroupTally>,
    /// All periods of the range, by the mentor's organisation (pairings only).
    pub by_mentor_organisation: Vec<GroupTally>,
    /// Relationships whose last closed period was missed.
    #[schema(required = true)]
    pub missed_now: Option<i64>,
    /// Relationships whose current period is at risk.
    #[schema(required = true)]
    pub at_risk_now: Option<i64>,
}

/// Holiday home-visit requests whose departure falls in the range, in the region (by the
/// child's), by what became of them; `null` where withheld. Only `completed` visits went ahead
/// after the formalities; `recorded_late` ones went ahead without them.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct HomeVisitCounts {
    /// Waiting for consent, the checklist or approval, departure still ahead.
    #[schema(required = true)]
    pub pending: Option<i64>,
    /// Approved; the child's return not yet confirmed.
    #[schema(required = true)]
    pub approved: Option<i64>,
    /// Approved before departure, and the child back.
    #[schema(required = true)]
    pub completed: Option<i64>,
    /// Not approved by the departure time.
    #[schema(required = true)]
    pub expired: Option<i64>,
    /// Took place without prior approval, recorded afterwards by a coordinator.
    #[schema(required = true)]
    pub recorded_late: Option<i64>,
    #[schema(required = true)]
    pub rejected: Option<i64>,
    #[schema(required = true)]
    pub cancelled: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplianceReport {
    pub scope: ScopeEcho,
    pub rules: Vec<RuleReport>,
    pub home_visits: HomeVisitCounts,
    /// Present when small cells were withheld from this answer: which, and below what.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    label: String,
    #[diesel(sql_type = Text)]
    region_id: String,
    #[diesel(sql_type = Text)]
    region: String,
    #[diesel(sql_type = Text)]
    org: String,
    #[diesel(sql_type = BigInt)]
    active: i64,
    #[diesel(sql_type = BigInt)]
    met: i64,
    #[diesel(sql_type = BigInt)]
    missed: i64,
    #[diesel(sql_type = BigInt)]
    exempt: i64,
}

pub fn report(conn: &mut DbConnection, scope: &Coverage) -> Result<ComplianceReport> {
    let today = time::today();
    let now = alerts::alert_counts(conn, scope.region_id)?;
    let mut out = Vec::new();
    for rule in rules::list(conn, None, true)? {
        let mut r = rule_report(conn, scope, &rule, today)?;
        let counts = now.iter().find(|c| c.rule_id == rule.id);
        r.missed_now = Some(counts.map_or(0, |c| c.missed));
        r.at_risk_now = Some(counts.map_or(0, |c| c.at_risk));
        out.push(r);
    }
    let home_visits = home_visit_counts(conn, scope)?;
    let mut report = ComplianceReport { scope: scope.echo(), rules: out, home_visits, suppression: None };
    if let Some(threshold) = scope.small_cells {
        report.suppression = Some(report.protect(threshold));
    }
    Ok(report)
}

#[derive(QueryableByName)]
struct StatusCount {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    departed: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn home_visit_counts(conn: &mut DbConnection, scope: &Coverage) -> Result<HomeVisitCounts> {
    use tongxing_pairing::home_visits::HomeVisitStatus as S;
    // What each request shows now (a waiting one whose departure came has expired), by the
    // home-visit module's own rule.
    let now = tongxing_store::sql::timestamp_literal(conn.backend(), time::to_db(time::now()));
    let sql = format!(
        "SELECT hv.status AS status, CAST(CASE WHEN hv.leaves_at <= {now} THEN 1 ELSE 0 END AS BIGINT) AS departed, \
                CAST(COUNT(*) AS BIGINT) AS n \
         FROM home_visit_requests hv JOIN pairings p ON p.id = hv.pairing_id JOIN children ch ON ch.id = p.child_id \
         WHERE hv.leaves_at >= ? AND hv.leaves_at < ?{} GROUP BY hv.status, 2",
        scope.region_clause("ch.region_id")
    );
    let rows: Vec<StatusCount> =
        crate::summary::scoped(conn, scope, &sql, true).load(conn).map_err(map_db_error)?;
    let zero = Some(0);
    let mut c = HomeVisitCounts {
        pending: zero,
        approved: zero,
        completed: zero,
        expired: zero,
        recorded_late: zero,
        rejected: zero,
        cancelled: zero,
    };
    for r in rows {
        let slot = match S::from_db(&r.status)?.shown(r.departed == 1) {
            S::Requested | S::Consented => &mut c.pending,
            S::Approved => &mut c.approved,
            S::Completed => &mut c.completed,
            S::Expired => &mut c.expired,
            S::RecordedLate => &mut c.recorded_late,
            S::Rejected => &mut c.rejected,
            S::Cancelled => &mut c.cancelled,
        };
        *slot = Some(slot.unwrap_or(0) + r.n);
    }
    Ok(c)
}

impl ComplianceReport {
    /// Withholds small tallies of relationships (each is a child), per rule: every figure of a
    /// tally of fewer than `threshold` relationships; small `met`, `missed` and `exempt` counts,
    /// with a second figure where a tally adds up (active = met + missed + exempt + those still
    /// open, which a reader may know) and across the breakdowns (periods, regions and mentor
    /// organisations each add up to the same totals); `share_met` where any of its figures is
    /// withheld; and small counts of what needs attention now.
    fn protect(&mut self, threshold: Threshold) -> Suppression {
        let mut g = Grid::new(threshold);
        let v = &mut self.home_visits;
        for (name, slot) in [
            ("pending", &mut v.pending),
            ("approved", &mut v.approved),
            ("completed", &mut v.completed),
            ("expired", &mut v.expired),
            ("recorded_late", &mut v.recorded_late),
            ("rejected", &mut v.rejected),
            ("cancelled", &mut v.cancelled),
        ] {
            g.count(format!("/home_visits/{name}"), slot);
        }
        for (i, rule) in self.rules.iter_mut().enumerate() {
            g.count(format!("/rules/{i}/missed_now"), &mut rule.missed_now);
            g.count(format!("/rules/{i}/at_risk_now"), &mut rule.at_risk_now);
            let mut columns: Vec<[Vec<usize>; 5]> = Vec::new();
            let breakdowns = [
                ("periods", rule.periods.iter_mut().map(|p| &mut p.tally).collect::<Vec<_>>()),
                ("by_region", rule.by_region.iter_mut().map(|x| &mut x.tally).collect()),
                (
                    "by_mentor_organisation",
                    rule.by_mentor_organisation.iter_mut().map(|x| &mut x.tally).collect(),
                ),
            ];
            for (name, tallies) in breakdowns {
                let mut column: [Vec<usize>; 5] = Default::default();
                let empty = tallies.is_empty();
                for (j, t) in tallies.into_iter().enumerate() {
                    let at = format!("/rules/{i}/{name}/{j}");
                    let open = t.active.unwrap_or(0)
                        - t.met.unwrap_or(0)
                        - t.missed.unwrap_or(0)
                        - t.exempt.unwrap_or(0);
                    let cells = [
                        g.count(format!("{at}/active"), &mut t.active),
                        g.count(format!("{at}/met"), &mut t.met),
                        g.count(format!("{at}/missed"), &mut t.missed),
                        g.count(format!("{at}/exempt"), &mut t.exempt),
                        g.hidden(open),
                    ];
                    g.adds_up(cells.to_vec());
                    let share = g.figure(format!("{at}/share_met"), Slot::Ratio(&mut t.share_met));
                    g.derived(share, &cells[1..4]);
                    g.within(cells[0], &[cells[1], cells[2], cells[3], share]);
                    for (c, cell) in column.iter_mut().zip(cells) {
                        c.push(cell);
                    }
                }
                if !empty {
                    columns.push(column);
                }
            }
            // Every breakdown sums to the same totals: any one figure follows from the others.
            if let Some((first, others)) = columns.split_first() {
                for other in others {
                    for (a, b) in first.iter().zip(other) {
                        g.adds_up(a.iter().chain(b).copied().collect());
                    }
                }
            }
        }
        g.finish()
    }
}

fn rule_report(
    conn: &mut DbConnection,
    scope: &Coverage,
    rule: &CadenceRule,
    today: NaiveDate,
) -> Result<RuleReport> {
    let b = conn.backend();
    let spec = rule.spec();
    let last = scope.to.min(today);
    // Without `from`, the range starts at the rule's first relationship (bounded below).
    let first = match scope.from {
        Some(f) => f,
        // Without `from`: the most recent periods, at most as many as one report holds.
        None => {
            let mut earliest = Period::containing(rule.period, last);
            for _ in 1..MAX_PERIODS {
                earliest = Period::containing(rule.period, earliest.start - Duration::days(1));
            }
            first_start(conn, rule.subject)?.unwrap_or(last).max(earliest.start)
        }
    };
    let mut periods = Vec::new();
    if first <= last {
        let mut p = Period::containing(rule.period, first);
        while p.start <= last {
            periods.push(p);
            if periods.len() > MAX_PERIODS {
                return Err(Error::of_field(
                    FieldError::new(
                        "from",
                        "range_too_long",
                        format!("at most {MAX_PERIODS} periods per rule"),
                    )
                    .with("periods", MAX_PERIODS),
                ));
            }
            p = p.next();
        }
    }
    let mut report = RuleReport {
        rule_code: rule.code.clone(),
        subject: rule.subject,
        periods: Vec::new(),
        by_region: Vec::new(),
        by_mentor_organisation: Vec::new(),
        missed_now: None,
        at_risk_now: None,
    };
    if periods.is_empty() {
        return Ok(report);
    }
    let per = periods
        .iter()
        .map(|p| {
            format!(
                "SELECT '{}' AS label, {} AS ps, {} AS pe, {} AS lo, {} AS hi, {} AS minimum",
                p.label(),
                date_literal(b, p.start),
                date_literal(b, p.end),
                day_start_literal(b, p.start),
                day_start_literal(b, p.end + Duration::days(1)),
                spec.minimum_for(p)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    // The counted kinds are checked names of a closed set, so they are written into the SQL.
    let kinds: Vec<String> = rule
        .counted_kinds
        .iter()
        .filter(|k| k.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'))
        .map(|k| format!("'{k}'"))
        .collect();
    let kinds = if kinds.is_empty() { "''".to_owned() } else { kinds.join(", ") };
    let commemorative = if rule.commemorative_only { " AND c.commemorative = TRUE" } else { "" };
    let (subjects, activities) = match rule.subject {
        RuleSubject::Pairing => (
            "SELECT p.id AS sid, p.started_on AS s, p.ended_on AS e, g.id AS region_id, g.name AS region, COALESCE(m.organisation, '') AS org \
             FROM pairings p JOIN children ch ON ch.id = p.child_id JOIN regions g ON g.id = ch.region_id \
             JOIN mentors m ON m.id = p.mentor_id \
             WHERE p.status <> 'proposed' AND ch.region_id IN (SELECT r.id FROM regions r WHERE r.path LIKE ?)",
            format!(
                "SELECT c.pairing_id AS sid, c.occurred_at AS at FROM pair_contacts c WHERE c.outcome = 'completed' AND c.kind IN ({kinds}){commemorative}"
            ),
        ),
        RuleSubject::CounsellingEnrolment => (
            "SELECT p.id AS sid, p.starts_on AS s, p.ends_on AS e, g.id AS region_id, g.name AS region, '' AS org \
             FROM counselling_enrolments p JOIN children ch ON ch.id = p.child_id JOIN regions g ON g.id = ch.region_id \
             WHERE ch.region_id IN (SELECT r.id FROM regions r WHERE r.path LIKE ?)",
            "SELECT c.enrolment_id AS sid, c.occurred_at AS at FROM counselling_sessions c".to_owned(),
        ),
    };
    let today_lit = date_literal(b, today);
    let sql = format!(
        "WITH per AS ({per}), subj AS ({subjects}), \
         act AS (SELECT x.sid AS sid, per.label AS label, COUNT(*) AS n FROM ({activities}) x \
                 JOIN per ON x.at >= per.lo AND x.at < per.hi GROUP BY x.sid, per.label) \
         SELECT per.label AS label, subj.region_id AS region_id, subj.region AS region, subj.org AS org, \
           CAST(COUNT(*) AS BIGINT) AS active, \
           CAST(SUM(CASE WHEN COALESCE(act.n, 0) >= per.minimum THEN 1 ELSE 0 END) AS BIGINT) AS met, \
           CAST(SUM(CASE WHEN COALESCE(act.n, 0) < per.minimum AND ex.id IS NULL \
                    AND (CASE WHEN subj.e IS NOT NULL AND subj.e < per.pe THEN subj.e ELSE per.pe END) < {today_lit} \
                    THEN 1 ELSE 0 END) AS BIGINT) AS missed, \
           CAST(SUM(CASE WHEN COALESCE(act.n, 0) < per.minimum AND ex.id IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS exempt \
         FROM per JOIN subj ON subj.s <= per.pe AND (subj.e IS NULL OR subj.e >= per.ps) \
         LEFT JOIN act ON act.sid = subj.sid AND act.label = per.label \
         LEFT JOIN compliance_exemptions ex ON ex.rule_id = ? AND ex.subject_id = subj.sid AND ex.period_start = per.ps \
         GROUP BY per.label, subj.region_id, subj.region, subj.org"
    );
    let rows: Vec<Row> = diesel::sql_query(numbered(b, &sql))
        .bind::<Text, _>(scope.region_pattern())
        .bind::<Text, _>(rule.id.to_string())
        .load(conn)
        .map_err(map_db_error)?;
    let mut by_period: BTreeMap<String, Counts> = BTreeMap::new();
    let mut by_region: BTreeMap<(String, String), Counts> = BTreeMap::new();
    let mut by_org: BTreeMap<String, Counts> = BTreeMap::new();
    for r in rows {
        let t = Counts { active: r.active, met: r.met, missed: r.missed, exempt: r.exempt };
        by_period.entry(r.label).or_default().add(&t);
        by_region.entry((r.region, r.region_id)).or_default().add(&t);
        if rule.subject == RuleSubject::Pairing {
            by_org.entry(if r.org.is_empty() { "(none)".to_owned() } else { r.org }).or_default().add(&t);
        }
    }
    report.periods = periods
        .iter()
        .map(|p| PeriodTally {
            period: p.label(),
            tally: by_period.remove(&p.label()).unwrap_or_default().finish(),
        })
        .collect();
    report.by_region = by_region
        .into_iter()
        .map(|((group, id), t)| Ok(RegionGroupTally { region_id: parse_id(&id)?, group, tally: t.finish() }))
        .collect::<Result<_>>()?;
    report.by_mentor_organisation =
        by_org.into_iter().map(|(group, t)| GroupTally { group, tally: t.finish() }).collect();
    Ok(report)
}

fn first_start(conn: &mut DbConnection, subject: RuleSubject) -> Result<Option<NaiveDate>> {
    use diesel::dsl::min;
    use tongxing_store::schema::{counselling_enrolments, pairings};
    match subject {
        RuleSubject::Pairing => pairings::table.select(min(pairings::started_on)).first(conn),
        RuleSubject::CounsellingEnrolment => {
            counselling_enrolments::table.select(min(counselling_enrolments::starts_on)).first(conn)
        }
    }
    .map_err(map_db_error)
}

/// The columns of the report's table (keys of its words, as `csv::Words` asks for them).
pub const COLUMNS: &[&str] =
    &["rule", "breakdown", "key", "active", "met", "missed", "exempt", "share_met", "at_risk", "region_id"];

impl ComplianceReport {
    pub fn to_table(&self, words: &dyn Words) -> Table {
        let mut t = Table::by(words, COLUMNS, "breakdown");
        for r in &self.rules {
            let mut push = |kind: &str, key: &str, x: &Tally, at_risk: String, region: String| {
                t.push(vec![
                    r.rule_code.clone(),
                    words.label(kind),
                    key.to_owned(),
                    count(x.active),
                    count(x.met),
                    count(x.missed),
                    count(x.exempt),
                    x.share_met.map(number).unwrap_or_default(),
                    at_risk,
                    region,
                ]);
            };
            for p in &r.periods {
                push("period", &p.period, &p.tally, String::new(), String::new());
            }
            for g in &r.by_region {
                push("region", &g.group, &g.tally, String::new(), g.region_id.to_string());
            }
            for g in &r.by_mentor_organisation {
                push("mentor_organisation", &g.group, &g.tally, String::new(), String::new());
            }
            let now = Tally {
                active: Some(0),
                met: Some(0),
                missed: r.missed_now,
                exempt: Some(0),
                share_met: None,
            };
            push("now", "", &now, count(r.at_risk_now), String::new());
        }
        let v = &self.home_visits;
        for (name, n) in [
            ("pending", v.pending),
            ("approved", v.approved),
            ("completed", v.completed),
            ("expired", v.expired),
            ("recorded_late", v.recorded_late),
            ("rejected", v.rejected),
            ("cancelled", v.cancelled),
        ] {
            t.push(vec![
                words.label("home_visits"),
                words.label("requests"),
                words.label(name),
                count(n),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        t.note(words, self.suppression.as_ref());
        t
    }
}
