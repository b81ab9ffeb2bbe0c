//! Organisations and the contracts through which a government body buys services from one.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::{Versioned, check_version, clean, contains_pattern, parse_id};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{organisations, regions, service_contracts};
use tongxing_store::{DbConnection, DbId, DbText, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

text_enum! {
    pub enum OrganisationKind {
        GovernmentAgency => "government_agency",
        WelfareCentre => "welfare_centre",
        SocialOrganisation => "social_organisation",
        /// A social-work service centre (e.g. a contracted NGO).
        SocialWorkCentre => "social_work_centre",
        /// A village committee or an urban community.
        VillageCommittee => "village_committee",
        School => "school",
        Enterprise => "enterprise",
        Charity => "charity",
        Media => "media",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub kind: OrganisationKind,
    pub region_id: Option<Uuid>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub notes: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct OrganisationInput {
    /// Client-chosen id (UUID); generated when absent. Ignored on update.
    pub id: Option<Uuid>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub kind: OrganisationKind,
    pub region_id: Option<Uuid>,
    #[validate(length(max = 100))]
    #[schema(max_length = 100)]
    pub contact_name: Option<String>,
    #[validate(length(min = 5, max = 20))]
    #[schema(min_length = 5, max_length = 20)]
    pub contact_phone: Option<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct OrganisationFilter {
    pub kind: Option<OrganisationKind>,
    pub q: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = organisations)]
struct Row {
    id: DbId,
    name: String,
    kind: DbText<OrganisationKind>,
    region_id: Option<DbId>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    notes: Option<String>,
    created_at: chrono::NaiveDateTime,
    version: i32,
}

impl Row {
    fn into_organisation(self) -> Result<Organisation> {
        Ok(Organisation {
            id: self.id.0,
            name: self.name,
            kind: self.kind.0,
            region_id: self.region_id.map(Uuid::from),
            contact_name: self.contact_name,
            contact_phone: self.contact_phone,
            notes: self.notes,
            version: self.version,
            created_at: time::from_db(self.created_at),
        })
    }
}

fn check(conn: &mut DbConnection, input: &OrganisationInput) -> Result<()> {
    if input.name.trim().is_empty() {
        return Err(Error::field("name", "blank", "an organisation needs a name"));
    }
    if let Some(phone) = &input.contact_phone
        && !tongxing_core::record::is_dialable(phone)
    {
        return Err(Error::field(
            "contact_phone",
            "format",
            "a phone number has only digits, spaces, + and -",
        ));
    }
    if let Some(r) = input.region_id {
        let n: i64 =
            regions::table.filter(regions::id.eq(DbId(r))).count().get_result(conn).map_err(map_db_error)?;
        if n == 0 {
            return Err(Error::field("region_id", "not_found", "no region with this id"));
        }
    }
    Ok(())
}

pub fn create(conn: &mut DbConnection, input: OrganisationInput) -> Result<Versioned<Organisation>> {
    check(conn, &input)?;
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(organisations::table)
        .values((
            organisations::id.eq(DbId(id)),
            organisations::name.eq(input.name.trim()),
            organisations::kind.eq(input.kind.as_str()),
            organisations::region_id.eq(input.region_id.map(|r| r.to_string())),
            organisations::contact_name.eq(clean(input.contact_name)),
            organisations::contact_phone.eq(clean(input.contact_phone)),
            organisations::notes.eq(clean(input.notes)),
            organisations::created_at.eq(now),
            organisations::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    get(conn, id)
}

pub fn update(
    conn: &mut DbConnection,
    id: Uuid,
    input: OrganisationInput,
    expected: i32,
) -> Result<Versioned<Organisation>> {
    let current = get(conn, id)?;
    check_version(current.version, expected)?;
    check(conn, &input)?;
    let changed = diesel::update(
        organisations::table
            .filter(organisations::id.eq(DbId(id)))
            .filter(organisations::version.eq(expected)),
    )
    .set((
        organisations::name.eq(input.name.trim()),
        organisations::kind.eq(input.kind.as_str()),
        organisations::region_id.eq(input.region_id.map(|r| r.to_string())),
        organisations::contact_name.eq(clean(input.contact_name)),
        organisations::contact_phone.eq(clean(input.contact_phone)),
        organisations::notes.eq(clean(input.notes)),
        organisations::updated_at.eq(time::to_db(time::now())),
        organisations::version.eq(expected + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    get(conn, id)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<Organisation>> {
    let o = organisations::table
        .find(DbId(id))
        .select(Row::as_select())
        .first(conn)
        .map_err(not_found_as("organisation"))?
        .into_organisation()?;
    let version = o.version;
    Ok(Versioned { record: o, version })
}

/// Checks that a referenced organisation exists (422 naming `field` if not).
pub use tongxing_cases::util::require_organisation as require;

pub fn list(
    conn: &mut DbConnection,
    filter: &OrganisationFilter,
    page: PageRequest,
) -> Result<Page<Organisation>> {
    let mut q = organisations::table.select(Row::as_select()).order(organisations::id.asc()).into_boxed();
    if let Some(k) = filter.kind {
        q = q.filter(organisations::kind.eq(k.as_str()));
    }
    if let Some(text) = filter.q.as_deref() {
        q = q.filter(organisations::name.like(contains_pattern(text)).escape('\\'));
    }
    if let Some(after) = page.after {
        q = q.filter(organisations::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<Row>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(Row::into_organisation).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |o| o.id))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceContract {
    pub id: Uuid,
    /// The government body that buys the services.
    pub purchaser_id: Uuid,
    /// The organisation that provides them.
    pub provider_id: Uuid,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub services: Vec<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ServiceContractInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    pub purchaser_id: Uuid,
    pub provider_id: Uuid,
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub starts_on: NaiveDate,
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub ends_on: NaiveDate,
    /// What is bought, e.g. `psychological_counselling`, `guardianship_guidance`.
    #[validate(length(min = 1, max = 20))]
    #[schema(min_items = 1, max_items = 20)]
    pub services: Vec<String>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

pub fn create_contract(conn: &mut DbConnection, input: ServiceContractInput) -> Result<ServiceContract> {
    if input.ends_on < input.starts_on {
        return Err(Error::field("ends_on", "before_start", "the contract ends before it starts"));
    }
    if input.purchaser_id == input.provider_id {
        return Err(Error::field(
            "provider_id",
            "same_as_purchaser",
            "an organisation does not contract with itself",
        ));
    }
    if input.services.iter().any(|s| s.trim().is_empty() || s.len() > 100 || s.contains(',')) {
        return Err(Error::field(
            "services",
            "format",
            "each service is 1 to 100 characters, without commas",
        ));
    }
    let purchaser = get(conn, input.purchaser_id)
        .map_err(|e| e.missing_as_field("purchaser_id", "no organisation with this id"))?;
    if purchaser.record.kind != OrganisationKind::GovernmentAgency {
        return Err(Error::field(
            "purchaser_id",
            "not_government",
            "services are bought by a government agency",
        ));
    }
    require(conn, input.provider_id, "provider_id")?;
    let id = input.id.unwrap_or_else(id::new_id);
    diesel::insert_into(service_contracts::table)
        .values((
            service_contracts::id.eq(DbId(id)),
            service_contracts::purchaser_id.eq(DbId(input.purchaser_id)),
            service_contracts::provider_id.eq(DbId(input.provider_id)),
            service_contracts::starts_on.eq(input.starts_on),
            service_contracts::ends_on.eq(input.ends_on),
            service_contracts::services.eq(input
                .services
                .iter()
                .map(|s| s.trim())
                .collect::<Vec<_>>()
                .join(",")),
            service_contracts::notes.eq(clean(input.notes.clone())),
            service_contracts::created_at.eq(time::to_db(time::now())),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(ServiceContract {
        id,
        purchaser_id: input.purchaser_id,
        provider_id: input.provider_id,
        starts_on: input.starts_on,
        ends_on: input.ends_on,
        services: input.services.iter().map(|s| s.trim().to_owned()).collect(),
        notes: clean(input.notes),
    })
}

type ContractRow = (String, String, String, NaiveDate, NaiveDate, String, Option<String>);

/// The contracts an organisation is party to (as purchaser or provider).
pub fn contracts_of(conn: &mut DbConnection, organisation: Uuid) -> Result<Vec<ServiceContract>> {
    get(conn, organisation)?;
    let o = organisation.to_string();
    let rows: Vec<ContractRow> = service_contracts::table
        .filter(service_contracts::purchaser_id.eq(&o).or(service_contracts::provider_id.eq(&o)))
        .order(service_contracts::starts_on.asc())
        .select((
            service_contracts::id,
            service_contracts::purchaser_id,
            service_contracts::provider_id,
            service_contracts::starts_on,
            service_contracts::ends_on,
            service_contracts::services,
            service_contracts::notes,
        ))
        .load(conn)
        .map_err(map_db_error)?;
    rows.into_iter()
        .map(|(id, purchaser, provider, starts_on, ends_on, services, notes)| {
            Ok(ServiceContract {
                id: parse_id(&id)?,
                purchaser_id: parse_id(&purchaser)?,
                provider_id: parse_id(&provider)?,
                starts_on,
                ends_on,
                services: services.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                notes,
            })
        })
        .collect()
}
