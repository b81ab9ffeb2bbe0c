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

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
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
    pub role: Role,
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
}

impl UserRow {
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
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    get(conn, id)
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
