//! Mentors: usually staff of the bureau ("Party-member dads and mums"), each linked to the user
//! account they sign in with, and serving an area of the region tree.
//!
//! **Which mentors a caller reaches** ([`reach`]):
//! - admins, coordinators without a region and the service itself: every mentor;
//! - a coordinator of a region: the mentors whose region lies in their subtree; and, to read
//!   only, the mentors with a pairing (of any status) of a child in their subtree;
//! - caseworkers: every mentor, to read: the programme's staff directory (name, organisation,
//!   work phone and e-mail, so that case staff can reach a child's mentor), without the
//!   coordinators' `notes`;
//! - a mentor: their own record; everyone else: none.
//!
//! A mentor outside the caller's reach is not found (404), as one that does not exist.
//!
//! **Who changes which field** is [`may_change`], the one statement of it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_cases::scope::{Condition, child_ids, condition};
use tongxing_core::Code;
use tongxing_core::access::{Reach, Scope};
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::{Versioned, check_version, clean, contains_pattern};
use tongxing_core::role::Role;
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{mentors, pairings};
use tongxing_store::{DbConnection, DbId, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Mentor {
    pub id: Uuid,
    /// The account the mentor signs in with; a mentor acts only on their own pairings.
    pub user_id: Option<Uuid>,
    /// The area the mentor serves (a region of any level); coordinators of a region reach the
    /// mentors of their subtree.
    pub region_id: Option<Uuid>,
    pub name: String,
    pub organisation: Option<String>,
    /// Work contact details, shown to case staff.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Coordinators' notes; absent for everyone else.
    pub notes: Option<String>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MentorInput {
    /// Client-chosen id (UUID); generated when absent. Ignored on update.
    pub id: Option<Uuid>,
    /// The mentor's sign-in account: a user with the role `mentor` that no other mentor is
    /// linked to.
    pub user_id: Option<Uuid>,
    /// The area the mentor serves. A coordinator of a region must name a region in their
    /// subtree.
    pub region_id: Option<Uuid>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub organisation: Option<String>,
    #[validate(length(min = 5, max = 20))]
    #[schema(min_length = 5, max_length = 20)]
    pub phone: Option<String>,
    #[validate(email, length(max = 200))]
    #[schema(max_length = 200, format = Email)]
    pub email: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
    /// Inactive mentors keep their history but cannot start a pairing.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default)]
pub struct MentorFilter {
    pub q: Option<String>,
    pub active: Option<bool>,
}

/// The fields of a mentor, as [`may_change`] tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentorField {
    /// `user_id`: which account acts as this mentor (and so on whose pairings).
    Account,
    /// `region_id`: which coordinators reach the mentor.
    Region,
    /// Everything else: name, organisation, phone, e-mail, notes, active.
    Details,
}

impl MentorField {
    pub fn name(self) -> &'static str {
        match self {
            MentorField::Account => "user_id",
            MentorField::Region => "region_id",
            MentorField::Details => "name",
        }
    }
}

/// Who may set each field of a mentor, on create and update: the one statement of it.
///
/// | field | who |
/// |---|---|
/// | `user_id` (the account link) | admins and coordinators; it must name a user with the role `mentor` that no other mentor is linked to |
/// | `region_id` | admins and coordinators; a coordinator of a region names a region in their subtree |
/// | the rest | admins and coordinators |
///
/// On top of this, a coordinator of a region changes only the mentors whose region is in their
/// subtree ([`reach`]); one outside it is not found. The access table already lets no one else
/// write mentors; this holds the domain to the same rule whoever calls it.
pub fn may_change(scope: &Scope, field: MentorField) -> bool {
    const COORDINATORS: &[Role] = &[Role::Admin, Role::Coordinator];
    match field {
        MentorField::Account | MentorField::Region | MentorField::Details => scope.is(COORDINATORS),
    }
}

/// What a caller does with the mentors it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The mentors `scope` reaches for `access`, as a condition on `mentors`; `None` means every
/// mentor. The only values written into it are UUIDs and region paths, checked first.
pub fn reach(
    conn: &mut DbConnection,
    scope: &Scope,
    access: Access,
) -> Result<Option<Condition<mentors::table>>> {
    let none = || Some(condition("1 = 0".to_owned()));
    Ok(match (scope.reach(), access) {
        (Reach::All, _) => None,
        (Reach::Region(region), _) => {
            let path = tongxing_cases::regions::path_of(conn, region)?
                .ok_or_else(|| Error::internal(format!("the caller's region {region} does not exist")))?;
            let prefix = sql_text(&path)?;
            let mut text =
                format!("mentors.region_id IN (SELECT mr.id FROM regions mr WHERE mr.path LIKE '{prefix}%')");
            if access == Access::Read {
                let children = child_ids(conn, scope)?.unwrap_or_else(|| "SELECT NULL".into());
                text = format!(
                    "({text} OR mentors.id IN (SELECT mp.mentor_id FROM pairings mp WHERE mp.child_id IN ({children})))"
                );
            }
            Some(condition(text))
        }
        (Reach::Caseload { .. }, Access::Read) => None,
        (Reach::Mentor { user_id }, Access::Read) => {
            Some(condition(format!("mentors.user_id = '{user_id}'")))
        }
        _ => none(),
    })
}

fn sql_text(value: &str) -> Result<&str> {
    if value.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'/') {
        Ok(value)
    } else {
        Err(Error::internal(format!("refusing to write `{value}` into a mentor condition")))
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = mentors)]
struct MentorRow {
    id: DbId,
    user_id: Option<DbId>,
    region_id: Option<DbId>,
    name: String,
    organisation: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    notes: Option<String>,
    active: bool,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    version: i32,
}

impl MentorRow {
    /// The mentor as `scope` sees it: coordinators' notes only for coordinators.
    fn into_mentor(self, scope: &Scope) -> Result<Mentor> {
        Ok(Mentor {
            id: self.id.0,
            user_id: self.user_id.map(Uuid::from),
            region_id: self.region_id.map(Uuid::from),
            name: self.name,
            organisation: self.organisation,
            phone: self.phone,
            email: self.email,
            notes: self.notes.filter(|_| scope.coordinates()),
            active: self.active,
            version: self.version,
            created_at: time::from_db(self.created_at),
            updated_at: time::from_db(self.updated_at),
        })
    }
}

/// The one answer for an account that cannot be linked: missing, not a mentor's, or linked to
/// another mentor (which may be outside the caller's reach) all read the same.
fn account_unavailable() -> Error {
    Error::field("user_id", "not_found", "no mentor account free to link with this id")
}

fn check(
    conn: &mut DbConnection,
    scope: &Scope,
    input: &MentorInput,
    current: Option<&Mentor>,
) -> Result<()> {
    let changes = |field: MentorField| match (field, current) {
        (MentorField::Account, Some(m)) => input.user_id != m.user_id,
        (MentorField::Region, Some(m)) => input.region_id != m.region_id,
        (MentorField::Account, None) => input.user_id.is_some(),
        (MentorField::Region, None) => input.region_id.is_some(),
        (MentorField::Details, _) => true,
    };
    for field in [MentorField::Details, MentorField::Region, MentorField::Account] {
        if changes(field) && !may_change(scope, field) {
            return Err(Error::field_forbidden(
                field.name(),
                format!("your role may not set `{}`", field.name()),
            ));
        }
    }
    if input.name.trim().is_empty() {
        return Err(Error::field("name", "blank", "a mentor needs a name"));
    }
    if let Some(phone) = &input.phone
        && !tongxing_core::record::is_dialable(phone)
    {
        return Err(Error::field("phone", "format", "a phone number has only digits, spaces, + and -"));
    }
    let region_reached = match input.region_id {
        Some(region) => tongxing_cases::scope::region_in_scope(conn, scope, region)?.is_some(),
        None => true,
    };
    if !region_reached {
        return Err(Error::field("region_id", "not_found", "no region with this id"));
    }
    if input.region_id.is_none() && scope.region().is_some() {
        return Err(Error::field("region_id", "required", "name the region the mentor serves"));
    }
    if let Some(user) = input.user_id
        && changes(MentorField::Account)
    {
        let role = tongxing_accounts::users::role_of(conn, user)?;
        let linked: i64 = mentors::table
            .filter(mentors::user_id.eq(DbId(user)))
            .filter(mentors::id.ne(current.map(|m| m.id.to_string()).unwrap_or_default()))
            .count()
            .get_result(conn)
            .map_err(map_db_error)?;
        if role != Some(Role::Mentor) || linked > 0 {
            return Err(account_unavailable());
        }
    }
    Ok(())
}

/// Two coordinators linking one account at once: the unique index decides, and the loser
/// reads as any other unavailable account.
fn linked_elsewhere(e: Error) -> Error {
    match e {
        Error::Conflict { code: Code::UserAlreadyMentor, .. } => account_unavailable(),
        other => other,
    }
}

pub fn create(conn: &mut DbConnection, scope: &Scope, input: MentorInput) -> Result<Versioned<Mentor>> {
    check(conn, scope, &input, None)?;
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(mentors::table)
        .values((
            mentors::id.eq(DbId(id)),
            mentors::user_id.eq(input.user_id.map(|u| u.to_string())),
            mentors::region_id.eq(input.region_id.map(|r| r.to_string())),
            mentors::name.eq(input.name.trim()),
            mentors::organisation.eq(clean(input.organisation)),
            mentors::phone.eq(clean(input.phone)),
            mentors::email.eq(clean(input.email)),
            mentors::notes.eq(clean(input.notes)),
            mentors::active.eq(input.active),
            mentors::created_at.eq(now),
            mentors::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| linked_elsewhere(map_db_error(e)))?;
    find(conn, scope, Access::Read, id)
}

/// Replaces a mentor's details. The mentor must be one the caller may change ([`reach`] for
/// writing): a coordinator of a region reads the mentors of their children's pairings but
/// changes only those of their region.
/// The account a mentor signs in with reads the children of the mentor's active pairings, so the
/// link is changed only by a caller who reaches every child the mentor has been paired with: a
/// coordinator of a region may not hand another region's child to an account of their choosing.
fn require_pairings_in_reach(conn: &mut DbConnection, scope: &Scope, mentor: Uuid) -> Result<()> {
    let Some(children) = child_ids(conn, scope)? else { return Ok(()) };
    let outside: i64 = pairings::table
        .filter(pairings::mentor_id.eq(DbId(mentor)))
        .filter(condition::<pairings::table>(format!("pairings.child_id NOT IN ({children})")))
        .count()
        .get_result(conn)
        .map_err(map_db_error)?;
    if outside > 0 {
        return Err(Error::field_forbidden(
            "user_id",
            "only a coordinator who reaches every child the mentor has been paired with changes the account",
        ));
    }
    Ok(())
}

pub fn update(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    input: MentorInput,
    expected: i32,
) -> Result<Versioned<Mentor>> {
    let current = find(conn, scope, Access::Write, id)?;
    check_version(current.version, expected)?;
    check(conn, scope, &input, Some(&current.record))?;
    if input.user_id != current.record.user_id {
        require_pairings_in_reach(conn, scope, id)?;
    }
    let changed =
        diesel::update(mentors::table.filter(mentors::id.eq(DbId(id))).filter(mentors::version.eq(expected)))
            .set((
                mentors::user_id.eq(input.user_id.map(|u| u.to_string())),
                mentors::region_id.eq(input.region_id.map(|r| r.to_string())),
                mentors::name.eq(input.name.trim()),
                mentors::organisation.eq(clean(input.organisation)),
                mentors::phone.eq(clean(input.phone)),
                mentors::email.eq(clean(input.email)),
                mentors::notes.eq(clean(input.notes)),
                mentors::active.eq(input.active),
                mentors::updated_at.eq(time::to_db(time::now())),
                mentors::version.eq(expected + 1),
            ))
            .execute(conn)
            .map_err(|e| linked_elsewhere(map_db_error(e)))?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    find(conn, scope, Access::Read, id)
}

/// The mentor, if the caller reaches it; otherwise not found.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<Mentor>> {
    find(conn, scope, Access::Read, id)
}

fn find(conn: &mut DbConnection, scope: &Scope, access: Access, id: Uuid) -> Result<Versioned<Mentor>> {
    let mut q = mentors::table.filter(mentors::id.eq(DbId(id))).select(MentorRow::as_select()).into_boxed();
    if let Some(cond) = reach(conn, scope, access)? {
        q = q.filter(cond);
    }
    let mentor = q.first(conn).map_err(not_found_as("mentor"))?.into_mentor(scope)?;
    let version = mentor.version;
    Ok(Versioned { record: mentor, version })
}

pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &MentorFilter,
    page: PageRequest,
) -> Result<Page<Mentor>> {
    let mut q = mentors::table.select(MentorRow::as_select()).order(mentors::id.asc()).into_boxed();
    if let Some(cond) = reach(conn, scope, Access::Read)? {
        q = q.filter(cond);
    }
    if let Some(text) = filter.q.as_deref() {
        let p = contains_pattern(text);
        q = q.filter(
            mentors::name.like(p.clone()).escape('\\').or(mentors::organisation.like(p).escape('\\')),
        );
    }
    if let Some(active) = filter.active {
        q = q.filter(mentors::active.eq(active));
    }
    if let Some(after) = page.after {
        q = q.filter(mentors::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<MentorRow>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(|r| r.into_mentor(scope)).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |m| m.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_and_coordinators_change_mentors() {
        let u = Uuid::nil();
        for role in Role::ALL {
            let scope = Scope::of(role, u, None, Some(u));
            let expected = matches!(role, Role::Admin | Role::Coordinator);
            for field in [MentorField::Account, MentorField::Region, MentorField::Details] {
                assert_eq!(may_change(&scope, field), expected, "{role} {field:?}");
            }
        }
        assert!(may_change(&Scope::system(), MentorField::Account));
    }

    #[test]
    fn only_ids_and_paths_are_written_into_sql() {
        assert!(sql_text("/0190f0a0-0000-7000-8000-000000000002/").is_ok());
        assert!(sql_text("x' OR '1'='1").is_err());
    }
}
