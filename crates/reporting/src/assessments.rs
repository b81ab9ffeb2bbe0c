//! The assessments report: for a period and region, how the scores of the four dimensions are
//! distributed, the share at each derived risk level, and how children changed between their
//! first and latest assessment in the period.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use tongxing_core::Result;
use tongxing_store::{DbConnection, map_db_error};
use utoipa::ToSchema;

use crate::csv::{Table, number};
use crate::scope::{Scope, ScopeEcho};
use crate::summary::scoped;

const DIMENSIONS: [&str; 4] = ["living_conditions", "psychological_state", "study", "social_development"];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DimensionReport {
    pub dimension: String,
    /// How many assessments scored 1, 2, 3, 4 and 5.
    pub scores: [i64; 5],
    pub mean: Option<f64>,
    /// Mean of (latest − first) over children assessed at least twice in the period.
    pub mean_change: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskShare {
    pub low: f64,
    pub medium: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentsReport {
    pub scope: ScopeEcho,
    /// Assessments dated in the period, of children in the region.
    pub assessments: i64,
    pub children: i64,
    pub dimensions: Vec<DimensionReport>,
    /// Share of assessments at each risk level (0 to 1).
    pub risk_levels: RiskShare,
    /// Children assessed at least twice in the period.
    pub children_reassessed: i64,
    /// Of those, whose total score rose, fell, or stayed.
    pub improved: i64,
    pub worsened: i64,
    pub unchanged: i64,
}

#[derive(QueryableByName)]
struct Distribution {
    #[diesel(sql_type = BigInt)]
    assessments: i64,
    #[diesel(sql_type = BigInt)]
    children: i64,
    #[diesel(sql_type = BigInt)]
    low: i64,
    #[diesel(sql_type = BigInt)]
    medium: i64,
    #[diesel(sql_type = BigInt)]
    high: i64,
}

#[derive(QueryableByName)]
struct ScoreCount {
    #[diesel(sql_type = Text)]
    dimension: String,
    #[diesel(sql_type = BigInt)]
    score: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Change {
    #[diesel(sql_type = BigInt)]
    children: i64,
    #[diesel(sql_type = BigInt)]
    d_living_conditions: i64,
    #[diesel(sql_type = BigInt)]
    d_psychological_state: i64,
    #[diesel(sql_type = BigInt)]
    d_study: i64,
    #[diesel(sql_type = BigInt)]
    d_social_development: i64,
    #[diesel(sql_type = BigInt)]
    improved: i64,
    #[diesel(sql_type = BigInt)]
    worsened: i64,
}

/// `FROM … WHERE …` of the assessments in scope; binds: the two dates, then the region pattern
/// when the scope has one.
fn in_scope(scope: &Scope) -> String {
    match scope.region_prefix {
        Some(_) => format!(
            "FROM assessments a JOIN children c ON c.id = a.child_id WHERE a.assessed_on >= ? AND a.assessed_on <= ?{}",
            scope.region_clause("c.region_id")
        ),
        None => "FROM assessments a WHERE a.assessed_on >= ? AND a.assessed_on <= ?".to_owned(),
    }
}

pub fn report(conn: &mut DbConnection, scope: &Scope) -> Result<AssessmentsReport> {
    let from_scope = in_scope(scope);
    let dist: Distribution = scoped(
        conn,
        scope,
        &format!(
            "SELECT COUNT(*) AS assessments, COUNT(DISTINCT a.child_id) AS children, \
             CAST(COALESCE(SUM(CASE WHEN a.risk_level = 'low' THEN 1 ELSE 0 END), 0) AS BIGINT) AS low, \
             CAST(COALESCE(SUM(CASE WHEN a.risk_level = 'medium' THEN 1 ELSE 0 END), 0) AS BIGINT) AS medium, \
             CAST(COALESCE(SUM(CASE WHEN a.risk_level = 'high' THEN 1 ELSE 0 END), 0) AS BIGINT) AS high {from_scope}"
        ),
        false,
    )
    .get_result(conn)
    .map_err(map_db_error)?;
    let scores_sql = DIMENSIONS
        .iter()
        .map(|d| format!("SELECT '{d}' AS dimension, CAST(a.{d}_score AS BIGINT) AS score, COUNT(*) AS n {from_scope} GROUP BY a.{d}_score"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let counts: Vec<ScoreCount> = scoped(conn, scope, &scores_sql, false).load(conn).map_err(map_db_error)?;
    // First and latest assessment of each child in scope (by date, then id).
    let total = DIMENSIONS.iter().map(|d| format!("{{t}}.{d}_score")).collect::<Vec<_>>().join(" + ");
    let total_of = |t: &str| total.replace("{t}", t);
    let deltas = DIMENSIONS
        .iter()
        .map(|d| format!("CAST(COALESCE(SUM(l.{d}_score - f.{d}_score), 0) AS BIGINT) AS d_{d}"))
        .collect::<Vec<_>>()
        .join(", ");
    let change_sql = format!(
        "WITH ranked AS (SELECT a.*, \
           ROW_NUMBER() OVER (PARTITION BY a.child_id ORDER BY a.assessed_on, a.id) AS first_rank, \
           ROW_NUMBER() OVER (PARTITION BY a.child_id ORDER BY a.assessed_on DESC, a.id DESC) AS last_rank, \
           COUNT(*) OVER (PARTITION BY a.child_id) AS n {from_scope}) \
         SELECT COUNT(*) AS children, {deltas}, \
           CAST(COALESCE(SUM(CASE WHEN {} > {} THEN 1 ELSE 0 END), 0) AS BIGINT) AS improved, \
           CAST(COALESCE(SUM(CASE WHEN {} < {} THEN 1 ELSE 0 END), 0) AS BIGINT) AS worsened \
         FROM ranked f JOIN ranked l ON l.child_id = f.child_id AND l.last_rank = 1 WHERE f.first_rank = 1 AND f.n >= 2",
        total_of("l"),
        total_of("f"),
        total_of("l"),
        total_of("f"),
    );
    let change: Change = scoped(conn, scope, &change_sql, false).get_result(conn).map_err(map_db_error)?;
    let deltas = [
        change.d_living_conditions,
        change.d_psychological_state,
        change.d_study,
        change.d_social_development,
    ];
    let dimensions = DIMENSIONS
        .iter()
        .zip(deltas)
        .map(|(d, delta)| {
            let mut scores = [0i64; 5];
            for c in counts.iter().filter(|c| c.dimension == *d) {
                if let Some(slot) = usize::try_from(c.score - 1).ok().and_then(|i| scores.get_mut(i)) {
                    *slot = c.n;
                }
            }
            let n: i64 = scores.iter().sum();
            let weighted: i64 = scores.iter().enumerate().map(|(i, c)| (i as i64 + 1) * c).sum();
            DimensionReport {
                dimension: (*d).to_owned(),
                scores,
                mean: (n > 0).then(|| weighted as f64 / n as f64),
                mean_change: (change.children > 0).then(|| delta as f64 / change.children as f64),
            }
        })
        .collect();
    let share = |x: i64| if dist.assessments > 0 { x as f64 / dist.assessments as f64 } else { 0.0 };
    Ok(AssessmentsReport {
        scope: scope.echo(),
        assessments: dist.assessments,
        children: dist.children,
        dimensions,
        risk_levels: RiskShare { low: share(dist.low), medium: share(dist.medium), high: share(dist.high) },
        children_reassessed: change.children,
        improved: change.improved,
        worsened: change.worsened,
        unchanged: change.children - change.improved - change.worsened,
    })
}

impl AssessmentsReport {
    pub fn to_table(&self) -> Table {
        let mut t = Table::new(&[
            "dimension",
            "score_1",
            "score_2",
            "score_3",
            "score_4",
            "score_5",
            "mean",
            "mean_change",
        ]);
        for d in &self.dimensions {
            let mut row = vec![d.dimension.clone()];
            row.extend(d.scores.iter().map(i64::to_string));
            row.push(d.mean.map(number).unwrap_or_default());
            row.push(d.mean_change.map(number).unwrap_or_default());
            t.push(row);
        }
        t
    }
}
