//! The assessments report: for a period and region, how the scores of the four dimensions are
//! distributed, the share at each derived risk level, and how children changed between their
//! first and latest assessment in the period.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;
use diesel::sql_types::{Date, Integer, Text};
use serde::Serialize;
use tongxing_core::Result;
use tongxing_store::{DbConnection, map_db_error};
use utoipa::ToSchema;

use crate::csv::{Table, Words, count, number};
use crate::scope::{Coverage, ScopeEcho};
use crate::summary::scoped;
use crate::suppression::{Grid, Slot, Suppression, Threshold};

pub(crate) const DIMENSIONS: [&str; 4] =
    ["living_conditions", "psychological_state", "study", "social_development"];

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DimensionReport {
    pub dimension: String,
    /// How many assessments scored 1, 2, 3, 4 and 5 (`null` where withheld).
    pub scores: [Option<i64>; 5],
    pub mean: Option<f64>,
    /// Mean of (latest − first) over children assessed at least twice in the period.
    pub mean_change: Option<f64>,
}

/// `null` where withheld.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskShare {
    #[schema(required = true)]
    pub low: Option<f64>,
    #[schema(required = true)]
    pub medium: Option<f64>,
    #[schema(required = true)]
    pub high: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssessmentsReport {
    pub scope: ScopeEcho,
    /// Assessments dated in the period, of children in the region.
    #[schema(required = true)]
    pub assessments: Option<i64>,
    #[schema(required = true)]
    pub children: Option<i64>,
    pub dimensions: Vec<DimensionReport>,
    /// Share of assessments at each risk level (0 to 1).
    pub risk_levels: RiskShare,
    /// Children assessed at least twice in the period.
    #[schema(required = true)]
    pub children_reassessed: Option<i64>,
    /// Of those, whose total score rose, fell, or stayed.
    #[schema(required = true)]
    pub improved: Option<i64>,
    #[schema(required = true)]
    pub worsened: Option<i64>,
    #[schema(required = true)]
    pub unchanged: Option<i64>,
    /// Present when small cells were withheld from this answer: which, and below what.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
}

/// One assessment in scope, as the report reads it.
#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    child_id: String,
    #[diesel(sql_type = Date)]
    assessed_on: NaiveDate,
    #[diesel(sql_type = Integer)]
    living_conditions_score: i32,
    #[diesel(sql_type = Integer)]
    psychological_state_score: i32,
    #[diesel(sql_type = Integer)]
    study_score: i32,
    #[diesel(sql_type = Integer)]
    social_development_score: i32,
    #[diesel(sql_type = Text)]
    risk_level: String,
}

impl Row {
    /// The scores in the order of [`DIMENSIONS`].
    fn scores(&self) -> [i64; 4] {
        [
            self.living_conditions_score,
            self.psychological_state_score,
            self.study_score,
            self.social_development_score,
        ]
        .map(i64::from)
    }
}

/// A child's first and latest assessment in scope (by date, then id), and how many it had.
struct Child {
    first: (NaiveDate, String, [i64; 4]),
    last: (NaiveDate, String, [i64; 4]),
    assessments: u32,
}

fn in_scope(scope: &Coverage) -> String {
    let columns = "a.id AS id, a.child_id AS child_id, a.assessed_on AS assessed_on, \
                   a.living_conditions_score AS living_conditions_score, \
                   a.psychological_state_score AS psychological_state_score, a.study_score AS study_score, \
                   a.social_development_score AS social_development_score, a.risk_level AS risk_level";
    match scope.region_prefix {
        Some(_) => format!(
            "SELECT {columns} FROM assessments a JOIN children c ON c.id = a.child_id \
             WHERE a.assessed_on >= ? AND a.assessed_on <= ?{}",
            scope.region_clause("c.region_id")
        ),
        None => {
            format!("SELECT {columns} FROM assessments a WHERE a.assessed_on >= ? AND a.assessed_on <= ?")
        }
    }
}

/// One pass over the period's assessments, streamed from the database: the distributions, the
/// risk shares, and each child's first and latest assessment.
pub fn report(conn: &mut DbConnection, scope: &Coverage) -> Result<AssessmentsReport> {
    let query = scoped(conn, scope, &in_scope(scope), false);
    let mut assessments = 0_i64;
    let mut risk = [0_i64; 3];
    let mut scores = [[0_i64; 5]; 4];
    let mut children: HashMap<String, Child> = HashMap::new();
    for row in query.load_iter::<Row, DefaultLoadingMode>(conn).map_err(map_db_error)? {
        let row = row.map_err(map_db_error)?;
        assessments += 1;
        match row.risk_level.as_str() {
            "low" => risk[0] += 1,
            "medium" => risk[1] += 1,
            "high" => risk[2] += 1,
            _ => {}
        }
        let s = row.scores();
        for (counts, score) in scores.iter_mut().zip(s) {
            if let Some(slot) = usize::try_from(score - 1).ok().and_then(|i| counts.get_mut(i)) {
                *slot += 1;
            }
        }
        let key = (row.assessed_on, row.id);
        match children.get_mut(&row.child_id) {
            Some(c) => {
                c.assessments += 1;
                if (key.0, &key.1) < (c.first.0, &c.first.1) {
                    c.first = (key.0, key.1.clone(), s);
                }
                if (key.0, &key.1) > (c.last.0, &c.last.1) {
                    c.last = (key.0, key.1, s);
                }
            }
            None => {
                let first = (key.0, key.1.clone(), s);
                children.insert(row.child_id, Child { first, last: (key.0, key.1, s), assessments: 1 });
            }
        }
    }
    let (mut reassessed, mut improved, mut worsened) = (0_i64, 0_i64, 0_i64);
    let mut deltas = [0_i64; 4];
    for c in children.values().filter(|c| c.assessments >= 2) {
        let (first, last) = (c.first.2, c.last.2);
        reassessed += 1;
        for (d, (f, l)) in deltas.iter_mut().zip(first.iter().zip(last)) {
            *d += l - f;
        }
        let (f, l) = (first.iter().sum::<i64>(), last.iter().sum::<i64>());
        improved += i64::from(l > f);
        worsened += i64::from(l < f);
    }
    let dimensions = DIMENSIONS
        .iter()
        .zip(scores)
        .zip(deltas)
        .map(|((d, scores), delta)| {
            let n: i64 = scores.iter().sum();
            let weighted: i64 = scores.iter().zip(1..).map(|(c, score)| score * c).sum();
            DimensionReport {
                dimension: (*d).to_owned(),
                scores: scores.map(Some),
                mean: (n > 0).then(|| weighted as f64 / n as f64),
                mean_change: (reassessed > 0).then(|| delta as f64 / reassessed as f64),
            }
        })
        .collect();
    let share = |x: i64| Some(if assessments > 0 { x as f64 / assessments as f64 } else { 0.0 });
    let mut report = AssessmentsReport {
        scope: scope.echo(),
        assessments: Some(assessments),
        children: Some(i64::try_from(children.len()).unwrap_or(i64::MAX)),
        dimensions,
        risk_levels: RiskShare { low: share(risk[0]), medium: share(risk[1]), high: share(risk[2]) },
        children_reassessed: Some(reassessed),
        improved: Some(improved),
        worsened: Some(worsened),
        unchanged: Some(reassessed - improved - worsened),
        suppression: None,
    };
    if let Some(threshold) = scope.small_cells {
        report.suppression = Some(report.protect(threshold, risk));
    }
    Ok(report)
}

/// The columns of the report's table (keys of its words, as `csv::Words` asks for them).
pub const COLUMNS: &[&str] =
    &["dimension", "score_1", "score_2", "score_3", "score_4", "score_5", "mean", "mean_change"];

impl AssessmentsReport {
    /// Withholds what rests on few children: everything when the children assessed are few;
    /// otherwise small score and risk counts (each distribution adds up to the assessments),
    /// the means of a distribution with a withheld cell, and the change figures when the
    /// children reassessed are few. `risk` holds the assessments at each level.
    fn protect(&mut self, threshold: Threshold, risk: [i64; 3]) -> Suppression {
        let mut g = Grid::new(threshold);
        let children = g.count("/children".into(), &mut self.children);
        let assessments = g.count("/assessments".into(), &mut self.assessments);
        let mut everything = vec![assessments];
        let mut changes = Vec::new();
        for (i, d) in self.dimensions.iter_mut().enumerate() {
            let cells: Vec<usize> = d
                .scores
                .iter_mut()
                .enumerate()
                .map(|(j, s)| g.count(format!("/dimensions/{i}/scores/{j}"), s))
                .collect();
            let mut relation = vec![assessments];
            relation.extend(&cells);
            g.adds_up(relation);
            let mean = g.figure(format!("/dimensions/{i}/mean"), Slot::Ratio(&mut d.mean));
            g.derived(mean, &cells);
            changes.push(g.figure(format!("/dimensions/{i}/mean_change"), Slot::Ratio(&mut d.mean_change)));
            everything.extend(cells);
            everything.push(mean);
        }
        let r = &mut self.risk_levels;
        let levels = [
            g.share("/risk_levels/low".into(), &mut r.low, risk[0]),
            g.share("/risk_levels/medium".into(), &mut r.medium, risk[1]),
            g.share("/risk_levels/high".into(), &mut r.high, risk[2]),
        ];
        let mut relation = vec![assessments];
        relation.extend(levels);
        g.adds_up(relation);
        everything.extend(levels);
        let reassessed = g.count("/children_reassessed".into(), &mut self.children_reassessed);
        let outcomes = [
            g.count("/improved".into(), &mut self.improved),
            g.count("/worsened".into(), &mut self.worsened),
            g.count("/unchanged".into(), &mut self.unchanged),
        ];
        let mut relation = vec![reassessed];
        relation.extend(outcomes);
        g.adds_up(relation);
        let mut of_reassessed = outcomes.to_vec();
        of_reassessed.extend(&changes);
        g.within(reassessed, &of_reassessed);
        everything.push(reassessed);
        everything.extend(of_reassessed);
        g.within(children, &everything);
        g.finish()
    }

    pub fn to_table(&self, words: &dyn Words) -> Table {
        let mut t = Table::new(words, COLUMNS);
        for d in &self.dimensions {
            let mut row = vec![words.label(&d.dimension)];
            row.extend(d.scores.iter().map(|s| count(*s)));
            row.push(d.mean.map(number).unwrap_or_default());
            row.push(d.mean_change.map(number).unwrap_or_default());
            t.push(row);
        }
        t.note(words, self.suppression.as_ref());
        t
    }
}
