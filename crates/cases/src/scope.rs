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
use tongxing_store::{DbConnection, map_db_error};
use uuid::Uuid;

use crate::regions::subtree_prefix;

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

/// A subquery selecting the ids of the children `scope` reaches; `None` means every child.
pub fn child_ids(conn: &mut DbConnection, scope: &Scope) -> Result<Option<String>> {
    Ok(match scope.reach() {
        Reach::All => None,
        Reach::Region(region) => Some(format!(
            "SELECT sc.id FROM children sc JOIN regions sr ON sr.id = sc.region_id WHERE sr.path LIKE {}",
            region_pattern(conn, region)?
        )),
        Reach::Caseload { organisation_id, user_id } => {
            let me = uuid(user_id);
            // Assigned to them, held by their organisation, or on a counselling team they are on.
            let counselling = format!(
                "SELECT se.child_id FROM counselling_enrolments se JOIN counselling_team_members st \
                 ON st.enrolment_id = se.id WHERE st.user_id = {me}"
            );
            Some(match organisation_id {
                Some(org) => format!(
                    "SELECT sc.id FROM children sc WHERE sc.caseworker_id = {me} OR sc.organisation_id = {} \
                     UNION {counselling}",
                    uuid(org)
                ),
                None => {
                    format!("SELECT sc.id FROM children sc WHERE sc.caseworker_id = {me} UNION {counselling}")
                }
            })
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
            let of_children = child_ids(conn, scope)?.unwrap_or_default();
            Some(format!(
                "SELECT sh.id FROM households sh WHERE sh.created_by = {} \
                 UNION SELECT sk.household_id FROM children sk WHERE sk.household_id IS NOT NULL AND sk.id IN ({of_children})",
                uuid(user_id)
            ))
        }
        Reach::Mentor { .. } | Reach::Volunteer { .. } | Reach::Shared { .. } | Reach::Nothing => {
            Some("SELECT sh.id FROM households sh WHERE 1 = 0".into())
        }
    })
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

/// Succeeds when the child exists and is in scope; otherwise the child is "not found".
pub fn require_child(conn: &mut DbConnection, scope: &Scope, child: Uuid) -> Result<()> {
    let mut q = children::table.filter(children::id.eq(child.to_string())).select(children::id).into_boxed();
    if let Some(cond) = child_column(conn, scope, "children.id")? {
        q = q.filter(cond);
    }
    let found = q.first::<String>(conn).optional().map_err(map_db_error)?;
    found.map(|_| ()).ok_or_else(|| Error::not_found("child"))
}

/// For a write that refers to a child: a child that exists but is outside the scope is
/// reported like one that does not exist (a bad `field`). A child that does not exist at all is
/// left to the domain's own validation, which reports it with the request's other errors.
pub fn check_child_reference(conn: &mut DbConnection, scope: &Scope, child: Uuid, field: &str) -> Result<()> {
    if scope.is_unlimited() {
        return Ok(());
    }
    let exists = children::table
        .filter(children::id.eq(child.to_string()))
        .select(children::id)
        .first::<String>(conn)
        .optional()
        .map_err(map_db_error)?
        .is_some();
    if exists {
        require_child(conn, scope, child).map_err(|e| e.missing_as_field(field, "no child with this id"))?;
    }
    Ok(())
}

/// Like [`check_child_reference`], for a household.
pub fn check_household_reference(
    conn: &mut DbConnection,
    scope: &Scope,
    household: Uuid,
    field: &str,
) -> Result<()> {
    if scope.is_unlimited() {
        return Ok(());
    }
    let exists = households::table
        .filter(households::id.eq(household.to_string()))
        .select(households::id)
        .first::<String>(conn)
        .optional()
        .map_err(map_db_error)?
        .is_some();
    if exists {
        require_household(conn, scope, household)
            .map_err(|e| e.missing_as_field(field, "no household with this id"))?;
    }
    Ok(())
}

/// Succeeds when the household exists and is in scope; otherwise it is "not found".
pub fn require_household(conn: &mut DbConnection, scope: &Scope, household: Uuid) -> Result<()> {
    let mut q = households::table
        .filter(households::id.eq(household.to_string()))
        .select(households::id)
        .into_boxed();
    if let Some(cond) = household_column(conn, scope, "households.id")? {
        q = q.filter(cond);
    }
    let found = q.first::<String>(conn).optional().map_err(map_db_error)?;
    found.map(|_| ()).ok_or_else(|| Error::not_found("household"))
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
