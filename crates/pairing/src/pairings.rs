//! One mentor, one child: `proposed → active → ended`. No two pairings of one mentor, or of one
//! child, are active over the same days: the rule holds over the active intervals themselves,
//! back-dated ones included, and the database holds it too so that racing activations cannot
//! both win.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_cases::lifecycle::CaseStatus;
use tongxing_cases::regions::{subtree_ids, subtree_prefix};
use tongxing_cases::scope::{self as scope_sql, Access, Condition, child_reference};
use tongxing_core::Code;
use tongxing_core::access::{Reach, Scope};
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::{Versioned, check_version, clean};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{children, mentors, pairings};
use tongxing_store::{DbConnection, DbId, DbText, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

text_enum! {
    pub enum PairingStatus {
        Proposed => "proposed",
        Active => "active",
        Ended => "ended",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Pairing {
    pub id: Uuid,
    pub mentor_id: Uuid,
    pub child_id: Uuid,
    pub status: PairingStatus,
    /// First day of the active interval (Asia/Shanghai).
    pub started_on: Option<NaiveDate>,
    /// Last day of the active interval, once ended.
    pub ended_on: Option<NaiveDate>,
    pub end_reason: Option<String>,
    pub notes: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PairingInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    pub mentor_id: Uuid,
    pub child_id: Uuid,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PairingStatusChange {
    /// `active` starts the pairing; `ended` ends it (or withdraws a proposal).
    pub status: PairingStatus,
    /// The first day (to `active`) or the last day (to `ended`); today when absent.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub effective_on: Option<NaiveDate>,
    /// Required to end a pairing.
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct PairingFilter {
    pub mentor_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub status: Option<PairingStatus>,
    /// Children in this region's subtree.
    pub region_id: Option<Uuid>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = pairings)]
struct PairingRow {
    id: DbId,
    mentor_id: DbId,
    child_id: DbId,
    status: DbText<PairingStatus>,
    started_on: Option<NaiveDate>,
    ended_on: Option<NaiveDate>,
    end_reason: Option<String>,
    notes: Option<String>,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    version: i32,
}

impl PairingRow {
    fn into_pairing(self) -> Result<Pairing> {
        Ok(Pairing {
            id: self.id.0,
            mentor_id: self.mentor_id.0,
            child_id: self.child_id.0,
            status: self.status.0,
            started_on: self.started_on,
            ended_on: self.ended_on,
            end_reason: self.end_reason,
            notes: self.notes,
            version: self.version,
            created_at: time::from_db(self.created_at),
            updated_at: time::from_db(self.updated_at),
        })
    }
}

/// What a legal status change sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Start(NaiveDate),
    End { on: NaiveDate, reason: String },
}

/// The pairing lifecycle as a pure rule.
pub fn plan(current: &Pairing, change: &PairingStatusChange, today: NaiveDate) -> Result<Change> {
    use PairingStatus::*;
    let on = change.effective_on.unwrap_or(today);
    if on > today {
        return Err(Error::field("effective_on", "in_future", "the date cannot be in the future"));
    }
    match (current.status, change.status) {
        (Proposed, Active) => Ok(Change::Start(on)),
        (Proposed | Active, Ended) => {
            let reason = change.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
            let reason = reason
                .ok_or_else(|| Error::field("reason", "required", "ending a pairing needs a reason"))?;
            if let Some(start) = current.started_on
                && on < start
            {
                return Err(Error::field(
                    "effective_on",
                    "before_start",
                    "a pairing cannot end before it started",
                ));
            }
            Ok(Change::End { on, reason: reason.to_owned() })
        }
        (from, to) => Err(Error::conflict(
            Code::IllegalTransition,
            format!("a pairing cannot move from {from} to {to}"),
        )
        .with("from", from.as_str())
        .with("to", to.as_str())),
    }
}

/// Proposes a pairing; the child is resolved through the caller's scope.
pub fn create(conn: &mut DbConnection, scope: &Scope, input: PairingInput) -> Result<Versioned<Pairing>> {
    let actor = scope.actor();
    // The mentor is resolved through the caller's scope too: one they do not reach answers as
    // one that does not exist.
    let mut q = mentors::table.find(DbId(input.mentor_id)).select(mentors::active).into_boxed();
    if let Some(cond) = crate::mentors::reach(conn, scope, crate::mentors::Access::Read)? {
        q = q.filter(cond);
    }
    let mentor: Option<bool> = q.first(conn).optional().map_err(map_db_error)?;
    match mentor {
        None => return Err(Error::field("mentor_id", "not_found", "no mentor with this id")),
        Some(false) => return Err(Error::conflict(Code::MentorInactive, "the mentor is not active")),
        Some(true) => {}
    }
    let child = child_reference(conn, scope, Access::Write, input.child_id, "child_id")?;
    if child.status == CaseStatus::Closed {
        return Err(Error::conflict(Code::CaseClosed, "the child's case file is closed"));
    }
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(pairings::table)
        .values((
            pairings::id.eq(DbId(id)),
            pairings::mentor_id.eq(DbId(input.mentor_id)),
            pairings::child_id.eq(DbId(input.child_id)),
            pairings::status.eq(PairingStatus::Proposed.as_str()),
            pairings::notes.eq(clean(input.notes)),
            pairings::created_by.eq(DbId(actor)),
            pairings::created_at.eq(now),
            pairings::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    load(conn, id)
}

/// A pairing of `mentor` (or of `child`), other than `except`, whose active interval overlaps
/// the open interval that starts on `from`. Intervals are `[started_on, ended_on)`: a pairing
/// that ends on a day leaves that day to the next (a handover), and one that ended the day it
/// started overlaps nothing. The database holds the same rule (an exclusion constraint on
/// PostgreSQL, triggers on SQLite) for requests that race.
fn overlapping(
    conn: &mut DbConnection,
    mentor: Option<Uuid>,
    child: Option<Uuid>,
    except: Uuid,
    from: NaiveDate,
) -> Result<Option<Uuid>> {
    let mut q = pairings::table
        .filter(pairings::started_on.is_not_null())
        .filter(pairings::id.ne(DbId(except)))
        .filter(
            pairings::ended_on
                .is_null()
                .or(pairings::ended_on.gt(from).and(pairings::ended_on.gt(pairings::started_on))),
        )
        .select(pairings::id)
        .order(pairings::started_on.asc())
        .into_boxed();
    if let Some(m) = mentor {
        q = q.filter(pairings::mentor_id.eq(DbId(m)));
    }
    if let Some(c) = child {
        q = q.filter(pairings::child_id.eq(DbId(c)));
    }
    let id: Option<DbId> = q.first(conn).optional().map_err(map_db_error)?;
    Ok(id.map(Uuid::from))
}

/// Applies a status change to a pairing in the caller's scope, answering the pairing before and
/// after. Run it in a transaction; on error, pass the error through [`explain_conflict`]
/// outside it.
pub fn change_status(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    change: PairingStatusChange,
    expected: Option<i32>,
) -> Result<(Versioned<Pairing>, Versioned<Pairing>)> {
    let current = get(conn, scope, id)?;
    if let Some(v) = expected {
        check_version(current.version, v)?;
    }
    let planned = plan(&current.record, &change, time::today())?;
    if let Change::Start(on) = planned {
        let (mentor, child) = (current.record.mentor_id, current.record.child_id);
        if overlapping(conn, Some(mentor), None, id, on)?.is_some() {
            return Err(Error::conflict(
                Code::MentorAlreadyPaired,
                "the mentor has another pairing active over these dates",
            ));
        }
        if overlapping(conn, None, Some(child), id, on)?.is_some() {
            return Err(Error::conflict(
                Code::ChildAlreadyPaired,
                "the child has another pairing active over these dates",
            ));
        }
    }
    let target =
        pairings::table.filter(pairings::id.eq(DbId(id))).filter(pairings::version.eq(current.version));
    let now = time::to_db(time::now());
    let changed = match planned {
        Change::Start(on) => diesel::update(target)
            .set((
                pairings::status.eq(PairingStatus::Active.as_str()),
                pairings::started_on.eq(Some(on)),
                pairings::updated_at.eq(now),
                pairings::version.eq(current.version + 1),
            ))
            .execute(conn),
        Change::End { on, reason } => diesel::update(target)
            .set((
                pairings::status.eq(PairingStatus::Ended.as_str()),
                pairings::ended_on.eq(Some(on)),
                pairings::end_reason.eq(Some(reason)),
                pairings::updated_at.eq(now),
                pairings::version.eq(current.version + 1),
            ))
            .execute(conn),
    }
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    Ok((current, load(conn, id)?))
}

/// Names the pairing that an activation from `on` (today when absent) collided with, so the
/// client can follow it, when the caller may read that pairing.
pub fn explain_conflict(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    on: Option<NaiveDate>,
    err: Error,
) -> Error {
    let Error::Conflict { code, detail, related: None, params } = err else { return err };
    let row: Option<(DbId, DbId)> = match pairings::table
        .find(DbId(id))
        .select((pairings::mentor_id, pairings::child_id))
        .first(conn)
        .optional()
    {
        Ok(row) => row,
        Err(_) => return Error::Conflict { code, detail, related: None, params },
    };
    let on = on.unwrap_or_else(time::today);
    let other = match (code, row) {
        (Code::MentorAlreadyPaired, Some((m, _))) => overlapping(conn, Some(m.0), None, id, on),
        (Code::ChildAlreadyPaired, Some((_, c))) => overlapping(conn, None, Some(c.0), id, on),
        _ => Ok(None),
    };
    let related = other.ok().flatten().filter(|p| get(conn, scope, *p).is_ok());
    Error::Conflict { code, detail, related, params }
}

/// A subquery selecting the ids of the pairings the caller reaches: a mentor's own pairings, or
/// those of the children the caller reaches; `None` means every pairing.
pub fn pairing_ids(conn: &mut DbConnection, scope: &Scope) -> Result<Option<String>> {
    Ok(match scope.reach() {
        Reach::Mentor { user_id } => Some(format!(
            "SELECT sp.id FROM pairings sp JOIN mentors sm ON sm.id = sp.mentor_id WHERE sm.user_id = '{user_id}'"
        )),
        _ => scope_sql::child_ids(conn, scope)?
            .map(|ids| format!("SELECT sp.id FROM pairings sp WHERE sp.child_id IN ({ids})")),
    })
}

/// Succeeds when the caller may change the records (contacts, home visits) of a pairing they
/// reach, whose child is `child`: a mentor their own pairings, everyone else the pairings of the
/// children whose case file they hold. A caseworker who reaches the child through a counselling
/// team reads the pairing's records and changes none of them: 403, as for the case file itself.
pub fn require_held(conn: &mut DbConnection, scope: &Scope, child: Uuid) -> Result<()> {
    if matches!(scope.reach(), Reach::Mentor { .. }) {
        // Reaching the pairing at all, a mentor reaches their own.
        return Ok(());
    }
    scope_sql::require_child(conn, scope, Access::Write, child, "pairing")
}

fn condition(conn: &mut DbConnection, scope: &Scope) -> Result<Option<Condition<pairings::table>>> {
    Ok(match scope.reach() {
        Reach::Mentor { user_id } => Some(scope_sql::condition(format!(
            "pairings.mentor_id IN (SELECT sm.id FROM mentors sm WHERE sm.user_id = '{user_id}')"
        ))),
        _ => scope_sql::child_column(conn, scope, "pairings.child_id")?,
    })
}

/// The pairing, if the caller reaches it; otherwise not found.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<Pairing>> {
    let mut q =
        pairings::table.filter(pairings::id.eq(DbId(id))).select(PairingRow::as_select()).into_boxed();
    if let Some(cond) = condition(conn, scope)? {
        q = q.filter(cond);
    }
    let p = q.first(conn).map_err(not_found_as("pairing"))?.into_pairing()?;
    let version = p.version;
    Ok(Versioned { record: p, version })
}

/// The pairing whatever the scope: for this crate, after the caller's reach has been checked.
pub(crate) fn load(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<Pairing>> {
    let p = pairings::table
        .find(DbId(id))
        .select(PairingRow::as_select())
        .first(conn)
        .map_err(not_found_as("pairing"))?
        .into_pairing()?;
    let version = p.version;
    Ok(Versioned { record: p, version })
}

/// The pairings in `scope` that match `filter`: a mentor's own pairings, or those of the
/// children the caller reaches.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &PairingFilter,
    page: PageRequest,
) -> Result<Page<Pairing>> {
    let mut q = pairings::table.select(PairingRow::as_select()).order(pairings::id.asc()).into_boxed();
    if let Some(cond) = condition(conn, scope)? {
        q = q.filter(cond);
    }
    if let Some(m) = filter.mentor_id {
        q = q.filter(pairings::mentor_id.eq(DbId(m)));
    }
    if let Some(c) = filter.child_id {
        q = q.filter(pairings::child_id.eq(DbId(c)));
    }
    if let Some(s) = filter.status {
        q = q.filter(pairings::status.eq(s.as_str()));
    }
    if let Some(region) = filter.region_id {
        let prefix = subtree_prefix(conn, region, "region_id")?;
        let in_region =
            children::table.select(children::id).filter(children::region_id.eq_any(subtree_ids(prefix)));
        q = q.filter(pairings::child_id.eq_any(in_region));
    }
    if let Some(after) = page.after {
        q = q.filter(pairings::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<PairingRow>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(PairingRow::into_pairing).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |p| p.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairing(status: PairingStatus, started_on: Option<NaiveDate>) -> Pairing {
        Pairing {
            id: Uuid::nil(),
            mentor_id: Uuid::nil(),
            child_id: Uuid::nil(),
            status,
            started_on,
            ended_on: None,
            end_reason: None,
            notes: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn change(status: PairingStatus, on: Option<NaiveDate>, reason: Option<&str>) -> PairingStatusChange {
        PairingStatusChange { status, effective_on: on, reason: reason.map(str::to_owned) }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn proposals_start_and_pairings_end_with_a_reason() {
        let today = d(2024, 1, 31);
        let p = pairing(PairingStatus::Proposed, None);
        assert_eq!(
            plan(&p, &change(PairingStatus::Active, Some(d(2023, 12, 29)), None), today).unwrap(),
            Change::Start(d(2023, 12, 29))
        );
        let a = pairing(PairingStatus::Active, Some(d(2023, 12, 29)));
        assert!(plan(&a, &change(PairingStatus::Ended, None, None), today).is_err());
        assert!(plan(&a, &change(PairingStatus::Ended, Some(d(2023, 12, 1)), Some("moved")), today).is_err());
        assert!(matches!(
            plan(&a, &change(PairingStatus::Ended, None, Some("adopted")), today),
            Ok(Change::End { .. })
        ));
        assert!(plan(&p, &change(PairingStatus::Ended, None, Some("withdrawn")), today).is_ok());
    }

    #[test]
    fn no_restarts_and_no_future_dates() {
        let today = d(2024, 1, 31);
        let e = pairing(PairingStatus::Ended, Some(d(2023, 12, 29)));
        assert!(matches!(
            plan(&e, &change(PairingStatus::Active, None, None), today),
            Err(Error::Conflict { .. })
        ));
        let a = pairing(PairingStatus::Active, Some(d(2023, 12, 29)));
        assert!(matches!(
            plan(&a, &change(PairingStatus::Active, None, None), today),
            Err(Error::Conflict { .. })
        ));
        let p = pairing(PairingStatus::Proposed, None);
        assert!(plan(&p, &change(PairingStatus::Active, Some(d(2024, 2, 1)), None), today).is_err());
    }
}
