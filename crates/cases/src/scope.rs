//! The caller's [`Scope`] as SQL: the one filter that every read and write of a case record goes
//! through. A record outside it is not found (404), so ids cannot be probed.
//!
//! Each scope becomes a subquery selecting the ids of the children (or households) it reaches,
//! so that one definition serves every table that refers to a child or a household. The only
//! values in it are UUIDs and region paths (UUIDs and slashes), checked character by character
//! before they are written into the SQL; nothing else from the request or the token is.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use tongxing_core::access::{Reach, Scope};
use tongxing_core::{Error, Result};
use tongxing_store::schema::{children, households};
use tongxing_store::{DbConnection, DbId, map_db_error};
use uuid::Uuid;

use crate::lifecycle::CaseStatus;
use crate::regions::{path_of, subtree_prefix};
use crate::util::{parse_id, parse_opt_id};

type Sql = <DbConnection as diesel::Connection>::Backend;

/// A condition on rows of table `T`; `None` from the functions below means "every row".
pub type Condition<T> = Box<dyn BoxableExpression<T, Sql, SqlType = Bool>>;

/// A SQL condition from text built by this module.
pub fn condition<T: 'static>(text: String) -> Condition<T> {
    Box::new(sql::<Bool>(&text))
}

fn quoted(value: &str) -> Result<String> {
    if value.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'/') {
        Ok(format!("'{value}'"))
    } else {
        Err(Error::internal(format!("refusing to write `{value}` into a scope condition")))
    }
}

fn uuid(id: Uuid) -> String {
    // A formatted UUID is hex digits and dashes only.
    format!("'{id}'")
}

fn region_pattern(conn: &mut DbConnection, region: Uuid) -> Result<String> {
    // The region comes from the caller's account, not from the request: a missing one is a
    // broken account, not bad input.
    let prefix = subtree_prefix(conn, region, "region_id")
        .map_err(|_| Error::internal(format!("the caller's region {region} does not exist")))?;
    let quoted = quoted(&prefix)?;
    Ok(format!("{}%'", &quoted[..quoted.len() - 1]))
}

/// The cases a caseworker holds: their organisation's and those assigned to them.
fn caseload(organisation_id: Option<Uuid>, user_id: Uuid) -> String {
    let me = uuid(user_id);
    match organisation_id {
        Some(org) => format!(
            "SELECT sc.id FROM children sc WHERE sc.caseworker_id = {me} OR sc.organisation_id = {}",
            uuid(org)
        ),
        None => format!("SELECT sc.id FROM children sc WHERE sc.caseworker_id = {me}"),
    }
}

/// The households a caseworker recorded and those of `children` (a subquery of child ids).
fn households_of(user_id: Uuid, children: &str) -> String {
    format!(
        "SELECT sh.id FROM households sh WHERE sh.created_by = {} \
         UNION SELECT sk.household_id FROM children sk WHERE sk.household_id IS NOT NULL AND sk.id IN ({children})",
        uuid(user_id)
    )
}

/// A subquery selecting the ids of the children `scope` reaches; `None` means every child.
pub fn child_ids(conn: &mut DbConnection, scope: &Scope) -> Result<Option<String>> {
    Ok(match scope.reach() {
        Reach::All => None,
        Reach::Region(region) => Some(format!(
            "SELECT sc.id FROM children sc JOIN regions sr ON sr.id = sc.region_id WHERE sr.path LIKE {}",
            region_pattern(conn, region)?
        )),
        Reach::Caseload { organisation_id, user_id } => {
            // Held by them, or on a counselling team they are on (read-only).
            Some(format!(
                "{} UNION SELECT se.child_id FROM counselling_enrolments se JOIN counselling_team_members st \
                 ON st.enrolment_id = se.id WHERE st.user_id = {}",
                caseload(organisation_id, user_id),
                uuid(user_id)
            ))
        }
        Reach::Mentor { user_id } => Some(format!(
            "SELECT sp.child_id FROM pairings sp JOIN mentors sm ON sm.id = sp.mentor_id \
             WHERE sp.status = 'active' AND sm.user_id = {}",
            uuid(user_id)
        )),
        Reach::Shared { organisation_id } => Some(format!(
            "SELECT ss.child_id FROM consents ss WHERE ss.purpose = 'data_sharing' \
             AND ss.withdrawn_at IS NULL AND ss.organisation_id = {}",
            uuid(organisation_id)
        )),
        Reach::Volunteer { .. } | Reach::Nothing => Some("SELECT sc.id FROM children sc WHERE 1 = 0".into()),
    })
}

/// A subquery selecting the ids of the households `scope` reaches: by region for coordinators;
/// for caseworkers, the households of the children they may see and those they recorded; none
/// for everyone else. `None` means every household.
pub fn household_ids(conn: &mut DbConnection, scope: &Scope) -> Result<Option<String>> {
    Ok(match scope.reach() {
        Reach::All => None,
        Reach::Region(region) => Some(format!(
            "SELECT sh.id FROM households sh JOIN regions sr ON sr.id = sh.region_id WHERE sr.path LIKE {}",
            region_pattern(conn, region)?
        )),
        Reach::Caseload { user_id, .. } => {
            Some(households_of(user_id, &child_ids(conn, scope)?.unwrap_or_default()))
        }
        Reach::Mentor { .. } | Reach::Volunteer { .. } | Reach::Shared { .. } | Reach::Nothing => {
            Some("SELECT sh.id FROM households sh WHERE 1 = 0".into())
        }
    })
}

/// Which reach a query needs: reading a record, or changing the case file it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Everything the scope reaches.
    Read,
    /// The case files the caller holds: for caseworkers, their organisation's cases and those
    /// assigned to them, not the cases they reach through a counselling team; nothing for
    /// mentors, volunteers, partners and auditors.
    Write,
}

/// A subquery selecting the ids of the children whose case file `scope` may change; `None`
/// means every child.
pub fn held_child_ids(conn: &mut DbConnection, scope: &Scope) -> Result<Option<String>> {
    Ok(match scope.reach() {
        Reach::Caseload { organisation_id, user_id } => Some(caseload(organisation_id, user_id)),
        Reach::Mentor { .. } | Reach::Volunteer { .. } | Reach::Shared { .. } | Reach::Nothing => {
            Some("SELECT sc.id FROM children sc WHERE 1 = 0".into())
        }
        Reach::All | Reach::Region(_) => child_ids(conn, scope)?,
    })
}

/// A subquery selecting the ids of the households whose record `scope` may change: for
/// caseworkers, those they recorded and those of the children they hold.
pub fn held_household_ids(conn: &mut DbConnection, scope: &Scope) -> Result<Option<String>> {
    Ok(match scope.reach() {
        Reach::Caseload { user_id, .. } => {
            Some(households_of(user_id, &held_child_ids(conn, scope)?.unwrap_or_default()))
        }
        _ => household_ids(conn, scope)?,
    })
}

fn children_for(conn: &mut DbConnection, scope: &Scope, access: Access) -> Result<Option<String>> {
    match access {
        Access::Read => child_ids(conn, scope),
        Access::Write => held_child_ids(conn, scope),
    }
}

fn households_for(conn: &mut DbConnection, scope: &Scope, access: Access) -> Result<Option<String>> {
    match access {
        Access::Read => household_ids(conn, scope),
        Access::Write => held_household_ids(conn, scope),
    }
}

/// Restricts `column` (a child id of table `T`, e.g. `"consents.child_id"`) to the children
/// `scope` reaches.
pub fn child_column<T: 'static>(
    conn: &mut DbConnection,
    scope: &Scope,
    column: &'static str,
) -> Result<Option<Condition<T>>> {
    Ok(child_ids(conn, scope)?.map(|ids| condition(format!("{column} IN ({ids})"))))
}

/// Restricts `column` (a household id of table `T`) to the households `scope` reaches.
pub fn household_column<T: 'static>(
    conn: &mut DbConnection,
    scope: &Scope,
    column: &'static str,
) -> Result<Option<Condition<T>>> {
    Ok(household_ids(conn, scope)?.map(|ids| condition(format!("{column} IN ({ids})"))))
}

/// What a record that refers to a child needs to know of it.
#[derive(Debug, Clone, Copy)]
pub struct ChildRef {
    pub status: CaseStatus,
    pub household_id: Option<Uuid>,
    pub region_id: Uuid,
}

/// Resolves a child named in a request body (`field`) through the caller's scope: a child
/// outside it answers exactly as one that does not exist, a field error `not_found`.
pub fn child_reference(
    conn: &mut DbConnection,
    scope: &Scope,
    access: Access,
    id: Uuid,
    field: &str,
) -> Result<ChildRef> {
    let mut q = children::table
        .filter(children::id.eq(DbId(id)))
        .select((children::status, children::household_id, children::region_id))
        .into_boxed();
    if let Some(ids) = children_for(conn, scope, access)? {
        q = q.filter(condition::<children::table>(format!("children.id IN ({ids})")));
    }
    let row: Option<(String, Option<String>, String)> = q.first(conn).optional().map_err(map_db_error)?;
    let (status, household, region) =
        row.ok_or_else(|| Error::field(field, "not_found", "no child with this id"))?;
    Ok(ChildRef {
        status: CaseStatus::from_db(&status)?,
        household_id: parse_opt_id(household.as_deref())?,
        region_id: parse_id(&region)?,
    })
}

/// Resolves a household named in a request body (`field`) through the caller's scope; outside
/// it is the same field error as a household that does not exist.
pub fn household_reference(
    conn: &mut DbConnection,
    scope: &Scope,
    access: Access,
    id: Uuid,
    field: &str,
) -> Result<()> {
    if found_household(conn, scope, access, id)? {
        Ok(())
    } else {
        Err(Error::field(field, "not_found", "no household with this id"))
    }
}

fn found_household(conn: &mut DbConnection, scope: &Scope, access: Access, id: Uuid) -> Result<bool> {
    let mut q = households::table.filter(households::id.eq(DbId(id))).select(households::id).into_boxed();
    if let Some(ids) = households_for(conn, scope, access)? {
        q = q.filter(condition::<households::table>(format!("households.id IN ({ids})")));
    }
    Ok(q.first::<String>(conn).optional().map_err(map_db_error)?.is_some())
}

fn found_child(conn: &mut DbConnection, scope: &Scope, access: Access, id: Uuid) -> Result<bool> {
    let mut q = children::table.filter(children::id.eq(DbId(id))).select(children::id).into_boxed();
    if let Some(ids) = children_for(conn, scope, access)? {
        q = q.filter(condition::<children::table>(format!("children.id IN ({ids})")));
    }
    Ok(q.first::<String>(conn).optional().map_err(map_db_error)?.is_some())
}

/// Succeeds when the child is within the scope's `access`. A child the caller may read but not
/// change is 403; one they may not read (or that does not exist) is "not found", named
/// `resource` (a record about the child answers as that record).
pub fn require_child(
    conn: &mut DbConnection,
    scope: &Scope,
    access: Access,
    child: Uuid,
    resource: &'static str,
) -> Result<()> {
    if found_child(conn, scope, access, child)? {
        return Ok(());
    }
    if access == Access::Write && found_child(conn, scope, Access::Read, child)? {
        return Err(Error::forbidden("only the staff who hold the case file change it"));
    }
    Err(Error::not_found(resource))
}

/// Like [`require_child`], for a household.
pub fn require_household(
    conn: &mut DbConnection,
    scope: &Scope,
    access: Access,
    household: Uuid,
) -> Result<()> {
    if found_household(conn, scope, access, household)? {
        return Ok(());
    }
    if access == Access::Write && found_household(conn, scope, Access::Read, household)? {
        return Err(Error::forbidden("only the staff who hold the household's cases change it"));
    }
    Err(Error::not_found("household"))
}

/// The path of `region` when it exists and the scope reaches it: any region for a scope not
/// limited to one, a region of their subtree for a coordinator of a region. `None` otherwise, so
/// that a region outside the scope answers as one that does not exist.
pub fn region_in_scope(conn: &mut DbConnection, scope: &Scope, region: Uuid) -> Result<Option<String>> {
    let Some(path) = path_of(conn, region)? else { return Ok(None) };
    match scope.region() {
        None => Ok(Some(path)),
        Some(own) => {
            let own = path_of(conn, own)?
                .ok_or_else(|| Error::internal(format!("the caller's region {own} does not exist")))?;
            Ok(path.starts_with(&own).then_some(path))
        }
    }
}

/// For a region named in a write: a coordinator limited to a region may place records only
/// inside it. A region outside answers as one that does not exist.
pub fn region_reference(conn: &mut DbConnection, scope: &Scope, region: Uuid, field: &str) -> Result<()> {
    match region_in_scope(conn, scope, region)? {
        Some(_) => Ok(()),
        None => Err(Error::field(field, "not_found", "no region with this id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_and_paths_are_written_into_sql() {
        assert_eq!(
            quoted("/0190f0a0-0000-7000-8000-000000000002/").unwrap(),
            "'/0190f0a0-0000-7000-8000-000000000002/'"
        );
        assert!(quoted("x' OR '1'='1").is_err());
    }
}
