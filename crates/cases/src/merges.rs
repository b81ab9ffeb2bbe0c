//! Merging a child recorded twice into the record that survives, and undoing it.
//!
//! In one transaction every record about the merged child moves to the surviving one: contacts,
//! assessments, consents, pairings (with their contacts and compliance), counselling enrolments
//! (with their sessions and teams) and event attendance. The merged child's row then leaves
//! `children`, so no list, scope or report can count the child twice; its row, its status
//! history and its duplicate reviews are kept in the merge record, with the ids of the rows that
//! moved, and its reads answer 410 `child_merged` naming the survivor. The access history of the
//! survivor includes the merged record's.
//!
//! An admin can undo a merge within [`UNDO_DAYS`] days: the merged row comes back with its
//! history, and the rows that moved go back to it (those still on the survivor; anything
//! recorded on the survivor since stays there). A merge whose survivor was itself merged since
//! is undone after that one.
//!
//! The survivor's own fields are not changed by a merge: a coordinator who wants the merged
//! record's national ID number or school on the survivor edits it, so every change of a field
//! stays a separate audited update.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::Code;
use tongxing_core::access::Scope;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{
    assessments, child_merges, child_status_changes, children, consents, contacts, counselling_enrolments,
    duplicate_reviews, event_attendance, pairings,
};
use tongxing_store::{DbConnection, DbId, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::duplicates::DuplicateOutcome;
use crate::lifecycle::CaseStatus;
use crate::scope::{self, Access};
use crate::util::{Versioned, check_version, not_found_as, parse_id, parse_opt_id};

/// How long an admin may undo a merge.
pub const UNDO_DAYS: i64 = 30;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The record that survives; both must be case files the caller holds.
    pub into: Uuid,
    /// Why the two records are one child.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UndoRequest {
    /// Why the merge was wrong.
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: String,
}

/// The ids of the records of each kind that moved to the surviving record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Moved {
    pub contacts: Vec<Uuid>,
    pub assessments: Vec<Uuid>,
    pub consents: Vec<Uuid>,
    pub pairings: Vec<Uuid>,
    pub counselling_enrolments: Vec<Uuid>,
    pub event_attendance: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChildMerge {
    pub id: Uuid,
    /// The record merged away; its reads answer 410 `child_merged` while the merge stands.
    pub child_id: Uuid,
    /// The record that survives.
    pub merged_into: Uuid,
    pub reason: String,
    pub merged_by: Uuid,
    pub merged_at: DateTime<Utc>,
    /// The records that moved to the survivor, by kind.
    pub moved: Moved,
    /// Until when an admin may undo the merge.
    pub undo_until: DateTime<Utc>,
    pub undone_by: Option<Uuid>,
    pub undone_at: Option<DateTime<Utc>>,
    pub undo_reason: Option<String>,
    /// The version that `ETag` and `If-Match` carry.
    pub version: i32,
}

/// Every column of a child's row, kept whole while the child is merged away.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = children)]
struct ChildRow {
    id: String,
    household_id: Option<String>,
    region_id: String,
    name: String,
    sex: String,
    birth_date: NaiveDate,
    national_id: Option<String>,
    in_welfare_centre: bool,
    left_behind: bool,
    in_difficulty: bool,
    school: Option<String>,
    health_notes: Option<String>,
    disability_notes: Option<String>,
    status: String,
    case_number: Option<String>,
    registered_on: Option<NaiveDate>,
    closed_on: Option<NaiveDate>,
    closure_reason: Option<String>,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    version: i32,
    organisation_id: Option<String>,
    caseworker_id: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = child_status_changes)]
struct StatusChangeRow {
    id: String,
    child_id: String,
    from_status: String,
    to_status: String,
    effective_on: NaiveDate,
    reason: Option<String>,
    changed_by: String,
    changed_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, Deserialize)]
#[diesel(table_name = duplicate_reviews)]
struct ReviewRow {
    id: String,
    child_id: String,
    other_child_id: String,
    reason: String,
    found_by: String,
    found_at: NaiveDateTime,
    outcome: Option<String>,
    note: Option<String>,
    resolved_by: Option<String>,
    resolved_at: Option<NaiveDateTime>,
    version: i32,
    score: Option<i32>,
    signals: Option<String>,
}

/// What leaves `children` with the merged child, and comes back if the merge is undone.
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    child: ChildRow,
    status_changes: Vec<StatusChangeRow>,
    reviews: Vec<ReviewRow>,
    /// The reviews of the pair that the merge settled as one child: open again on an undo.
    resolved_by_merge: Vec<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = child_merges)]
struct MergeRow {
    id: String,
    child_id: String,
    merged_into: String,
    reason: String,
    merged_by: String,
    merged_at: NaiveDateTime,
    moved: String,
    undone_by: Option<String>,
    undone_at: Option<NaiveDateTime>,
    undo_reason: Option<String>,
    version: i32,
}

impl MergeRow {
    fn into_merge(self) -> Result<ChildMerge> {
        let merged_at = time::from_db(self.merged_at);
        Ok(ChildMerge {
            id: parse_id(&self.id)?,
            child_id: parse_id(&self.child_id)?,
            merged_into: parse_id(&self.merged_into)?,
            reason: self.reason,
            merged_by: parse_id(&self.merged_by)?,
            merged_at,
            moved: serde_json::from_str(&self.moved).map_err(Error::internal)?,
            undo_until: merged_at + Duration::days(UNDO_DAYS),
            undone_by: parse_opt_id(self.undone_by.as_deref())?,
            undone_at: self.undone_at.map(time::from_db),
            undo_reason: self.undo_reason,
            version: self.version,
        })
    }
}

/// Moves the rows of `$table` about child `$from` to child `$to`, answering their ids; a rule
/// the move would break (two active pairings, one event attended twice) is 409
/// `merge_conflict`, naming what collides.
macro_rules! repoint {
    ($conn:expr, $table:ident, $from:expr, $to:expr) => {{
        let ids: Vec<String> = $table::table
            .filter($table::child_id.eq($from))
            .select($table::id)
            .load($conn)
            .map_err(map_db_error)?;
        diesel::update($table::table.filter($table::id.eq_any(&ids)).filter($table::child_id.eq($from)))
            .set($table::child_id.eq($to))
            .execute($conn)
            .map_err(|e| collision(stringify!($table), map_db_error(e)))?;
        ids.iter().map(|s| parse_id(s)).collect::<Result<Vec<Uuid>>>()?
    }};
}

/// Moves back the rows of `$table` listed in `$ids` that are still on `$from`.
macro_rules! move_back {
    ($conn:expr, $table:ident, $ids:expr, $from:expr, $to:expr) => {{
        let ids: Vec<String> = $ids.iter().map(Uuid::to_string).collect();
        diesel::update($table::table.filter($table::id.eq_any(&ids)).filter($table::child_id.eq($from)))
            .set($table::child_id.eq($to))
            .execute($conn)
            .map_err(|e| collision(stringify!($table), map_db_error(e)))?;
    }};
}

fn collision(table: &str, e: Error) -> Error {
    match e {
        Error::Conflict { code, detail, related, .. } => Error::Conflict {
            code: Code::MergeConflict,
            detail: format!("the two records cannot be one: {detail} ({table})"),
            related,
            params: [("rule", serde_json::Value::from(code.as_str()))].into_iter().collect(),
        },
        other => other,
    }
}

/// Merges child `id` into `request.into`: both must be case files the caller holds, and two
/// different national ID numbers are two children.
pub fn merge(conn: &mut DbConnection, scope: &Scope, id: Uuid, request: MergeRequest) -> Result<ChildMerge> {
    let reason = request.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(Error::field("reason", "blank", "say why the two records are one child"));
    }
    if request.into == id {
        return Err(Error::field("into", "same_record", "a record cannot be merged into itself"));
    }
    scope::require_child(conn, scope, Access::Write, id, "child")?;
    scope::require_child(conn, scope, Access::Write, request.into, "child")
        .map_err(|e| e.missing_as_field("into", "no child with this id"))?;
    let (from, to) = (id.to_string(), request.into.to_string());
    lock(conn, &[&from, &to])?;
    let child: ChildRow = children::table
        .find(&from)
        .select(ChildRow::as_select())
        .first(conn)
        .map_err(not_found_as("child"))?;
    let (survivor_id, survivor_status): (Option<String>, String) = children::table
        .find(&to)
        .select((children::national_id, children::status))
        .first(conn)
        .map_err(not_found_as("child"))?;
    if [&child.status, &survivor_status].iter().any(|s| s.as_str() == CaseStatus::Closed.as_str()) {
        return Err(Error::conflict(
            Code::CaseClosed,
            "a closed case file is neither merged nor merged into; reopen it first",
        ));
    }
    if let (Some(a), Some(b)) = (&child.national_id, &survivor_id)
        && a != b
    {
        return Err(Error::conflict(
            Code::DifferentNationalIds,
            "the two records carry different national ID numbers, so they are two children",
        ));
    }
    let moved = Moved {
        contacts: repoint!(conn, contacts, &from, &to),
        assessments: repoint!(conn, assessments, &from, &to),
        consents: repoint!(conn, consents, &from, &to),
        pairings: repoint!(conn, pairings, &from, &to),
        counselling_enrolments: repoint!(conn, counselling_enrolments, &from, &to),
        event_attendance: repoint!(conn, event_attendance, &from, &to),
    };
    let status_changes: Vec<StatusChangeRow> = child_status_changes::table
        .filter(child_status_changes::child_id.eq(&from))
        .select(StatusChangeRow::as_select())
        .load(conn)
        .map_err(map_db_error)?;
    let reviews: Vec<ReviewRow> = duplicate_reviews::table
        .filter(duplicate_reviews::child_id.eq(&from).or(duplicate_reviews::other_child_id.eq(&from)))
        .select(ReviewRow::as_select())
        .load(conn)
        .map_err(map_db_error)?;
    diesel::delete(child_status_changes::table.filter(child_status_changes::child_id.eq(&from)))
        .execute(conn)
        .map_err(map_db_error)?;
    diesel::delete(
        duplicate_reviews::table
            .filter(duplicate_reviews::child_id.eq(&from).or(duplicate_reviews::other_child_id.eq(&from))),
    )
    .execute(conn)
    .map_err(map_db_error)?;
    if diesel::delete(children::table.find(&from)).execute(conn).map_err(map_db_error)? != 1 {
        return Err(Error::not_found("child"));
    }
    // The pair's own reviews, kept in the merge record, are found to be one child.
    let now = time::now();
    let mut resolved_by_merge = Vec::new();
    let reviews = reviews
        .into_iter()
        .map(|mut r| {
            let pair = [r.child_id.as_str(), r.other_child_id.as_str()];
            if r.resolved_at.is_none() && pair.contains(&to.as_str()) {
                r.outcome = Some(DuplicateOutcome::SameChild.as_str().into());
                r.note = Some(reason.clone());
                r.resolved_by = Some(scope.actor().to_string());
                r.resolved_at = Some(time::to_db(now));
                r.version += 1;
                resolved_by_merge.push(r.id.clone());
            }
            r
        })
        .collect();
    let kept = Kept { child, status_changes, reviews, resolved_by_merge };
    let merge_id = id::new_id();
    diesel::insert_into(child_merges::table)
        .values((
            child_merges::id.eq(DbId(merge_id)),
            child_merges::child_id.eq(&from),
            child_merges::merged_into.eq(&to),
            child_merges::reason.eq(&reason),
            child_merges::merged_by.eq(DbId(scope.actor())),
            child_merges::merged_at.eq(time::to_db(now)),
            child_merges::record.eq(serde_json::to_string(&kept).map_err(Error::internal)?),
            child_merges::moved.eq(serde_json::to_string(&moved).map_err(Error::internal)?),
        ))
        .execute(conn)
        .map_err(|e| match map_db_error(e) {
            // Another merge of the same record stood first (the unique standing merge).
            Error::Conflict { .. } => Error::not_found("child"),
            other => other,
        })?;
    // Pairs the merged record had with third records are the survivor's to find now.
    crate::duplicates::scan(conn, scope, request.into)?;
    Ok(get(conn, merge_id)?.record)
}

/// Locks the children's rows (PostgreSQL; SQLite's writer holds the database), in id order, so
/// that two merges or an undo and a merge over the same records run one after the other.
fn lock(conn: &mut DbConnection, ids: &[&str]) -> Result<()> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    if let DbConnection::Postgres(c) = conn {
        let _: Vec<String> = children::table
            .filter(children::id.eq_any(&ids))
            .select(children::id)
            .order(children::id)
            .for_update()
            .load(c)
            .map_err(map_db_error)?;
    }
    Ok(())
}

/// The merge, whatever the scope: for the caller's checks to follow.
fn get(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<ChildMerge>> {
    let m = child_merges::table
        .find(DbId(id))
        .select(MergeRow::as_select())
        .first(conn)
        .map_err(not_found_as("merge"))?
        .into_merge()?;
    Ok(Versioned { version: m.version, record: m })
}

/// The merge, if the caller may read its surviving record, and once it is undone the other
/// record too.
pub fn read(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<ChildMerge>> {
    let m = get(conn, id)?;
    scope::require_child(conn, scope, Access::Read, m.record.merged_into, "merge")?;
    if m.record.undone_at.is_some() {
        scope::require_child(conn, scope, Access::Read, m.record.child_id, "merge")?;
    }
    Ok(m)
}

/// Merges of `child` or into it (every merge without one), oldest first, whose records the
/// caller reaches.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    child: Option<Uuid>,
    page: PageRequest,
) -> Result<Page<ChildMerge>> {
    let mut q = child_merges::table.select(MergeRow::as_select()).order(child_merges::id.asc()).into_boxed();
    if let Some(ids) = scope::child_ids(conn, scope)? {
        // The survivor in reach, and once undone the other record too (while the merge stands,
        // the merged record is part of the survivor's).
        q = q.filter(scope::condition(format!(
            "(child_merges.merged_into IN ({ids}) AND (child_merges.undone_at IS NULL OR child_merges.child_id IN ({ids})))"
        )));
    }
    if let Some(c) = child {
        let c = c.to_string();
        q = q.filter(child_merges::child_id.eq(c.clone()).or(child_merges::merged_into.eq(c)));
    }
    if let Some(after) = page.after {
        q = q.filter(child_merges::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<MergeRow>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(MergeRow::into_merge).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |m| m.id))
}

/// The merges into this child that stand (directly or through a chain): the records whose
/// history is now this child's.
pub fn merged_into(conn: &mut DbConnection, child: Uuid) -> Result<Vec<Uuid>> {
    let mut out = Vec::new();
    let mut frontier = vec![child.to_string()];
    while !frontier.is_empty() {
        let found: Vec<String> = child_merges::table
            .filter(child_merges::merged_into.eq_any(&frontier))
            .filter(child_merges::undone_at.is_null())
            .select(child_merges::child_id)
            .load(conn)
            .map_err(map_db_error)?;
        for f in &found {
            out.push(parse_id(f)?);
        }
        frontier = found;
    }
    Ok(out)
}

/// For a read of a child that is not there: 410 `child_merged` naming where it went, when it was
/// merged and the caller may read the survivor; otherwise `missing` (not found) unchanged.
pub fn explain_missing(conn: &mut DbConnection, scope: &Scope, id: Uuid, missing: Error) -> Result<Error> {
    if !matches!(missing, Error::NotFound { .. }) {
        return Ok(missing);
    }
    let mut at = id.to_string();
    for _ in 0..32 {
        let next: Option<String> = child_merges::table
            .filter(child_merges::child_id.eq(&at))
            .filter(child_merges::undone_at.is_null())
            .select(child_merges::merged_into)
            .first(conn)
            .optional()
            .map_err(map_db_error)?;
        match next {
            Some(n) => at = n,
            None => break,
        }
    }
    if at == id.to_string() {
        return Ok(missing);
    }
    let survivor = parse_id(&at)?;
    if scope::require_child(conn, scope, Access::Read, survivor, "child").is_err() {
        return Ok(missing);
    }
    Ok(Error::Gone {
        code: Code::ChildMerged,
        detail: "this record was merged into another; `merged_into` names it".into(),
        merged_into: survivor,
    })
}

/// Undoes a standing merge within its window (admins): the merged record comes back as it was,
/// with its history, and what moved goes back to it. Answers the merge before and after.
pub fn undo(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    request: UndoRequest,
    expected: Option<i32>,
) -> Result<(Versioned<ChildMerge>, Versioned<ChildMerge>)> {
    let reason = request.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(Error::field("reason", "blank", "say why the merge was wrong"));
    }
    let before = read(conn, scope, id)?;
    if let Some(v) = expected {
        check_version(before.version, v)?;
    }
    let m = &before.record;
    if m.undone_at.is_some() {
        return Err(Error::conflict(Code::AlreadyUndone, "this merge has already been undone"));
    }
    if time::now() > m.undo_until {
        return Err(Error::conflict(Code::MergeUndoExpired, "the time to undo this merge has passed")
            .with("undo_until", m.undo_until.to_rfc3339()));
    }
    let (from, to) = (m.merged_into.to_string(), m.child_id.to_string());
    lock(conn, &[&from])?;
    let survivor_here: i64 =
        children::table.filter(children::id.eq(&from)).count().get_result(conn).map_err(map_db_error)?;
    if survivor_here == 0 {
        return Err(Error::conflict(
            Code::MergeSuperseded,
            "the surviving record was itself merged since; undo that merge first",
        ));
    }
    let record: String =
        child_merges::table.find(DbId(id)).select(child_merges::record).first(conn).map_err(map_db_error)?;
    let kept: Kept = serde_json::from_str(&record).map_err(Error::internal)?;
    diesel::insert_into(children::table).values(&kept.child).execute(conn).map_err(
        |e| match map_db_error(e) {
            Error::Conflict { detail, .. } => {
                Error::conflict(Code::MergeConflict, format!("the merged record cannot come back: {detail}"))
            }
            other => other,
        },
    )?;
    for change in &kept.status_changes {
        diesel::insert_into(child_status_changes::table)
            .values(change)
            .execute(conn)
            .map_err(map_db_error)?;
    }
    for r in &kept.reviews {
        // A review whose other record has gone meanwhile (merged away itself) stays out.
        let other = if r.child_id == to { &r.other_child_id } else { &r.child_id };
        let there: i64 =
            children::table.filter(children::id.eq(other)).count().get_result(conn).map_err(map_db_error)?;
        if there > 0 {
            let mut r = r.clone();
            if kept.resolved_by_merge.contains(&r.id) {
                // The pair the merge resolved is open again.
                (r.outcome, r.note, r.resolved_by, r.resolved_at) = (None, None, None, None);
                r.version += 1;
            }
            diesel::insert_into(duplicate_reviews::table).values(&r).execute(conn).map_err(map_db_error)?;
        }
    }
    let moved = &m.moved;
    move_back!(conn, contacts, moved.contacts, &from, &to);
    move_back!(conn, assessments, moved.assessments, &from, &to);
    move_back!(conn, consents, moved.consents, &from, &to);
    move_back!(conn, pairings, moved.pairings, &from, &to);
    move_back!(conn, counselling_enrolments, moved.counselling_enrolments, &from, &to);
    move_back!(conn, event_attendance, moved.event_attendance, &from, &to);
    let changed = diesel::update(
        child_merges::table
            .filter(child_merges::id.eq(DbId(id)))
            .filter(child_merges::version.eq(before.version)),
    )
    .set((
        child_merges::undone_by.eq(Some(scope.actor().to_string())),
        child_merges::undone_at.eq(Some(time::to_db(time::now()))),
        child_merges::undo_reason.eq(Some(reason)),
        child_merges::version.eq(before.version + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    let after = get(conn, id)?;
    Ok((before, after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::debug_query;
    use diesel::sqlite::Sqlite;

    /// The rows kept while a child is merged away hold every column of their tables: a column
    /// added by a migration and missing here would be lost on an undo.
    #[test]
    fn the_kept_rows_hold_every_column() {
        fn columns(sql: String) -> Vec<String> {
            let select = sql.split(" FROM ").next().unwrap().trim_start_matches("SELECT ");
            let mut out: Vec<String> = select.split(", ").map(str::to_owned).collect();
            out.sort();
            out
        }
        let whole = |q: String| columns(q);
        assert_eq!(
            whole(debug_query::<Sqlite, _>(&children::table.select(children::all_columns)).to_string()),
            columns(debug_query::<Sqlite, _>(&children::table.select(ChildRow::as_select())).to_string()),
        );
        assert_eq!(
            whole(
                debug_query::<Sqlite, _>(
                    &child_status_changes::table.select(child_status_changes::all_columns)
                )
                .to_string()
            ),
            columns(
                debug_query::<Sqlite, _>(&child_status_changes::table.select(StatusChangeRow::as_select()))
                    .to_string()
            ),
        );
        assert_eq!(
            whole(
                debug_query::<Sqlite, _>(&duplicate_reviews::table.select(duplicate_reviews::all_columns))
                    .to_string()
            ),
            columns(
                debug_query::<Sqlite, _>(&duplicate_reviews::table.select(ReviewRow::as_select()))
                    .to_string()
            ),
        );
    }
}
