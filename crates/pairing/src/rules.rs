//! Cadence rules are data: what relationship they check, what counts, over which period, and
//! the minimum (versioned by date). Coordinators change a minimum or add a rule without a code
//! change.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::error::FieldErrors;
use tongxing_core::record::parse_id;
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{cadence_rule_versions, cadence_rules};
use tongxing_store::{DbConnection, DbId, DbText, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::cadence::{PeriodKind, RuleSpec, RuleVersion};
use crate::kinds::{PairContactKind, kinds_from_db};
// Re-exported: other crates name the rule's subject from here.
pub use crate::kinds::{RuleSubject, SESSION};

/// A rule's minimum from a date on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MinimumChange {
    /// The first day the minimum applies; it governs periods that start on or after it.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub effective_from: NaiveDate,
    #[validate(range(min = 0, max = 1000))]
    #[schema(minimum = 0, maximum = 1000)]
    pub minimum: i32,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CadenceRule {
    pub id: Uuid,
    /// Stable name (e.g. `monthly_contact`).
    pub code: String,
    pub name: String,
    pub subject: RuleSubject,
    /// Activity kinds that count: pair-contact kinds, or `session` for counselling.
    pub counted_kinds: Vec<String>,
    /// Count only commemorative outings.
    pub commemorative_only: bool,
    pub period: PeriodKind,
    /// An open period with this many days left or fewer is `at_risk`.
    pub at_risk_days: i32,
    pub active: bool,
    /// The minimum per period over time, oldest first.
    pub minimums: Vec<MinimumChange>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CadenceRuleInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    /// Lower-case letters, digits and `_`.
    #[validate(length(min = 3, max = 64))]
    #[schema(min_length = 3, max_length = 64)]
    pub code: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub subject: RuleSubject,
    #[validate(length(min = 1, max = 6))]
    #[schema(min_items = 1, max_items = 6)]
    pub counted_kinds: Vec<String>,
    #[serde(default)]
    pub commemorative_only: bool,
    pub period: PeriodKind,
    #[validate(range(min = 0, max = 366))]
    #[schema(minimum = 0, maximum = 366)]
    pub at_risk_days: i32,
    #[validate(nested)]
    pub minimum: MinimumChange,
}

impl CadenceRule {
    pub fn spec(&self) -> RuleSpec {
        RuleSpec {
            period: self.period,
            versions: self
                .minimums
                .iter()
                .map(|m| RuleVersion {
                    effective_from: m.effective_from,
                    minimum: u32::try_from(m.minimum).unwrap_or(0),
                })
                .collect(),
            at_risk_days: u32::try_from(self.at_risk_days).unwrap_or(0),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = cadence_rules)]
struct RuleRow {
    id: String,
    code: String,
    name: String,
    subject: DbText<RuleSubject>,
    counted_kinds: String,
    commemorative_only: bool,
    period: DbText<PeriodKind>,
    at_risk_days: i32,
    active: bool,
    created_at: chrono::NaiveDateTime,
}

fn check(input: &CadenceRuleInput) -> Result<()> {
    let mut errs = FieldErrors::new();
    if !input.code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        errs.push("code", "format", "use lower-case letters, digits and _");
    }
    for (i, kind) in input.counted_kinds.iter().enumerate() {
        let known = match input.subject {
            RuleSubject::Pairing => PairContactKind::ALL.iter().any(|k| k.as_str() == kind),
            RuleSubject::CounsellingEnrolment => kind == SESSION,
        };
        if !known {
            errs.push(
                &format!("counted_kinds[{i}]"),
                "unknown_kind",
                format!("`{kind}` is not counted for a {}", input.subject),
            );
        }
    }
    if input.commemorative_only && !input.counted_kinds.iter().all(|k| k == PairContactKind::Outing.as_str())
    {
        errs.push("commemorative_only", "outings_only", "only outings can be commemorative");
    }
    errs.finish()
}

pub fn create(conn: &mut DbConnection, input: CadenceRuleInput) -> Result<CadenceRule> {
    check(&input)?;
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(cadence_rules::table)
        .values((
            cadence_rules::id.eq(DbId(id)),
            cadence_rules::code.eq(&input.code),
            cadence_rules::name.eq(input.name.trim()),
            cadence_rules::subject.eq(input.subject.as_str()),
            cadence_rules::counted_kinds.eq(input.counted_kinds.join(",")),
            cadence_rules::commemorative_only.eq(input.commemorative_only),
            cadence_rules::period.eq(input.period.as_str()),
            cadence_rules::at_risk_days.eq(input.at_risk_days),
            cadence_rules::created_at.eq(now),
            cadence_rules::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    add_minimum(conn, id, input.minimum)?;
    // Counts what was recorded before the rule existed.
    crate::tallies::rebuild(conn, id)?;
    get(conn, id)
}

/// Changes a rule's minimum from a date on. Periods that started before keep their minimum.
pub fn add_minimum(conn: &mut DbConnection, rule: Uuid, change: MinimumChange) -> Result<CadenceRule> {
    get(conn, rule)?;
    diesel::insert_into(cadence_rule_versions::table)
        .values((
            cadence_rule_versions::id.eq(id::new_id().to_string()),
            cadence_rule_versions::rule_id.eq(DbId(rule)),
            cadence_rule_versions::effective_from.eq(change.effective_from),
            cadence_rule_versions::minimum.eq(change.minimum),
            cadence_rule_versions::created_at.eq(time::to_db(time::now())),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    get(conn, rule)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<CadenceRule> {
    let row = cadence_rules::table
        .find(DbId(id))
        .select(RuleRow::as_select())
        .first(conn)
        .map_err(not_found_as("cadence rule"))?;
    assemble(conn, vec![row])?.pop().ok_or_else(|| Error::internal("rule vanished"))
}

/// Every rule, optionally only the active ones of a subject, with their minimums.
pub fn list(
    conn: &mut DbConnection,
    subject: Option<RuleSubject>,
    active_only: bool,
) -> Result<Vec<CadenceRule>> {
    let mut q =
        cadence_rules::table.select(RuleRow::as_select()).order(cadence_rules::code.asc()).into_boxed();
    if let Some(s) = subject {
        q = q.filter(cadence_rules::subject.eq(s.as_str()));
    }
    if active_only {
        q = q.filter(cadence_rules::active.eq(true));
    }
    let rows = q.load::<RuleRow>(conn).map_err(map_db_error)?;
    assemble(conn, rows)
}

fn assemble(conn: &mut DbConnection, rows: Vec<RuleRow>) -> Result<Vec<CadenceRule>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let versions: Vec<(String, NaiveDate, i32)> = cadence_rule_versions::table
        .filter(cadence_rule_versions::rule_id.eq_any(&ids))
        .order((cadence_rule_versions::rule_id, cadence_rule_versions::effective_from))
        .select((
            cadence_rule_versions::rule_id,
            cadence_rule_versions::effective_from,
            cadence_rule_versions::minimum,
        ))
        .load(conn)
        .map_err(map_db_error)?;
    let mut by_rule: HashMap<String, Vec<MinimumChange>> = HashMap::new();
    for (rule, effective_from, minimum) in versions {
        by_rule.entry(rule).or_default().push(MinimumChange { effective_from, minimum });
    }
    rows.into_iter()
        .map(|r| {
            Ok(CadenceRule {
                id: parse_id(&r.id)?,
                subject: r.subject.0,
                period: r.period.0,
                counted_kinds: kinds_from_db(&r.counted_kinds),
                minimums: by_rule.remove(&r.id).unwrap_or_default(),
                code: r.code,
                name: r.name,
                commemorative_only: r.commemorative_only,
                at_risk_days: r.at_risk_days,
                active: r.active,
                created_at: time::from_db(r.created_at),
            })
        })
        .collect()
}
