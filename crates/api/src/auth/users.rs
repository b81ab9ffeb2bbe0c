//! User accounts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::role::Role;
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::users;
use tongxing_store::{DbConnection, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::password;

/// The roles a user account can hold. Partner organisations' API clients act as `partner`,
/// which no user holds.
#[derive(Serialize, ToSchema)]
#[schema(as = Role)]
#[serde(rename_all = "snake_case")]
#[expect(dead_code, reason = "describes the contract only")]
enum UserRole {
    Admin,
    Coordinator,
    Caseworker,
    Mentor,
    Volunteer,
    Auditor,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    #[schema(value_type = UserRole)]
    pub role: Role,
    /// The organisation the user works for: a caseworker sees its cases.
    pub organisation_id: Option<Uuid>,
    /// For coordinators: the region whose subtree they coordinate (the whole city when absent).
    pub region_id: Option<Uuid>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    /// 3 to 64 characters: letters, digits, `.`, `_`, `-`.
    #[validate(length(min = 3, max = 64))]
    #[schema(min_length = 3, max_length = 64)]
    pub username: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: String,
    #[schema(value_type = UserRole)]
    pub role: Role,
    /// The organisation the user works for.
    pub organisation_id: Option<Uuid>,
    /// For coordinators: the region whose subtree they coordinate.
    pub region_id: Option<Uuid>,
    /// At least 10 characters.
    #[validate(length(min = 10, max = 200))]
    #[schema(min_length = 10, max_length = 200)]
    pub password: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub active: bool,
    pub created_at: chrono::NaiveDateTime,
    pub organisation_id: Option<String>,
    pub region_id: Option<String>,
    pub failed_logins: i32,
    pub locked_until: Option<chrono::NaiveDateTime>,
}

impl UserRow {
    pub fn organisation_id(&self) -> Result<Option<Uuid>> {
        self.organisation_id.as_deref().map(tongxing_core::record::parse_id).transpose()
    }

    pub fn region_id(&self) -> Result<Option<Uuid>> {
        self.region_id.as_deref().map(tongxing_core::record::parse_id).transpose()
    }

    pub fn role(&self) -> Result<Role> {
        self.role
            .parse()
            .map_err(|_| Error::internal(format!("unknown role `{}` in the database", self.role)))
    }

    pub fn id(&self) -> Result<Uuid> {
        Uuid::parse_str(&self.id).map_err(|e| Error::internal(format!("bad user id: {e}")))
    }

    fn into_user(self) -> Result<User> {
        Ok(User {
            id: self.id()?,
            role: self.role()?,
            organisation_id: self.organisation_id()?,
            region_id: self.region_id()?,
            username: self.username,
            display_name: self.display_name,
            active: self.active,
            created_at: time::from_db(self.created_at),
        })
    }
}

pub fn check_username(username: &str) -> Result<()> {
    let ok = (3..=64).contains(&username.len())
        && username.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::field("username", "format", "use 3 to 64 letters, digits, `.`, `_` or `-`"))
    }
}

/// Creates a user; the password is hashed here and never stored or logged in clear.
pub fn create(conn: &mut DbConnection, input: UserInput) -> Result<User> {
    check_username(&input.username)?;
    if !input.role.is_for_users() {
        return Err(Error::field("role", "not_for_users", "the partner role belongs to API clients"));
    }
    check_references(conn, &input)?;
    let hash = password::hash(&input.password)?;
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id.to_string()),
            users::username.eq(&input.username),
            users::display_name.eq(input.display_name.trim()),
            users::password_hash.eq(hash),
            users::role.eq(input.role.as_str()),
            users::organisation_id.eq(input.organisation_id.map(|o| o.to_string())),
            users::region_id.eq(input.region_id.map(|r| r.to_string())),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    get(conn, id)
}

fn check_references(conn: &mut DbConnection, input: &UserInput) -> Result<()> {
    if let Some(o) = input.organisation_id {
        tongxing_events::organisations::require(conn, o, "organisation_id")?;
    }
    if let Some(r) = input.region_id {
        tongxing_cases::regions::subtree_prefix(conn, r, "region_id")?;
    }
    Ok(())
}

/// Consecutive failed logins after which an account is locked.
pub const LOCK_AFTER_FAILURES: i32 = 5;
/// How long a locked account stays locked.
pub const LOCK_SECONDS: i64 = 900;

/// Seconds until the account unlocks, if it is locked now.
pub fn locked_for(row: &UserRow) -> Option<u32> {
    let now = time::to_db(time::now());
    row.locked_until
        .filter(|until| *until > now)
        .map(|until| u32::try_from((until - now).num_seconds().max(1)).unwrap_or(u32::MAX))
}

/// Counts a failed login; the fifth in a row locks the account for fifteen minutes.
pub fn record_failure(conn: &mut DbConnection, id: &str) -> Result<()> {
    diesel::update(users::table.find(id))
        .set(users::failed_logins.eq(users::failed_logins + 1))
        .execute(conn)
        .map_err(map_db_error)?;
    let failures: i32 =
        users::table.find(id).select(users::failed_logins).first(conn).map_err(map_db_error)?;
    if failures >= LOCK_AFTER_FAILURES {
        let until = time::to_db(time::now() + chrono::Duration::seconds(LOCK_SECONDS));
        diesel::update(users::table.find(id))
            .set((users::locked_until.eq(Some(until)), users::failed_logins.eq(0)))
            .execute(conn)
            .map_err(map_db_error)?;
    }
    Ok(())
}

/// A successful login clears the failure count.
pub fn record_success(conn: &mut DbConnection, row: &UserRow) -> Result<()> {
    if row.failed_logins != 0 || row.locked_until.is_some() {
        diesel::update(users::table.find(&row.id))
            .set((users::failed_logins.eq(0), users::locked_until.eq(None::<chrono::NaiveDateTime>)))
            .execute(conn)
            .map_err(map_db_error)?;
    }
    Ok(())
}

/// Replaces the stored hash of a verified password with one made with today's parameters.
pub fn rehash_password(conn: &mut DbConnection, row: &UserRow, password: &str) -> Result<()> {
    if password::is_current(&row.password_hash) {
        return Ok(());
    }
    // A password accepted before today's rules (shorter than the minimum) keeps its old hash.
    let Ok(hash) = password::hash(password) else { return Ok(()) };
    diesel::update(users::table.find(&row.id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(())
}

pub fn find_by_username(conn: &mut DbConnection, username: &str) -> Result<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first(conn)
        .optional()
        .map_err(map_db_error)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<Option<UserRow>> {
    users::table
        .find(id.to_string())
        .select(UserRow::as_select())
        .first(conn)
        .optional()
        .map_err(map_db_error)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<User> {
    find(conn, id)?.ok_or_else(|| Error::not_found("user"))?.into_user()
}

pub fn list(conn: &mut DbConnection, page: PageRequest) -> Result<Page<User>> {
    let mut q = users::table.select(UserRow::as_select()).order(users::id.asc()).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(users::id.gt(after.to_string()));
    }
    let rows = q.limit(page.fetch()).load::<UserRow>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(UserRow::into_user).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |u| u.id))
}
