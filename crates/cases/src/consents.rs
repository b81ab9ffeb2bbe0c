//! Guardian consent: what was consented to, by whom, when, and when it was withdrawn. The data
//! of children under 14 is sensitive personal information; processing and sharing it rests on
//! these records.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::Code;
use tongxing_core::access::Scope;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::consents;
use tongxing_store::{DbConnection, DbId, DbText, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::households::Relation;
use crate::scope::{self, Access};
use crate::util::{Versioned, check_version, clean, not_found_as, parse_id};

text_enum! {
    /// What the guardian consented to.
    pub enum ConsentPurpose {
        /// Opening and keeping a case file.
        CaseFile => "case_file",
        /// Sharing the case with a named partner organisation.
        DataSharing => "data_sharing",
        PhotosAndMedia => "photos_and_media",
        /// A mentor taking the child home on a statutory holiday.
        HomeVisit => "home_visit",
        Counselling => "counselling",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Consent {
    pub id: Uuid,
    pub child_id: Uuid,
    pub purpose: ConsentPurpose,
    /// The organisation the case may be shared with (for `data_sharing`).
    pub organisation_id: Option<Uuid>,
    pub given_by_name: String,
    pub given_by_relation: Relation,
    pub given_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawal_reason: Option<String>,
    /// True while the consent stands (given and not withdrawn).
    pub active: bool,
    pub notes: Option<String>,
    pub recorded_by: Uuid,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    pub child_id: Uuid,
    pub purpose: ConsentPurpose,
    /// Required for `data_sharing`, refused otherwise.
    pub organisation_id: Option<Uuid>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub given_by_name: String,
    pub given_by_relation: Relation,
    /// When consent was given (RFC 3339 with a zone); not in the future.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub given_at: DateTime<Utc>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {
    /// When consent was withdrawn; now when absent.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub withdrawn_at: Option<DateTime<Utc>>,
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct ConsentFilter {
    pub child_id: Option<Uuid>,
    pub purpose: Option<ConsentPurpose>,
    /// Only standing (true) or only withdrawn (false) consents.
    pub active: Option<bool>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = consents)]
struct ConsentRow {
    id: DbId,
    child_id: DbId,
    purpose: DbText<ConsentPurpose>,
    organisation_id: Option<DbId>,
    given_by_name: String,
    given_by_relation: DbText<Relation>,
    given_at: chrono::NaiveDateTime,
    withdrawn_at: Option<chrono::NaiveDateTime>,
    withdrawal_reason: Option<String>,
    notes: Option<String>,
    recorded_by: String,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    version: i32,
}

impl ConsentRow {
    fn into_consent(self) -> Result<Consent> {
        Ok(Consent {
            id: self.id.0,
            child_id: self.child_id.0,
            purpose: self.purpose.0,
            organisation_id: self.organisation_id.map(Uuid::from),
            given_by_name: self.given_by_name,
            given_by_relation: self.given_by_relation.0,
            given_at: time::from_db(self.given_at),
            active: self.withdrawn_at.is_none(),
            withdrawn_at: self.withdrawn_at.map(time::from_db),
            withdrawal_reason: self.withdrawal_reason,
            notes: self.notes,
            recorded_by: parse_id(&self.recorded_by)?,
            version: self.version,
            created_at: time::from_db(self.created_at),
            updated_at: time::from_db(self.updated_at),
        })
    }
}

/// Records consent for a child whose case file the caller holds.
pub fn create(conn: &mut DbConnection, scope: &Scope, input: ConsentInput) -> Result<Versioned<Consent>> {
    let actor = scope.actor();
    let now = time::now();
    if time::is_future(input.given_at, now) {
        return Err(Error::field("given_at", "in_future", "consent cannot be given in the future"));
    }
    match (input.purpose, input.organisation_id) {
        (ConsentPurpose::DataSharing, None) => {
            return Err(Error::field(
                "organisation_id",
                "required",
                "sharing consent names the organisation",
            ));
        }
        (p, Some(_)) if p != ConsentPurpose::DataSharing => {
            return Err(Error::field(
                "organisation_id",
                "not_allowed",
                "only sharing consent names an organisation",
            ));
        }
        (_, Some(o)) => crate::util::require_organisation(conn, o, "organisation_id")?,
        _ => {}
    }
    scope::child_reference(conn, scope, Access::Write, input.child_id, "child_id")?;
    let id = input.id.unwrap_or_else(id::new_id);
    let stamp = time::to_db(now);
    diesel::insert_into(consents::table)
        .values((
            consents::id.eq(DbId(id)),
            consents::child_id.eq(DbId(input.child_id)),
            consents::purpose.eq(input.purpose.as_str()),
            consents::organisation_id.eq(input.organisation_id.map(|o| o.to_string())),
            consents::given_by_name.eq(input.given_by_name.trim()),
            consents::given_by_relation.eq(input.given_by_relation.as_str()),
            consents::given_at.eq(time::to_db(input.given_at)),
            consents::notes.eq(clean(input.notes)),
            consents::recorded_by.eq(DbId(actor)),
            consents::created_at.eq(stamp),
            consents::updated_at.eq(stamp),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    load(conn, id)
}

/// Withdraws a standing consent; a consent is withdrawn once. Answers the record before and
/// after.
pub fn withdraw(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    w: Withdrawal,
    expected_version: Option<i32>,
) -> Result<(Versioned<Consent>, Versioned<Consent>)> {
    let current = get(conn, scope, id)?;
    scope::require_child(conn, scope, Access::Write, current.record.child_id, "consent")?;
    if let Some(v) = expected_version {
        check_version(current.version, v)?;
    }
    if !current.record.active {
        return Err(Error::conflict(Code::AlreadyWithdrawn, "this consent has already been withdrawn"));
    }
    let now = time::now();
    let at = w.withdrawn_at.unwrap_or(now);
    if time::is_future(at, now) {
        return Err(Error::field("withdrawn_at", "in_future", "the withdrawal cannot be in the future"));
    }
    if at < current.record.given_at {
        return Err(Error::field(
            "withdrawn_at",
            "before_given",
            "consent cannot be withdrawn before it was given",
        ));
    }
    let changed = diesel::update(
        consents::table.filter(consents::id.eq(DbId(id))).filter(consents::version.eq(current.version)),
    )
    .set((
        consents::withdrawn_at.eq(Some(time::to_db(at))),
        consents::withdrawal_reason.eq(Some(w.reason.trim())),
        consents::updated_at.eq(time::to_db(now)),
        consents::version.eq(current.version + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    Ok((current, load(conn, id)?))
}

/// The consent, if the caller reaches its child; otherwise not found.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<Consent>> {
    let mut q =
        consents::table.filter(consents::id.eq(DbId(id))).select(ConsentRow::as_select()).into_boxed();
    if let Some(cond) = scope::child_column(conn, scope, "consents.child_id")? {
        q = q.filter(cond);
    }
    let consent = q.first(conn).map_err(not_found_as("consent"))?.into_consent()?;
    let version = consent.version;
    Ok(Versioned { record: consent, version })
}

fn load(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<Consent>> {
    let consent = consents::table
        .find(DbId(id))
        .select(ConsentRow::as_select())
        .first(conn)
        .map_err(not_found_as("consent"))?
        .into_consent()?;
    let version = consent.version;
    Ok(Versioned { record: consent, version })
}

/// The records in `scope` that match `filter`.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &ConsentFilter,
    page: PageRequest,
) -> Result<Page<Consent>> {
    let mut q = consents::table.select(ConsentRow::as_select()).order(consents::id.asc()).into_boxed();
    if let Some(cond) = scope::child_column(conn, scope, "consents.child_id")? {
        q = q.filter(cond);
    }
    if let Some(c) = filter.child_id {
        q = q.filter(consents::child_id.eq(DbId(c)));
    }
    if let Some(p) = filter.purpose {
        q = q.filter(consents::purpose.eq(p.as_str()));
    }
    q = match filter.active {
        Some(true) => q.filter(consents::withdrawn_at.is_null()),
        Some(false) => q.filter(consents::withdrawn_at.is_not_null()),
        None => q,
    };
    if let Some(after) = page.after {
        q = q.filter(consents::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<ConsentRow>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(ConsentRow::into_consent).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |c| c.id))
}
