//! Assessments of a child over the four dimensions of the left-behind children survey: living
//! conditions, psychological state, study, and social development.
//!
//! Each dimension is scored 1 to 5, where 1 is a serious concern and 5 is doing well. The risk
//! level is derived, never entered, by this rule:
//! - `high` when any dimension scores 1, or the four scores add up to 10 or less;
//! - `medium` when any dimension scores 2, or the total is 14 or less;
//! - `low` otherwise.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{assessments, children};
use tongxing_store::{DbConnection, DbId, DbText, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use tongxing_core::access::Scope;

use crate::scope::{self, Access};
use crate::util::{clean, not_found_as};

text_enum! {
    pub enum RiskLevel {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
}

/// One dimension's score and notes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DimensionScore {
    /// 1 (serious concern) to 5 (doing well).
    #[validate(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub score: i32,
    /// Sensitive: assessments are reached only by admins, coordinators and caseworkers.
    #[validate(length(max = 4000))]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Assessment {
    pub id: Uuid,
    pub child_id: Uuid,
    pub assessed_on: NaiveDate,
    /// The user who made the assessment.
    pub assessor_id: Uuid,
    pub living_conditions: DimensionScore,
    pub psychological_state: DimensionScore,
    pub study: DimensionScore,
    pub social_development: DimensionScore,
    /// Derived from the scores by the documented rule.
    pub risk_level: RiskLevel,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    /// The date of the assessment (Asia/Shanghai); not in the future.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub assessed_on: NaiveDate,
    #[validate(nested)]
    pub living_conditions: DimensionScore,
    #[validate(nested)]
    pub psychological_state: DimensionScore,
    #[validate(nested)]
    pub study: DimensionScore,
    #[validate(nested)]
    pub social_development: DimensionScore,
}

/// The documented risk rule over the four scores.
pub fn risk_level(scores: [i32; 4]) -> RiskLevel {
    let total: i32 = scores.iter().sum();
    let lowest = scores.iter().copied().min().unwrap_or(5);
    if lowest <= 1 || total <= 10 {
        RiskLevel::High
    } else if lowest <= 2 || total <= 14 {
        RiskLevel::Medium
    } else {
        RiskLevel::Low
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = assessments)]
struct AssessmentRow {
    id: DbId,
    child_id: DbId,
    assessed_on: NaiveDate,
    assessor_id: DbId,
    living_conditions_score: i32,
    living_conditions_notes: Option<String>,
    psychological_state_score: i32,
    psychological_state_notes: Option<String>,
    study_score: i32,
    study_notes: Option<String>,
    social_development_score: i32,
    social_development_notes: Option<String>,
    risk_level: DbText<RiskLevel>,
    created_at: chrono::NaiveDateTime,
}

impl AssessmentRow {
    fn into_assessment(self) -> Result<Assessment> {
        let dim = |score, notes| DimensionScore { score, notes };
        Ok(Assessment {
            id: self.id.0,
            child_id: self.child_id.0,
            assessed_on: self.assessed_on,
            assessor_id: self.assessor_id.0,
            living_conditions: dim(self.living_conditions_score, self.living_conditions_notes),
            psychological_state: dim(self.psychological_state_score, self.psychological_state_notes),
            study: dim(self.study_score, self.study_notes),
            social_development: dim(self.social_development_score, self.social_development_notes),
            risk_level: self.risk_level.0,
            created_at: time::from_db(self.created_at),
        })
    }
}

fn child_birth_date(conn: &mut DbConnection, child: Uuid) -> Result<NaiveDate> {
    children::table.find(DbId(child)).select(children::birth_date).first(conn).map_err(not_found_as("child"))
}

/// Records an assessment of a child whose case file the caller holds.
pub fn create(
    conn: &mut DbConnection,
    scope: &Scope,
    child: Uuid,
    input: AssessmentInput,
) -> Result<Assessment> {
    scope::require_child(conn, scope, Access::Write, child, "child")?;
    let assessor = scope.actor();
    let birth = child_birth_date(conn, child)?;
    if input.assessed_on > time::today() {
        return Err(Error::field("assessed_on", "in_future", "the date cannot be in the future"));
    }
    if input.assessed_on < birth {
        return Err(Error::field("assessed_on", "before_birth", "the date is before the child's birth"));
    }
    let scores = [
        input.living_conditions.score,
        input.psychological_state.score,
        input.study.score,
        input.social_development.score,
    ];
    let id = input.id.unwrap_or_else(id::new_id);
    diesel::insert_into(assessments::table)
        .values((
            assessments::id.eq(DbId(id)),
            assessments::child_id.eq(DbId(child)),
            assessments::assessed_on.eq(input.assessed_on),
            assessments::assessor_id.eq(DbId(assessor)),
            assessments::living_conditions_score.eq(scores[0]),
            assessments::living_conditions_notes.eq(clean(input.living_conditions.notes)),
            assessments::psychological_state_score.eq(scores[1]),
            assessments::psychological_state_notes.eq(clean(input.psychological_state.notes)),
            assessments::study_score.eq(scores[2]),
            assessments::study_notes.eq(clean(input.study.notes)),
            assessments::social_development_score.eq(scores[3]),
            assessments::social_development_notes.eq(clean(input.social_development.notes)),
            assessments::risk_level.eq(risk_level(scores).as_str()),
            assessments::created_at.eq(time::to_db(time::now())),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    assessments::table
        .find(DbId(id))
        .select(AssessmentRow::as_select())
        .first(conn)
        .map_err(map_db_error)?
        .into_assessment()
}

/// A child's assessments, oldest first.
pub fn list_for_child(
    conn: &mut DbConnection,
    scope: &Scope,
    child: Uuid,
    page: PageRequest,
) -> Result<Page<Assessment>> {
    scope::require_child(conn, scope, Access::Read, child, "child")?;
    let mut q = assessments::table
        .filter(assessments::child_id.eq(DbId(child)))
        .select(AssessmentRow::as_select())
        .order(assessments::id.asc())
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(assessments::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<AssessmentRow>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(AssessmentRow::into_assessment).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |a| a.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_score_of_one_is_high_risk() {
        assert_eq!(risk_level([1, 5, 5, 5]), RiskLevel::High);
    }

    #[test]
    fn a_low_total_is_high_risk_even_without_a_one() {
        assert_eq!(risk_level([2, 3, 3, 2]), RiskLevel::High);
        assert_eq!(risk_level([3, 3, 3, 2]), RiskLevel::Medium);
    }

    #[test]
    fn any_score_of_two_or_a_middling_total_is_medium() {
        assert_eq!(risk_level([2, 5, 5, 5]), RiskLevel::Medium);
        assert_eq!(risk_level([3, 4, 4, 3]), RiskLevel::Medium);
        assert_eq!(risk_level([3, 4, 4, 4]), RiskLevel::Low);
        assert_eq!(risk_level([5, 5, 5, 5]), RiskLevel::Low);
    }
}
