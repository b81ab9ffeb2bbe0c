//! Case-work contacts: phone visits to a household and in-person visits to a child (at home,
//! at school, at the centre). They may concern households or children still in screening: the
//! "families phoned" and "children visited" figures count them whatever the case status.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::access::Scope;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::contacts;
use tongxing_store::{DbConnection, DbId, DbText, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::scope::{self, Access};
use crate::util::{clean, parse_id};

text_enum! {
    pub enum ContactKind {
        /// A phone call to the household.
        PhoneVisit => "phone_visit",
        HomeVisit => "home_visit",
        SchoolVisit => "school_visit",
        CentreVisit => "centre_visit",
    }
}

text_enum! {
    pub enum ContactOutcome {
        Completed => "completed",
        /// Nobody was reached; the attempt is kept but counts for no figure.
        NotReached => "not_reached",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contact {
    pub id: Uuid,
    pub kind: ContactKind,
    pub household_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    /// The user who made the contact.
    pub made_by: Uuid,
    pub outcome: ContactOutcome,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    pub kind: ContactKind,
    /// Required for a phone visit unless the child's household is known.
    pub household_id: Option<Uuid>,
    /// Required for an in-person visit.
    pub child_id: Option<Uuid>,
    /// When it happened (RFC 3339 with a zone); not in the future, and at most 20 years ago.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub occurred_at: DateTime<Utc>,
    pub outcome: ContactOutcome,
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    pub child_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub kind: Option<ContactKind>,
    /// First day (Asia/Shanghai), inclusive.
    pub from: Option<NaiveDate>,
    /// Last day (Asia/Shanghai), inclusive.
    pub to: Option<NaiveDate>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = contacts)]
struct ContactRow {
    id: DbId,
    kind: DbText<ContactKind>,
    household_id: Option<DbId>,
    child_id: Option<DbId>,
    occurred_at: chrono::NaiveDateTime,
    made_by: String,
    outcome: DbText<ContactOutcome>,
    notes: Option<String>,
    created_at: chrono::NaiveDateTime,
}

impl ContactRow {
    fn into_contact(self) -> Result<Contact> {
        Ok(Contact {
            id: self.id.0,
            kind: self.kind.0,
            household_id: self.household_id.map(Uuid::from),
            child_id: self.child_id.map(Uuid::from),
            occurred_at: time::from_db(self.occurred_at),
            made_by: parse_id(&self.made_by)?,
            outcome: self.outcome.0,
            notes: self.notes,
            created_at: time::from_db(self.created_at),
        })
    }
}

/// Records a contact on a case file the caller holds; the child and household it names are
/// resolved through the caller's scope.
pub fn create(conn: &mut DbConnection, scope: &Scope, input: ContactInput) -> Result<Contact> {
    let actor = scope.actor();
    let now = time::now();
    time::check_took_place("occurred_at", input.occurred_at, now, "contact")?;
    let child_household = match input.child_id {
        Some(c) => scope::child_reference(conn, scope, Access::Write, c, "child_id")?.household_id,
        None => None,
    };
    if let (Some(given), Some(known)) = (input.household_id, child_household)
        && given != known
    {
        return Err(Error::field(
            "household_id",
            "not_childs_household",
            "the child belongs to another household",
        ));
    }
    let household = input.household_id.or(child_household);
    match input.kind {
        ContactKind::PhoneVisit if household.is_none() => {
            return Err(Error::field("household_id", "required", "a phone visit is made to a household"));
        }
        ContactKind::HomeVisit | ContactKind::SchoolVisit | ContactKind::CentreVisit
            if input.child_id.is_none() =>
        {
            return Err(Error::field("child_id", "required", "an in-person visit is made to a child"));
        }
        _ => {}
    }
    if let Some(h) = input.household_id {
        scope::household_reference(conn, scope, Access::Write, h, "household_id")?;
    }
    let id = input.id.unwrap_or_else(id::new_id);
    diesel::insert_into(contacts::table)
        .values((
            contacts::id.eq(DbId(id)),
            contacts::kind.eq(input.kind.as_str()),
            contacts::household_id.eq(household.map(|h| h.to_string())),
            contacts::child_id.eq(input.child_id.map(|c| c.to_string())),
            contacts::occurred_at.eq(time::to_db(input.occurred_at)),
            contacts::made_by.eq(DbId(actor)),
            contacts::outcome.eq(input.outcome.as_str()),
            contacts::notes.eq(clean(input.notes)),
            contacts::created_at.eq(time::to_db(now)),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    load(conn, id)
}

fn load(conn: &mut DbConnection, id: Uuid) -> Result<Contact> {
    contacts::table
        .find(DbId(id))
        .select(ContactRow::as_select())
        .first(conn)
        .map_err(crate::util::not_found_as("contact"))?
        .into_contact()
}

/// Contacts with a child in scope, and household contacts (phone visits) with the household of
/// a child in scope.
pub fn condition(
    conn: &mut DbConnection,
    scope: &Scope,
) -> Result<Option<scope::Condition<contacts::table>>> {
    Ok(scope::child_ids(conn, scope)?.map(|ids| {
        scope::condition(format!(
            "(contacts.child_id IN ({ids}) OR (contacts.child_id IS NULL AND contacts.household_id IN \
             (SELECT sx.household_id FROM children sx WHERE sx.id IN ({ids}))))"
        ))
    }))
}

/// The contact, if `scope` reaches it; otherwise not found.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Contact> {
    let mut q =
        contacts::table.filter(contacts::id.eq(DbId(id))).select(ContactRow::as_select()).into_boxed();
    if let Some(cond) = condition(conn, scope)? {
        q = q.filter(cond);
    }
    q.first(conn).map_err(crate::util::not_found_as("contact"))?.into_contact()
}

/// The children the contacts concern, for the access history: a visit's child, and for a phone
/// visit to a household the household's children that the caller reaches.
pub fn concerned_children(conn: &mut DbConnection, scope: &Scope, list: &[Contact]) -> Result<Vec<Uuid>> {
    let mut out: Vec<Uuid> = list.iter().filter_map(|c| c.child_id).collect();
    let households: Vec<Uuid> =
        list.iter().filter(|c| c.child_id.is_none()).filter_map(|c| c.household_id).collect();
    if !households.is_empty() {
        out.extend(crate::households::children_of(conn, scope, &households)?);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The records in `scope` that match `filter`.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &ContactFilter,
    page: PageRequest,
) -> Result<Page<Contact>> {
    let mut q = contacts::table.select(ContactRow::as_select()).order(contacts::id.asc()).into_boxed();
    if let Some(cond) = condition(conn, scope)? {
        q = q.filter(cond);
    }
    if let Some(c) = filter.child_id {
        q = q.filter(contacts::child_id.eq(DbId(c)));
    }
    if let Some(h) = filter.household_id {
        q = q.filter(contacts::household_id.eq(DbId(h)));
    }
    if let Some(k) = filter.kind {
        q = q.filter(contacts::kind.eq(k.as_str()));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(Error::field("from", "after_to", "`from` is after `to`"));
    }
    if let Some(from) = filter.from {
        q = q.filter(contacts::occurred_at.ge(time::to_db(time::start_of_local_day(from))));
    }
    if let Some(to) = filter.to.and_then(|d| d.succ_opt()) {
        q = q.filter(contacts::occurred_at.lt(time::to_db(time::start_of_local_day(to))));
    }
    if let Some(after) = page.after {
        q = q.filter(contacts::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<ContactRow>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(ContactRow::into_contact).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |c| c.id))
}
