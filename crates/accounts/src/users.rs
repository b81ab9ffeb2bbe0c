//! User accounts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::Code;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::{Versioned, check_version};
use tongxing_core::role::Role;
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::users;
use tongxing_store::{Db, DbConnection, DbId, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::password;

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
    /// A deactivated user cannot sign in, and their tokens stopped working when they were
    /// deactivated.
    pub active: bool,
    pub created_at: DateTime<Utc>,
    /// The version that `ETag` and `If-Match` carry.
    pub version: i32,
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

/// What an administrator may change of an account: everything but its username and password.
/// Like every `PUT`, it replaces the record's fields: an absent organisation or region is none.
#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub display_name: String,
    #[schema(value_type = UserRole)]
    pub role: Role,
    /// The organisation the user works for.
    pub organisation_id: Option<Uuid>,
    /// For coordinators: the region whose subtree they coordinate.
    pub region_id: Option<Uuid>,
    /// `false` deactivates the account, `true` reactivates it.
    pub active: bool,
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
    pub version: i32,
    pub token_epoch: i32,
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

    pub fn into_user(self) -> Result<User> {
        Ok(User {
            id: self.id()?,
            role: self.role()?,
            organisation_id: self.organisation_id()?,
            region_id: self.region_id()?,
            username: self.username,
            display_name: self.display_name,
            active: self.active,
            created_at: time::from_db(self.created_at),
            version: self.version,
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

/// Creates a user; the password is hashed here and never stored or logged in clear. Hashing
/// holds `conn` for its duration: for the command line and tests; the API hashes first and
/// calls [`create_hashed`].
pub fn create(conn: &mut DbConnection, input: UserInput) -> Result<User> {
    let hash = password::hash(&input.password)?;
    create_hashed(conn, input, hash)
}

/// Creates a user whose password `hash` was made from `input.password` beforehand, without a
/// connection held.
pub fn create_hashed(conn: &mut DbConnection, input: UserInput, hash: String) -> Result<User> {
    check_username(&input.username)?;
    check_role(input.role)?;
    check_references(conn, input.organisation_id, input.region_id)?;
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(users::table)
        .values((
            users::id.eq(DbId(id)),
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

fn check_role(role: Role) -> Result<()> {
    if role.is_for_users() {
        Ok(())
    } else {
        Err(Error::field("role", "not_for_users", "the partner role belongs to API clients"))
    }
}

fn check_references(conn: &mut DbConnection, organisation: Option<Uuid>, region: Option<Uuid>) -> Result<()> {
    if let Some(o) = organisation {
        crate::require_organisation(conn, o, "organisation_id")?;
    }
    if let Some(r) = region {
        use tongxing_store::schema::regions;
        let n: i64 =
            regions::table.filter(regions::id.eq(DbId(r))).count().get_result(conn).map_err(map_db_error)?;
        if n == 0 {
            return Err(Error::field("region_id", "not_found", "no region with this id"));
        }
    }
    Ok(())
}

/// Changes an account, if `expected` is still its version. A change of role, organisation,
/// region or of `active` ends every token the user holds ([`end_sessions`]); a new display
/// name does not. The last active administrator cannot be deactivated or given another role.
/// Returns the account before and after.
pub fn update(conn: &mut DbConnection, id: Uuid, input: UserUpdate, expected: i32) -> Result<(User, User)> {
    let before = get(conn, id)?;
    check_version(before.version, expected)?;
    check_role(input.role)?;
    let display_name = input.display_name.trim().to_owned();
    if display_name.is_empty() {
        return Err(Error::field("display_name", "blank", "a user needs a name"));
    }
    check_references(conn, input.organisation_id, input.region_id)?;
    let was_admin = before.role == Role::Admin && before.active;
    if was_admin && !(input.role == Role::Admin && input.active) {
        require_another_admin(conn, id)?;
    }
    let access_changed = before.role != input.role
        || before.organisation_id != input.organisation_id
        || before.region_id != input.region_id
        || before.active != input.active;
    let n = diesel::update(users::table.filter(users::id.eq(DbId(id))).filter(users::version.eq(expected)))
        .set((
            users::display_name.eq(display_name),
            users::role.eq(input.role.as_str()),
            users::organisation_id.eq(input.organisation_id.map(|o| o.to_string())),
            users::region_id.eq(input.region_id.map(|r| r.to_string())),
            users::active.eq(input.active),
            users::updated_at.eq(time::to_db(time::now())),
            users::version.eq(expected + 1),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    if n == 0 {
        return Err(Error::PreconditionFailed);
    }
    if access_changed {
        end_sessions(conn, id)?;
    }
    Ok((before, get(conn, id)?))
}

/// Refuses to leave the service without an active administrator other than `leaving`. On
/// PostgreSQL the active administrators' rows are locked first, so that two administrators
/// demoting each other at once cannot both pass (SQLite's write transactions are serial).
fn require_another_admin(conn: &mut DbConnection, leaving: Uuid) -> Result<()> {
    let others = users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::active.eq(true))
        .filter(users::id.ne(DbId(leaving)))
        .select(users::id);
    let ids: Vec<String> = match conn {
        DbConnection::Postgres(c) => others.for_update().load(c),
        DbConnection::Sqlite(c) => others.load(c),
    }
    .map_err(map_db_error)?;
    if ids.is_empty() {
        return Err(Error::conflict(
            Code::LastAdmin,
            "the service would be left without an active administrator",
        ));
    }
    Ok(())
}

/// Replaces a user's password with `hash` (made beforehand, without a connection held) and
/// ends every token they hold. `expected`, when given, must be the account's version.
pub fn set_password(conn: &mut DbConnection, id: Uuid, hash: String, expected: Option<i32>) -> Result<User> {
    let before = get(conn, id)?;
    if let Some(v) = expected {
        check_version(before.version, v)?;
    }
    let n =
        diesel::update(users::table.filter(users::id.eq(DbId(id))).filter(users::version.eq(before.version)))
            .set((
                users::password_hash.eq(hash),
                users::updated_at.eq(time::to_db(time::now())),
                users::version.eq(before.version + 1),
            ))
            .execute(conn)
            .map_err(map_db_error)?;
    if n == 0 {
        return Err(Error::PreconditionFailed);
    }
    end_sessions(conn, id)?;
    crate::throttle::forget(conn, &before.username)?;
    get(conn, id)
}

/// Ends every token of the user at once: the epoch that each of their access and refresh
/// tokens carries moves on, so the guard refuses the access tokens and the refresh grant the
/// refresh tokens, on every node; the refresh tokens are marked revoked as well.
pub fn end_sessions(conn: &mut DbConnection, id: Uuid) -> Result<()> {
    diesel::update(users::table.find(DbId(id)))
        .set(users::token_epoch.eq(users::token_epoch + 1))
        .execute(conn)
        .map_err(map_db_error)?;
    crate::refresh::revoke_user(conn, id)
}

/// The epoch a user's tokens must carry, if the user exists and is active.
pub fn token_epoch(conn: &mut DbConnection, id: Uuid) -> Result<Option<i32>> {
    let row: Option<(i32, bool)> = users::table
        .find(DbId(id))
        .select((users::token_epoch, users::active))
        .first(conn)
        .optional()
        .map_err(map_db_error)?;
    Ok(row.filter(|(_, active)| *active).map(|(epoch, _)| epoch))
}

/// Refuses an access token whose epoch is not its user's current one (or whose user is gone or
/// deactivated). One primary-key read per request of a signed-in user, so that a token ends on
/// every node the moment its user's epoch moves on; no node caches the answer.
pub async fn require_current_epoch(db: &Db, id: Uuid, epoch: i32) -> Result<()> {
    let db = db.clone();
    let current = crate::blocking(move || token_epoch(&mut *db.conn()?, id)).await?;
    if current == Some(epoch) {
        Ok(())
    } else {
        Err(Error::unauthenticated(Code::InvalidToken, "the access token has been revoked"))
    }
}

/// Replaces the stored hash of a verified password by `hash`, made with today's parameters,
/// unless the password changed meanwhile. Not a password change: the tokens stay.
pub fn upgrade_hash(conn: &mut DbConnection, row: &UserRow, hash: String) -> Result<()> {
    diesel::update(
        users::table.filter(users::id.eq(&row.id)).filter(users::password_hash.eq(&row.password_hash)),
    )
    .set(users::password_hash.eq(hash))
    .execute(conn)
    .map_err(map_db_error)?;
    Ok(())
}

/// The role of the account `id`, if there is one: what the domain crates ask before they link
/// an account to a case (its caseworker), a mentor or a counselling team.
pub fn role_of(conn: &mut DbConnection, id: Uuid) -> Result<Option<Role>> {
    let role: Option<String> =
        users::table.find(DbId(id)).select(users::role).first(conn).optional().map_err(map_db_error)?;
    role.as_deref().map(str::parse).transpose()
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
    users::table.find(DbId(id)).select(UserRow::as_select()).first(conn).optional().map_err(map_db_error)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<User> {
    find(conn, id)?.ok_or_else(|| Error::not_found("user"))?.into_user()
}

pub fn get_versioned(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<User>> {
    let user = get(conn, id)?;
    Ok(Versioned { version: user.version, record: user })
}

pub fn list(conn: &mut DbConnection, page: PageRequest) -> Result<Page<User>> {
    let mut q = users::table.select(UserRow::as_select()).order(users::id.asc()).into_boxed();
    if let Some(after) = page.after {
        q = q.filter(users::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<UserRow>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(UserRow::into_user).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |u| u.id))
}
