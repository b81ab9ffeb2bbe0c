//! Possible duplicate children, for a coordinator to review.
//!
//! A national ID number names one child, but a caseworker may record a child whose number is
//! already held by a case outside their scope (another organisation's, another town's). Refusing
//! with "taken" would tell them that such a child exists; so the record is kept, and the pair goes
//! to the review queue of the coordinators who reach both children. A number already held within
//! the caller's own scope is refused as before (409 `national_id_taken`, naming the record they
//! can read).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::Code;
use tongxing_core::access::Scope;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{children, duplicate_reviews};
use tongxing_store::{DbConnection, DbId, DbText, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::scope::{self, condition};
use crate::util::{Versioned, check_version, clean, not_found_as, parse_id, parse_opt_id};

text_enum! {
    /// Why two records may be the same child.
    pub enum DuplicateReason {
        /// Both carry the same national ID number.
        NationalId => "national_id",
    }
}

text_enum! {
    /// A coordinator's finding.
    pub enum DuplicateOutcome {
        /// One child recorded twice; the records are to be merged by hand.
        SameChild => "same_child",
        /// Two children (a number entered wrongly on one of them).
        DifferentChildren => "different_children",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateReview {
    pub id: Uuid,
    /// The record whose creation or change found the other.
    pub child_id: Uuid,
    /// The record it may duplicate.
    pub other_child_id: Uuid,
    pub reason: DuplicateReason,
    pub found_by: Uuid,
    pub found_at: DateTime<Utc>,
    /// Absent while the review is open.
    pub outcome: Option<DuplicateOutcome>,
    pub note: Option<String>,
    pub resolved_by: Option<Uuid>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The version that `ETag` and `If-Match` carry.
    pub version: i32,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DuplicateResolution {
    pub outcome: DuplicateOutcome,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DuplicateFilter {
    /// Only open (`true`) or resolved (`false`) reviews.
    pub open: Option<bool>,
    /// Reviews naming this child on either side.
    pub child_id: Option<Uuid>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = duplicate_reviews)]
struct Row {
    id: DbId,
    child_id: DbId,
    other_child_id: DbId,
    reason: DbText<DuplicateReason>,
    found_by: String,
    found_at: chrono::NaiveDateTime,
    outcome: Option<DbText<DuplicateOutcome>>,
    note: Option<String>,
    resolved_by: Option<String>,
    resolved_at: Option<chrono::NaiveDateTime>,
    version: i32,
}

impl Row {
    fn into_review(self) -> Result<DuplicateReview> {
        Ok(DuplicateReview {
            id: self.id.0,
            child_id: self.child_id.0,
            other_child_id: self.other_child_id.0,
            reason: self.reason.0,
            found_by: parse_id(&self.found_by)?,
            found_at: time::from_db(self.found_at),
            outcome: self.outcome.map(|x| x.0),
            note: self.note,
            resolved_by: parse_opt_id(self.resolved_by.as_deref())?,
            resolved_at: self.resolved_at.map(time::from_db),
            version: self.version,
        })
    }
}

/// The other children holding `national_id`: refused (409 naming it) when one of them is in the
/// caller's scope; otherwise the ones outside it, for [`record`] after the write.
pub(crate) fn holders(
    conn: &mut DbConnection,
    scope: &Scope,
    national_id: &str,
    except: Option<Uuid>,
) -> Result<Vec<Uuid>> {
    let mut q =
        children::table.filter(children::national_id.eq(national_id)).select(children::id).into_boxed();
    if let Some(me) = except {
        q = q.filter(children::id.ne(DbId(me)));
    }
    let all: Vec<String> = q.load(conn).map_err(map_db_error)?;
    if all.is_empty() {
        return Ok(Vec::new());
    }
    let mut visible = children::table.filter(children::id.eq_any(&all)).select(children::id).into_boxed();
    if let Some(cond) = scope::child_column(conn, scope, "children.id")? {
        visible = visible.filter(cond);
    }
    if let Some(seen) = visible.first::<String>(conn).optional().map_err(map_db_error)? {
        return Err(Error::conflict_with(
            Code::NationalIdTaken,
            "a child with this national ID number is already recorded",
            parse_id(&seen)?,
        ));
    }
    all.iter().map(|s| parse_id(s)).collect()
}

/// Puts `child` and each of `others` on the review queue (once per pair).
pub(crate) fn record(conn: &mut DbConnection, scope: &Scope, child: Uuid, others: &[Uuid]) -> Result<()> {
    let now = time::to_db(time::now());
    for other in others {
        let (a, b) = (child.to_string(), other.to_string());
        let known: i64 = duplicate_reviews::table
            .filter(
                (duplicate_reviews::child_id.eq(&a).and(duplicate_reviews::other_child_id.eq(&b)))
                    .or(duplicate_reviews::child_id.eq(&b).and(duplicate_reviews::other_child_id.eq(&a))),
            )
            .filter(duplicate_reviews::reason.eq(DuplicateReason::NationalId.as_str()))
            .count()
            .get_result(conn)
            .map_err(map_db_error)?;
        if known > 0 {
            continue;
        }
        diesel::insert_into(duplicate_reviews::table)
            .values((
                duplicate_reviews::id.eq(id::new_id().to_string()),
                duplicate_reviews::child_id.eq(&a),
                duplicate_reviews::other_child_id.eq(&b),
                duplicate_reviews::reason.eq(DuplicateReason::NationalId.as_str()),
                duplicate_reviews::found_by.eq(DbId(scope.actor())),
                duplicate_reviews::found_at.eq(now),
            ))
            .execute(conn)
            .map_err(map_db_error)?;
    }
    Ok(())
}

/// Reviews whose two children the caller both reaches: a coordinator limited to a region sees the
/// pairs inside it; pairs across regions go to coordinators who reach both.
fn reachable(
    conn: &mut DbConnection,
    scope: &Scope,
) -> Result<Option<scope::Condition<duplicate_reviews::table>>> {
    Ok(scope::child_ids(conn, scope)?.map(|ids| {
        condition(format!(
            "(duplicate_reviews.child_id IN ({ids}) AND duplicate_reviews.other_child_id IN ({ids}))"
        ))
    }))
}

/// The review queue, oldest first.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &DuplicateFilter,
    page: PageRequest,
) -> Result<Page<DuplicateReview>> {
    let mut q =
        duplicate_reviews::table.select(Row::as_select()).order(duplicate_reviews::id.asc()).into_boxed();
    if let Some(cond) = reachable(conn, scope)? {
        q = q.filter(cond);
    }
    q = match filter.open {
        Some(true) => q.filter(duplicate_reviews::resolved_at.is_null()),
        Some(false) => q.filter(duplicate_reviews::resolved_at.is_not_null()),
        None => q,
    };
    if let Some(c) = filter.child_id {
        let c = c.to_string();
        q = q.filter(duplicate_reviews::child_id.eq(c.clone()).or(duplicate_reviews::other_child_id.eq(c)));
    }
    if let Some(after) = page.after {
        q = q.filter(duplicate_reviews::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<Row>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(Row::into_review).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |r| r.id))
}

/// The review, if the caller reaches both its children; otherwise not found.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<DuplicateReview>> {
    let mut q = duplicate_reviews::table
        .filter(duplicate_reviews::id.eq(DbId(id)))
        .select(Row::as_select())
        .into_boxed();
    if let Some(cond) = reachable(conn, scope)? {
        q = q.filter(cond);
    }
    let r = q.first(conn).map_err(not_found_as("duplicate review"))?.into_review()?;
    Ok(Versioned { version: r.version, record: r })
}

/// Records a coordinator's finding; a review is resolved once. Answers it before and after.
pub fn resolve(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    resolution: DuplicateResolution,
    expected: Option<i32>,
) -> Result<(Versioned<DuplicateReview>, Versioned<DuplicateReview>)> {
    let current = get(conn, scope, id)?;
    if let Some(v) = expected {
        check_version(current.version, v)?;
    }
    if current.record.resolved_at.is_some() {
        return Err(Error::conflict(Code::AlreadyResolved, "this review has already been resolved"));
    }
    let changed = diesel::update(
        duplicate_reviews::table
            .filter(duplicate_reviews::id.eq(DbId(id)))
            .filter(duplicate_reviews::version.eq(current.version)),
    )
    .set((
        duplicate_reviews::outcome.eq(Some(resolution.outcome.as_str())),
        duplicate_reviews::note.eq(clean(resolution.note)),
        duplicate_reviews::resolved_by.eq(Some(scope.actor().to_string())),
        duplicate_reviews::resolved_at.eq(Some(time::to_db(time::now()))),
        duplicate_reviews::version.eq(current.version + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    let after = get(conn, scope, id)?;
    Ok((current, after))
}
