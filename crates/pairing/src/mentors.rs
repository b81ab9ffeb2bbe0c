//! Mentors: usually staff of the bureau ("Party-member dads and mums"), each linked to the user
//! account they sign in with.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::{Versioned, check_version, clean, contains_pattern, parse_id, parse_opt_id};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{mentors, users};
use tongxing_store::{DbConnection, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Mentor {
    pub id: Uuid,
    /// The account the mentor signs in with; a mentor acts only on their own pairings.
    pub user_id: Option<Uuid>,
    pub name: String,
    pub organisation: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
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
    pub user_id: Option<Uuid>,
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

#[derive(Queryable, Selectable)]
#[diesel(table_name = mentors)]
struct MentorRow {
    id: String,
    user_id: Option<String>,
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
    fn into_mentor(self) -> Result<Mentor> {
        Ok(Mentor {
            id: parse_id(&self.id)?,
            user_id: parse_opt_id(self.user_id.as_deref())?,
            name: self.name,
            organisation: self.organisation,
            phone: self.phone,
            email: self.email,
            notes: self.notes,
            active: self.active,
            version: self.version,
            created_at: time::from_db(self.created_at),
            updated_at: time::from_db(self.updated_at),
        })
    }
}

fn check(conn: &mut DbConnection, input: &MentorInput) -> Result<()> {
    if input.name.trim().is_empty() {
        return Err(Error::field("name", "blank", "a mentor needs a name"));
    }
    if let Some(phone) = &input.phone
        && !tongxing_core::record::is_dialable(phone)
    {
        return Err(Error::field("phone", "format", "a phone number has only digits, spaces, + and -"));
    }
    if let Some(user) = input.user_id {
        let n: i64 = users::table
            .filter(users::id.eq(user.to_string()))
            .count()
            .get_result(conn)
            .map_err(map_db_error)?;
        if n == 0 {
            return Err(Error::field("user_id", "not_found", "no user with this id"));
        }
    }
    Ok(())
}

pub fn create(conn: &mut DbConnection, input: MentorInput) -> Result<Versioned<Mentor>> {
    check(conn, &input)?;
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(mentors::table)
        .values((
            mentors::id.eq(id.to_string()),
            mentors::user_id.eq(input.user_id.map(|u| u.to_string())),
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
        .map_err(map_db_error)?;
    get(conn, id)
}

pub fn update(
    conn: &mut DbConnection,
    id: Uuid,
    input: MentorInput,
    expected: i32,
) -> Result<Versioned<Mentor>> {
    let current = get(conn, id)?;
    check_version(current.version, expected)?;
    check(conn, &input)?;
    let changed = diesel::update(
        mentors::table.filter(mentors::id.eq(id.to_string())).filter(mentors::version.eq(expected)),
    )
    .set((
        mentors::user_id.eq(input.user_id.map(|u| u.to_string())),
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
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    get(conn, id)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<Mentor>> {
    let mentor = mentors::table
        .find(id.to_string())
        .select(MentorRow::as_select())
        .first(conn)
        .map_err(not_found_as("mentor"))?
        .into_mentor()?;
    let version = mentor.version;
    Ok(Versioned { record: mentor, version })
}

/// The mentor record of a user account, if any.
pub fn of_user(conn: &mut DbConnection, user: Uuid) -> Result<Option<Uuid>> {
    let id: Option<String> = mentors::table
        .filter(mentors::user_id.eq(user.to_string()))
        .select(mentors::id)
        .first(conn)
        .optional()
        .map_err(map_db_error)?;
    parse_opt_id(id.as_deref())
}

pub fn list(conn: &mut DbConnection, filter: &MentorFilter, page: PageRequest) -> Result<Page<Mentor>> {
    let mut q = mentors::table.select(MentorRow::as_select()).order(mentors::id.asc()).into_boxed();
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
        q = q.filter(mentors::id.gt(after.to_string()));
    }
    let rows = q.limit(page.fetch()).load::<MentorRow>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(MentorRow::into_mentor).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |m| m.id))
}
