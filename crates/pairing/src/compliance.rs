//! Compliance: a relationship's timeline per rule (the engine over its stored activities), the
//! exemptions coordinators record, and the list of what is at risk or missed now, read from the
//! rules' tallies ([`crate::tallies`]).
//!
//! Exemptions and alerts are about relationships (pairings, counselling enrolments), and so
//! about their children: each list, and each exemption written, covers only the relationships
//! whose child the caller's scope reaches ([`subjects_in_scope`]). A relationship outside it is
//! answered as one that does not exist.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text};
use serde::{Deserialize, Serialize};
use tongxing_cases::contacts::ContactOutcome;
use tongxing_cases::scope::{child_ids, condition};
use tongxing_core::Code;
use tongxing_core::access::Scope;
use tongxing_core::page::{Page, PageRequest, decode_key, encode_key};
use tongxing_core::record::parse_id;
use tongxing_core::{Error, FieldError, Result, id, time};
use tongxing_store::schema::{compliance_exemptions, counselling_sessions, pair_contacts};
use tongxing_store::sql::numbered;
use tongxing_store::{DbConnection, DbId, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::cadence::{self, Activity, Exemption, Period, PeriodEvaluation, PeriodKind, PeriodStatus};
use crate::rules::{self, CadenceRule, RuleSubject};
use crate::{counselling, pairings};

/// The longest timeline one request may ask for.
const MAX_RANGE_DAYS: i64 = 3660;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RuleTimeline {
    pub rule_id: Uuid,
    pub rule_code: String,
    pub rule_name: String,
    pub period: PeriodKind,
    pub periods: Vec<PeriodEvaluation>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplianceTimeline {
    pub subject_id: Uuid,
    /// The relationship's child.
    pub child_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The day the open periods were judged against (Asia/Shanghai).
    pub today: NaiveDate,
    pub rules: Vec<RuleTimeline>,
}

fn counted_activities(
    conn: &mut DbConnection,
    subject: Uuid,
    rule: &CadenceRule,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Activity>> {
    let lower = time::to_db(time::start_of_local_day(Period::containing(rule.period, from).start));
    let upper =
        time::to_db(time::start_of_local_day(Period::containing(rule.period, to).end + Duration::days(1)));
    let rows: Vec<(String, chrono::NaiveDateTime)> = match rule.subject {
        RuleSubject::Pairing => {
            let mut q = pair_contacts::table
                .filter(pair_contacts::pairing_id.eq(DbId(subject)))
                .filter(pair_contacts::kind.eq_any(&rule.counted_kinds))
                .filter(pair_contacts::outcome.eq(ContactOutcome::Completed.as_str()))
                .filter(pair_contacts::occurred_at.ge(lower))
                .filter(pair_contacts::occurred_at.lt(upper))
                .select((pair_contacts::id, pair_contacts::occurred_at))
                .into_boxed();
            if rule.commemorative_only {
                q = q.filter(pair_contacts::commemorative.eq(true));
            }
            q.load(conn).map_err(map_db_error)?
        }
        RuleSubject::CounsellingEnrolment => counselling_sessions::table
            .filter(counselling_sessions::enrolment_id.eq(DbId(subject)))
            .filter(counselling_sessions::occurred_at.ge(lower))
            .filter(counselling_sessions::occurred_at.lt(upper))
            .select((counselling_sessions::id, counselling_sessions::occurred_at))
            .load(conn)
            .map_err(map_db_error)?,
    };
    rows.into_iter().map(|(id, at)| Ok(Activity { id: parse_id(&id)?, at: time::from_db(at) })).collect()
}

fn exemptions_of(conn: &mut DbConnection, rule: Uuid, subject: Uuid) -> Result<Vec<Exemption>> {
    let rows: Vec<(NaiveDate, String)> = compliance_exemptions::table
        .filter(compliance_exemptions::rule_id.eq(DbId(rule)))
        .filter(compliance_exemptions::subject_id.eq(DbId(subject)))
        .select((compliance_exemptions::period_start, compliance_exemptions::reason))
        .load(conn)
        .map_err(map_db_error)?;
    Ok(rows.into_iter().map(|(period_start, reason)| Exemption { period_start, reason }).collect())
}

/// A pairing's timeline for every active pairing rule (or one), over `from..=to` (defaults: the
/// pairing's first day, and today), if the caller reaches the pairing.
pub fn pairing_timeline(
    conn: &mut DbConnection,
    scope: &Scope,
    pairing: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    rule: Option<Uuid>,
) -> Result<ComplianceTimeline> {
    let p = pairings::get(conn, scope, pairing)?.record;
    let active = p.started_on.map(|s| (s, p.ended_on));
    timeline(conn, RuleSubject::Pairing, (pairing, p.child_id), active, from, to, rule)
}

/// An enrolment's timeline for the counselling rules (or one), if the caller reaches it.
pub fn enrolment_timeline(
    conn: &mut DbConnection,
    scope: &Scope,
    enrolment: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    rule: Option<Uuid>,
) -> Result<ComplianceTimeline> {
    let e = counselling::get(conn, scope, enrolment)?.record;
    timeline(
        conn,
        RuleSubject::CounsellingEnrolment,
        (enrolment, e.child_id),
        Some((e.starts_on, e.ends_on)),
        from,
        to,
        rule,
    )
}

/// The timeline of relationship `id` (of child `child_id`).
fn timeline(
    conn: &mut DbConnection,
    subject: RuleSubject,
    (id, child_id): (Uuid, Uuid),
    active: Option<(NaiveDate, Option<NaiveDate>)>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    rule: Option<Uuid>,
) -> Result<ComplianceTimeline> {
    let today = time::today();
    let from = from.or(active.map(|a| a.0)).unwrap_or(today);
    let to = to.unwrap_or(today);
    if from > to {
        return Err(Error::field("from", "after_to", "`from` is after `to`"));
    }
    if (to - from).num_days() > MAX_RANGE_DAYS {
        return Err(Error::of_field(
            FieldError::new("to", "range_too_long", format!("ask for at most {MAX_RANGE_DAYS} days at once"))
                .with("days", MAX_RANGE_DAYS),
        ));
    }
    let mut rules = rules::list(conn, Some(subject), true)?;
    if let Some(r) = rule {
        rules.retain(|x| x.id == r);
        if rules.is_empty() {
            return Err(Error::field(
                "rule_id",
                "not_found",
                format!("no active {subject} rule with this id"),
            ));
        }
    }
    let mut out = Vec::new();
    for rule in rules {
        let periods = match active {
            None => Vec::new(),
            Some((start, end)) => {
                let acts = counted_activities(conn, id, &rule, from.max(start), to)?;
                let ex = exemptions_of(conn, rule.id, id)?;
                cadence::evaluate(&rule.spec(), (start, end), &acts, &ex, (from, to), today)
            }
        };
        out.push(RuleTimeline {
            rule_id: rule.id,
            rule_code: rule.code,
            rule_name: rule.name,
            period: rule.period,
            periods,
        });
    }
    Ok(ComplianceTimeline { subject_id: id, child_id, from, to, today, rules: out })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplianceExemption {
    pub id: Uuid,
    pub rule_id: Uuid,
    /// The pairing (or enrolment) exempted.
    pub subject_id: Uuid,
    /// The relationship's child.
    pub child_id: Uuid,
    /// The period, labelled as in timelines (`2024-03`, `2024-W05`, `2024`).
    pub period: String,
    pub period_start: NaiveDate,
    pub reason: String,
    pub recorded_by: Uuid,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ExemptionInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    pub rule_id: Uuid,
    pub subject_id: Uuid,
    /// The period to exempt, in the rule's labels: `2024-03`, `2024-W05` or `2024`.
    #[validate(length(min = 4, max = 8))]
    #[schema(min_length = 4, max_length = 8)]
    pub period: String,
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// Relationships whose child `scope` reaches, as a subquery of their ids (pairings and
/// enrolments alike); `None` means every relationship.
pub fn subjects_in_scope(conn: &mut DbConnection, scope: &Scope) -> Result<Option<String>> {
    Ok(child_ids(conn, scope)?.map(|children| {
        format!(
            "SELECT xp.id FROM pairings xp WHERE xp.child_id IN ({children}) \
             UNION ALL SELECT xe.id FROM counselling_enrolments xe WHERE xe.child_id IN ({children})"
        )
    }))
}

/// The active interval (first and last day) of a pairing or enrolment whose child is in
/// `scope`: `None` when there is no such relationship; a first day of `None` when it has not
/// begun.
fn subject_interval(
    conn: &mut DbConnection,
    scope: &Scope,
    subject: RuleSubject,
    id: Uuid,
) -> Result<Option<(Option<NaiveDate>, Option<NaiveDate>)>> {
    let (table, first, last) = match subject {
        RuleSubject::Pairing => ("pairings", "started_on", "ended_on"),
        RuleSubject::CounsellingEnrolment => ("counselling_enrolments", "starts_on", "ends_on"),
    };
    let mut sql = format!("SELECT s.{first} AS first, s.{last} AS last FROM {table} s WHERE s.id = ?");
    if let Some(children) = child_ids(conn, scope)? {
        sql.push_str(&format!(" AND s.child_id IN ({children})"));
    }
    #[derive(QueryableByName)]
    struct Interval {
        #[diesel(sql_type = Nullable<Date>)]
        first: Option<NaiveDate>,
        #[diesel(sql_type = Nullable<Date>)]
        last: Option<NaiveDate>,
    }
    let found: Option<Interval> = diesel::sql_query(numbered(conn.backend(), &sql))
        .bind::<Text, _>(id.to_string())
        .get_result(conn)
        .optional()
        .map_err(map_db_error)?;
    Ok(found.map(|i| (i.first, i.last)))
}

/// Records an exemption for a relationship whose child the caller reaches; any other subject
/// is refused as one that does not exist, at the same point of the checks.
pub fn record_exemption(
    conn: &mut DbConnection,
    scope: &Scope,
    input: ExemptionInput,
    actor: Uuid,
) -> Result<ComplianceExemption> {
    let rule = rules::get(conn, input.rule_id)
        .map_err(|e| e.missing_as_field("rule_id", "no cadence rule with this id"))?;
    let period = Period::parse(rule.period, &input.period).ok_or_else(|| {
        Error::field(
            "period",
            "format",
            format!("not a {} label (e.g. 2024-03, 2024-W05, 2024)", rule.period),
        )
    })?;
    if period.start > time::today() {
        return Err(Error::field("period", "in_future", "a period that has not begun cannot be exempted"));
    }
    if input.reason.trim().is_empty() {
        return Err(Error::field("reason", "blank", "an exemption needs a reason"));
    }
    let Some((first, last)) = subject_interval(conn, scope, rule.subject, input.subject_id)? else {
        let message = match rule.subject {
            RuleSubject::Pairing => "no pairing with this id",
            RuleSubject::CounsellingEnrolment => "no counselling enrolment with this id",
        };
        return Err(Error::field("subject_id", "not_found", message));
    };
    // Only a period in which the relationship was active has anything to exempt.
    let overlaps = first.is_some_and(|f| f <= period.end) && last.is_none_or(|l| l >= period.start);
    if !overlaps {
        return Err(Error::conflict(
            Code::OutsideActiveInterval,
            "the relationship was not active in this period",
        ));
    }
    let id = input.id.unwrap_or_else(id::new_id);
    diesel::insert_into(compliance_exemptions::table)
        .values((
            compliance_exemptions::id.eq(DbId(id)),
            compliance_exemptions::rule_id.eq(DbId(input.rule_id)),
            compliance_exemptions::subject_id.eq(DbId(input.subject_id)),
            compliance_exemptions::period_start.eq(period.start),
            compliance_exemptions::reason.eq(input.reason.trim()),
            compliance_exemptions::recorded_by.eq(DbId(actor)),
            compliance_exemptions::created_at.eq(time::to_db(time::now())),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    let child_id = subject_children(conn, &[input.subject_id.to_string()])?
        .remove(&input.subject_id.to_string())
        .map(|c| parse_id(&c))
        .transpose()?
        .ok_or_else(|| Error::internal("exemption without a relationship"))?;
    Ok(ComplianceExemption {
        id,
        rule_id: input.rule_id,
        subject_id: input.subject_id,
        child_id,
        period: period.label(),
        period_start: period.start,
        reason: input.reason.trim().to_owned(),
        recorded_by: actor,
    })
}

/// The exemptions of the relationships whose child the caller reaches.
/// The child of each relationship (pairing or counselling enrolment) among `subjects`.
fn subject_children(
    conn: &mut DbConnection,
    subjects: &[String],
) -> Result<std::collections::HashMap<String, String>> {
    use tongxing_store::schema::{counselling_enrolments as e, pairings as p};
    let mut out: std::collections::HashMap<String, String> = p::table
        .filter(p::id.eq_any(subjects))
        .select((p::id, p::child_id))
        .load::<(String, String)>(conn)
        .map_err(map_db_error)?
        .into_iter()
        .collect();
    out.extend(
        e::table
            .filter(e::id.eq_any(subjects))
            .select((e::id, e::child_id))
            .load::<(String, String)>(conn)
            .map_err(map_db_error)?,
    );
    Ok(out)
}

pub fn list_exemptions(
    conn: &mut DbConnection,
    scope: &Scope,
    subject: Option<Uuid>,
    rule: Option<Uuid>,
    page: PageRequest,
) -> Result<Page<ComplianceExemption>> {
    let mut q = compliance_exemptions::table.order(compliance_exemptions::id.asc()).into_boxed();
    if let Some(subjects) = subjects_in_scope(conn, scope)? {
        q = q.filter(condition(format!("compliance_exemptions.subject_id IN ({subjects})")));
    }
    if let Some(s) = subject {
        q = q.filter(compliance_exemptions::subject_id.eq(DbId(s)));
    }
    if let Some(r) = rule {
        q = q.filter(compliance_exemptions::rule_id.eq(DbId(r)));
    }
    if let Some(after) = page.after {
        q = q.filter(compliance_exemptions::id.gt(DbId(after)));
    }
    let rows: Vec<(String, String, String, NaiveDate, String, String)> = q
        .select((
            compliance_exemptions::id,
            compliance_exemptions::rule_id,
            compliance_exemptions::subject_id,
            compliance_exemptions::period_start,
            compliance_exemptions::reason,
            compliance_exemptions::recorded_by,
        ))
        .limit(page.fetch())
        .load(conn)
        .map_err(map_db_error)?;
    let rules = rules::list(conn, None, false)?;
    let subjects: Vec<String> = rows.iter().map(|r| r.2.clone()).collect();
    let children = subject_children(conn, &subjects)?;
    let items = rows
        .into_iter()
        .map(|(id, rule_id, subject_id, period_start, reason, recorded_by)| {
            let child = children
                .get(&subject_id)
                .ok_or_else(|| Error::internal("exemption without a relationship"))?;
            let kind =
                rules.iter().find(|r| r.id.to_string() == rule_id).map_or(PeriodKind::Month, |r| r.period);
            Ok(ComplianceExemption {
                id: parse_id(&id)?,
                rule_id: parse_id(&rule_id)?,
                subject_id: parse_id(&subject_id)?,
                child_id: parse_id(child)?,
                period: Period::containing(kind, period_start).label(),
                period_start,
                reason,
                recorded_by: parse_id(&recorded_by)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |e| e.id))
}

/// Something that needs a coordinator's attention now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplianceAlert {
    /// `missed` (the last closed period) or `at_risk` (the current one).
    pub status: PeriodStatus,
    pub rule_id: Uuid,
    pub rule_code: String,
    pub subject: RuleSubject,
    pub subject_id: Uuid,
    /// The pairing's mentor (absent for an enrolment).
    pub mentor_id: Option<Uuid>,
    pub child_id: Uuid,
    pub period: String,
    /// The last day of the period's window.
    pub deadline: NaiveDate,
    pub count: i64,
    pub minimum: i64,
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub region_id: Option<Uuid>,
    pub mentor_id: Option<Uuid>,
    pub rule_id: Option<Uuid>,
    pub status: Option<PeriodStatus>,
}

#[derive(QueryableByName)]
struct AlertRow {
    #[diesel(sql_type = Text)]
    subject_id: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    mentor_id: Option<String>,
    #[diesel(sql_type = Text)]
    child_id: String,
    #[diesel(sql_type = Date)]
    started_on: NaiveDate,
    #[diesel(sql_type = BigInt)]
    current_count: i64,
    #[diesel(sql_type = BigInt)]
    previous_count: i64,
    #[diesel(sql_type = BigInt)]
    current_exempt: i64,
    #[diesel(sql_type = BigInt)]
    previous_exempt: i64,
}

/// Active pairings and enrolments whose current period is at risk or whose last closed period
/// was missed, most urgent first (missed before at risk, earlier deadline first), of the
/// children the caller reaches. The database reads the rule's tallies per relationship (one
/// query per rule), with the scope's condition; only the alerts come back.
pub fn alerts(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &AlertFilter,
    limit: i64,
    cursor: Option<&str>,
) -> Result<Page<ComplianceAlert>> {
    let after = cursor.map(|c| decode_key("alerts", c)).transpose()?;
    let mut out = all_alerts(conn, scope, filter)?;
    if let Some(after) = after {
        out.retain(|a| sort_key(a) > after);
    }
    let limit_usize = usize::try_from(limit).unwrap_or(0);
    let next_cursor =
        (out.len() > limit_usize).then(|| encode_key("alerts", &sort_key(&out[limit_usize - 1])));
    out.truncate(limit_usize);
    Ok(Page { items: out, next_cursor })
}

/// How many relationships are in each alert status now, per rule, in a region's subtree (or
/// everywhere): the figures without the relationships, for reports, which decide themselves
/// how much of them a caller may see.
pub fn alert_counts(conn: &mut DbConnection, region: Option<Uuid>) -> Result<Vec<AlertCount>> {
    let filter = AlertFilter { region_id: region, ..AlertFilter::default() };
    let prefix = region.map(|r| region_prefix(conn, None, r)).transpose()?;
    let mut counts: Vec<AlertCount> = Vec::new();
    for a in collect(conn, None, prefix.as_deref(), &filter)? {
        match counts.iter_mut().find(|c| c.rule_id == a.rule_id) {
            Some(c) => c.add(a.status),
            None => {
                let mut c = AlertCount { rule_id: a.rule_id, missed: 0, at_risk: 0 };
                c.add(a.status);
                counts.push(c);
            }
        }
    }
    Ok(counts)
}

/// Relationships in each alert status of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertCount {
    pub rule_id: Uuid,
    pub missed: i64,
    pub at_risk: i64,
}

impl AlertCount {
    fn add(&mut self, status: PeriodStatus) {
        match status {
            PeriodStatus::Missed => self.missed += 1,
            PeriodStatus::AtRisk => self.at_risk += 1,
            _ => {}
        }
    }
}

/// The subtree prefix of the filter's region, when the scope reaches it; a region outside the
/// scope is refused as one that does not exist.
fn region_prefix(conn: &mut DbConnection, scope: Option<&Scope>, region: Uuid) -> Result<String> {
    let path = match scope {
        Some(scope) => tongxing_cases::scope::region_in_scope(conn, scope, region)?,
        None => tongxing_cases::regions::path_of(conn, region)?,
    };
    path.ok_or_else(|| Error::field("region_id", "not_found", "no region with this id"))
}

/// Every alert now of the children the caller reaches, most urgent first.
pub fn all_alerts(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &AlertFilter,
) -> Result<Vec<ComplianceAlert>> {
    let prefix = filter.region_id.map(|r| region_prefix(conn, Some(scope), r)).transpose()?;
    let children = child_ids(conn, scope)?;
    collect(conn, children.as_deref(), prefix.as_deref(), filter)
}

/// The alerts of the relationships of the children `children` selects (every child when
/// `None`) in the subtree `prefix` (everywhere when `None`).
fn collect(
    conn: &mut DbConnection,
    children: Option<&str>,
    prefix: Option<&str>,
    filter: &AlertFilter,
) -> Result<Vec<ComplianceAlert>> {
    let today = time::today();
    let mut rules = rules::list(conn, None, true)?;
    if let Some(r) = filter.rule_id {
        rules.retain(|x| x.id == r);
        if rules.is_empty() {
            return Err(Error::field("rule_id", "not_found", "no active rule with this id"));
        }
    }
    if filter.mentor_id.is_some() {
        rules.retain(|x| x.subject == RuleSubject::Pairing);
    }
    let mut out = Vec::new();
    for rule in &rules {
        let spec = rule.spec();
        let current = Period::containing(rule.period, today);
        let previous = Period::containing(rule.period, current.start - Duration::days(1));
        let (cur_min, prev_min) =
            (i64::from(spec.minimum_for(&current)), i64::from(spec.minimum_for(&previous)));
        let at_risk_now = (current.end - today).num_days() < i64::from(spec.at_risk_days);
        let rows = alert_rows(conn, today, rule, (current, previous), children, prefix, filter.mentor_id)?;
        for r in rows {
            let mut push = |status: PeriodStatus, period: Period, count: i64, minimum: i64| -> Result<()> {
                out.push(ComplianceAlert {
                    status,
                    rule_id: rule.id,
                    rule_code: rule.code.clone(),
                    subject: rule.subject,
                    subject_id: parse_id(&r.subject_id)?,
                    mentor_id: r.mentor_id.as_deref().map(parse_id).transpose()?,
                    child_id: parse_id(&r.child_id)?,
                    period: period.label(),
                    deadline: period.end,
                    count,
                    minimum,
                });
                Ok(())
            };
            if r.started_on <= previous.end && r.previous_count < prev_min && r.previous_exempt == 0 {
                push(PeriodStatus::Missed, previous, r.previous_count, prev_min)?;
            }
            if r.started_on <= today && at_risk_now && r.current_count < cur_min && r.current_exempt == 0 {
                push(PeriodStatus::AtRisk, current, r.current_count, cur_min)?;
            }
        }
    }
    if let Some(status) = filter.status {
        out.retain(|a| a.status == status);
    }
    out.sort_by_cached_key(sort_key);
    Ok(out)
}

fn sort_key(a: &ComplianceAlert) -> String {
    let rank = if a.status == PeriodStatus::Missed { 0 } else { 1 };
    format!("{rank}|{}|{}|{}", a.deadline, a.subject_id, a.rule_code)
}

fn alert_rows(
    conn: &mut DbConnection,
    today: NaiveDate,
    rule: &CadenceRule,
    (current, previous): (Period, Period),
    children: Option<&str>,
    region_prefix: Option<&str>,
    mentor: Option<Uuid>,
) -> Result<Vec<AlertRow>> {
    // The counts come from the rule's tallies (see `crate::tallies`): two lookups per active
    // relationship, whatever the number of activities. Pairings are active by status, an
    // enrolment through the current period's end.
    let (source, active) = match rule.subject {
        RuleSubject::Pairing => (
            "p.mentor_id AS mentor_id, p.child_id AS child_id, p.started_on AS started_on FROM pairings p",
            "p.status = 'active'",
        ),
        RuleSubject::CounsellingEnrolment => (
            "CAST(NULL AS TEXT) AS mentor_id, p.child_id AS child_id, p.starts_on AS started_on \
             FROM counselling_enrolments p",
            "(p.ends_on IS NULL OR p.ends_on >= ?)",
        ),
    };
    let mut inner = format!(
        "SELECT p.id AS subject_id, CAST(COALESCE(tc.activities, 0) AS BIGINT) AS current_count, \
         CAST(COALESCE(tp.activities, 0) AS BIGINT) AS previous_count, \
         CAST(CASE WHEN ec.id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS current_exempt, \
         CAST(CASE WHEN ep.id IS NULL THEN 0 ELSE 1 END AS BIGINT) AS previous_exempt, {source} \
         LEFT JOIN compliance_tallies tc ON tc.rule_id = ? AND tc.period_start = ? AND tc.subject_id = p.id \
         LEFT JOIN compliance_tallies tp ON tp.rule_id = ? AND tp.period_start = ? AND tp.subject_id = p.id \
         LEFT JOIN compliance_exemptions ec ON ec.rule_id = ? AND ec.subject_id = p.id AND ec.period_start = ? \
         LEFT JOIN compliance_exemptions ep ON ep.rule_id = ? AND ep.subject_id = p.id AND ep.period_start = ? \
         WHERE {active}"
    );
    // The caller's scope: a subquery of UUIDs and region paths only (`tongxing_cases::scope`).
    if let Some(children) = children {
        inner.push_str(&format!(" AND p.child_id IN ({children})"));
    }
    if region_prefix.is_some() {
        inner.push_str(
            " AND EXISTS (SELECT 1 FROM children ch JOIN regions r ON r.id = ch.region_id \
             WHERE ch.id = p.child_id AND r.path LIKE ?)",
        );
    }
    if mentor.is_some() {
        inner.push_str(" AND p.mentor_id = ?");
    }
    // Only the relationships with an alert leave the database.
    let sql = format!(
        "SELECT * FROM ({inner}) t WHERE (t.started_on <= ? AND t.previous_count < ? AND t.previous_exempt = 0) \
         OR (t.started_on <= ? AND ? AND t.current_count < ? AND t.current_exempt = 0)"
    );
    let sql = numbered(conn.backend(), &sql);
    let rule_id = rule.id.to_string();
    let mut q = diesel::sql_query(sql).into_boxed();
    for start in [current.start, previous.start, current.start, previous.start] {
        q = q.bind::<Text, _>(rule_id.clone()).bind::<Date, _>(start);
    }
    if rule.subject == RuleSubject::CounsellingEnrolment {
        q = q.bind::<Date, _>(current.end);
    }
    if let Some(prefix) = region_prefix {
        q = q.bind::<Text, _>(format!("{prefix}%"));
    }
    if let Some(m) = mentor {
        q = q.bind::<Text, _>(m.to_string());
    }
    let spec = rule.spec();
    let at_risk_now = (current.end - today).num_days() < i64::from(spec.at_risk_days);
    q.bind::<Date, _>(previous.end)
        .bind::<BigInt, _>(i64::from(spec.minimum_for(&previous)))
        .bind::<Date, _>(today)
        .bind::<Bool, _>(at_risk_now)
        .bind::<BigInt, _>(i64::from(spec.minimum_for(&current)))
        .load::<AlertRow>(conn)
        .map_err(map_db_error)
}
