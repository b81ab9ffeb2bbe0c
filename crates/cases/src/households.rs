//! Households and their guardians. A household lives in a village or community; its guardians
//! (often grandparents of a left-behind child) are kept in the order given.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::access::Scope;
use tongxing_core::error::FieldErrors;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{guardians, households, regions};
use tongxing_store::{DbConnection, DbId, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::regions::{RegionLevel, subtree_ids, subtree_prefix};
use crate::scope::{self, Access};
use crate::util::{Versioned, check_version, clean, contains_pattern, not_found_as, parse_id};

text_enum! {
    /// How a guardian is related to the children of the household.
    pub enum Relation {
        Father => "father",
        Mother => "mother",
        Grandfather => "grandfather",
        Grandmother => "grandmother",
        Sibling => "sibling",
        OtherRelative => "other_relative",
        FosterParent => "foster_parent",
        /// A welfare institution acting as guardian.
        Institution => "institution",
        Other => "other",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Guardian {
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub relation: Relation,
    /// Digits, spaces, `+` and `-` only.
    #[validate(length(min = 5, max = 20))]
    #[schema(min_length = 5, max_length = 20)]
    pub phone: Option<String>,
    /// The guardian to reach first; at most one per household.
    #[serde(default)]
    pub is_primary: bool,
    /// Whether this guardian works away from home (a parent working in a city, for example).
    #[serde(default)]
    pub works_away: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Household {
    pub id: Uuid,
    /// The village or community the household lives in.
    pub region_id: Uuid,
    /// Sensitive: households (with addresses and guardians' phone numbers) are reached only by
    /// admins, coordinators and caseworkers.
    pub address: Option<String>,
    /// Whether the children's parents work away from home (the mark of a left-behind child).
    pub parents_work_away: bool,
    pub notes: Option<String>,
    pub guardians: Vec<Guardian>,
    /// The version that `ETag` and `If-Match` carry.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct HouseholdInput {
    /// Client-chosen id (UUID) for safe offline creation; generated when absent. Ignored on update.
    pub id: Option<Uuid>,
    pub region_id: Uuid,
    #[validate(length(max = 300))]
    #[schema(max_length = 300)]
    pub address: Option<String>,
    #[serde(default)]
    pub parents_work_away: bool,
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub notes: Option<String>,
    #[validate(length(max = 10), nested)]
    #[schema(max_items = 10)]
    #[serde(default)]
    pub guardians: Vec<Guardian>,
}

#[derive(Debug, Clone, Default)]
pub struct HouseholdFilter {
    pub region_id: Option<Uuid>,
    /// Text in the address or a guardian's name.
    pub q: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = households)]
struct HouseholdRow {
    id: String,
    region_id: String,
    address: Option<String>,
    parents_work_away: bool,
    notes: Option<String>,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    version: i32,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = guardians)]
struct GuardianRow {
    household_id: String,
    name: String,
    relation: String,
    phone: Option<String>,
    is_primary: bool,
    works_away: bool,
}

/// Checks what the shape checks cannot: phone characters and at most one primary guardian.
pub fn check_guardians(list: &[Guardian]) -> Result<()> {
    let mut errs = FieldErrors::new();
    for (i, g) in list.iter().enumerate() {
        if let Some(phone) = &g.phone
            && !tongxing_core::record::is_dialable(phone)
        {
            errs.push(
                &format!("guardians[{i}].phone"),
                "format",
                "a phone number has only digits, spaces, + and -",
            );
        }
        if g.name.trim().is_empty() {
            errs.push(&format!("guardians[{i}].name"), "blank", "a guardian needs a name");
        }
    }
    if list.iter().filter(|g| g.is_primary).count() > 1 {
        errs.push("guardians", "several_primary", "at most one guardian is the primary one");
    }
    errs.finish()
}

/// The region must exist and be a village or community.
pub fn check_village(conn: &mut DbConnection, region_id: Uuid) -> Result<()> {
    let level: Option<String> = regions::table
        .find(DbId(region_id))
        .select(regions::level)
        .first(conn)
        .optional()
        .map_err(map_db_error)?;
    match level.as_deref() {
        None => Err(Error::field("region_id", "not_found", "no region with this id")),
        Some(l) if l != RegionLevel::Village.as_str() => {
            Err(Error::field("region_id", "not_village", "the region must be a village or community"))
        }
        Some(_) => Ok(()),
    }
}

/// The checks [`create`] makes, without writing: for an import's dry run.
pub fn check_new(conn: &mut DbConnection, scope: &Scope, input: &HouseholdInput) -> Result<()> {
    check_guardians(&input.guardians)?;
    check_village(conn, input.region_id)?;
    scope::region_reference(conn, scope, input.region_id, "region_id")
}

pub fn create(conn: &mut DbConnection, scope: &Scope, input: HouseholdInput) -> Result<Versioned<Household>> {
    check_new(conn, scope, &input)?;
    let actor = scope.actor();
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(households::table)
        .values((
            households::id.eq(DbId(id)),
            households::region_id.eq(DbId(input.region_id)),
            households::address.eq(clean(input.address)),
            households::parents_work_away.eq(input.parents_work_away),
            households::notes.eq(clean(input.notes)),
            households::created_by.eq(DbId(actor)),
            households::created_at.eq(now),
            households::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    insert_guardians(conn, id, &input.guardians)?;
    load(conn, id)
}

fn insert_guardians(conn: &mut DbConnection, household: Uuid, list: &[Guardian]) -> Result<()> {
    for (position, g) in list.iter().enumerate() {
        diesel::insert_into(guardians::table)
            .values((
                guardians::id.eq(id::new_id().to_string()),
                guardians::household_id.eq(DbId(household)),
                guardians::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
                guardians::name.eq(g.name.trim()),
                guardians::relation.eq(g.relation.as_str()),
                guardians::phone.eq(clean(g.phone.clone())),
                guardians::is_primary.eq(g.is_primary),
                guardians::works_away.eq(g.works_away),
            ))
            .execute(conn)
            .map_err(map_db_error)?;
    }
    Ok(())
}

/// Replaces the household's fields and guardians, if `expected_version` is still current.
/// Answers the record before and after.
pub fn update(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    input: HouseholdInput,
    expected_version: i32,
) -> Result<(Versioned<Household>, Versioned<Household>)> {
    scope::require_household(conn, scope, Access::Write, id)?;
    check_guardians(&input.guardians)?;
    let current = load(conn, id)?;
    check_version(current.version, expected_version)?;
    check_village(conn, input.region_id)?;
    scope::region_reference(conn, scope, input.region_id, "region_id")?;
    let changed = diesel::update(
        households::table
            .filter(households::id.eq(DbId(id)))
            .filter(households::version.eq(expected_version)),
    )
    .set((
        households::region_id.eq(DbId(input.region_id)),
        households::address.eq(clean(input.address)),
        households::parents_work_away.eq(input.parents_work_away),
        households::notes.eq(clean(input.notes)),
        households::updated_at.eq(time::to_db(time::now())),
        households::version.eq(expected_version + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    diesel::delete(guardians::table.filter(guardians::household_id.eq(DbId(id))))
        .execute(conn)
        .map_err(map_db_error)?;
    insert_guardians(conn, id, &input.guardians)?;
    Ok((current, load(conn, id)?))
}

/// The household, if the caller reaches it; otherwise not found.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<Household>> {
    scope::require_household(conn, scope, Access::Read, id)?;
    load(conn, id)
}

fn load(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<Household>> {
    let row = households::table
        .find(DbId(id))
        .select(HouseholdRow::as_select())
        .first(conn)
        .map_err(not_found_as("household"))?;
    let mut list = assemble(conn, vec![row])?;
    let household = list.pop().ok_or_else(|| Error::internal("household vanished"))?;
    let version = household.version;
    Ok(Versioned { record: household, version })
}

/// The children of these households that the caller reaches, for the access history: a
/// household's record (its address, its guardians' phones) is about its children.
pub fn children_of(conn: &mut DbConnection, scope: &Scope, households: &[Uuid]) -> Result<Vec<Uuid>> {
    use tongxing_store::schema::children;
    let ids: Vec<String> = households.iter().map(Uuid::to_string).collect();
    let mut q = children::table.filter(children::household_id.eq_any(&ids)).select(children::id).into_boxed();
    if let Some(cond) = scope::child_column(conn, scope, "children.id")? {
        q = q.filter(cond);
    }
    q.load::<String>(conn).map_err(map_db_error)?.iter().map(|c| parse_id(c)).collect()
}

/// The records in `scope` that match `filter`.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &HouseholdFilter,
    page: PageRequest,
) -> Result<Page<Household>> {
    let mut q = households::table.select(HouseholdRow::as_select()).order(households::id.asc()).into_boxed();
    if let Some(cond) = scope::household_column(conn, scope, "households.id")? {
        q = q.filter(cond);
    }
    if let Some(region) = filter.region_id {
        let prefix = subtree_prefix(conn, region, "region_id")?;
        q = q.filter(households::region_id.eq_any(subtree_ids(prefix)));
    }
    if let Some(text) = filter.q.as_deref() {
        let p = contains_pattern(text);
        let by_guardian = guardians::table
            .select(guardians::household_id)
            .filter(guardians::name.like(p.clone()).escape('\\'));
        q = q.filter(households::address.like(p).escape('\\').or(households::id.eq_any(by_guardian)));
    }
    if let Some(after) = page.after {
        q = q.filter(households::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<HouseholdRow>(conn).map_err(map_db_error)?;
    let items = assemble(conn, rows)?;
    Ok(Page::from_rows(items, page.limit, |h| h.id))
}

/// Joins households with their guardians in one query for the whole page.
fn assemble(conn: &mut DbConnection, rows: Vec<HouseholdRow>) -> Result<Vec<Household>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let guardian_rows = guardians::table
        .filter(guardians::household_id.eq_any(&ids))
        .order((guardians::household_id, guardians::position))
        .select(GuardianRow::as_select())
        .load::<GuardianRow>(conn)
        .map_err(map_db_error)?;
    let mut by_household: HashMap<String, Vec<Guardian>> = HashMap::new();
    for g in guardian_rows {
        by_household.entry(g.household_id).or_default().push(Guardian {
            name: g.name,
            relation: Relation::from_db(&g.relation)?,
            phone: g.phone,
            is_primary: g.is_primary,
            works_away: g.works_away,
        });
    }
    rows.into_iter()
        .map(|r| {
            Ok(Household {
                id: parse_id(&r.id)?,
                region_id: parse_id(&r.region_id)?,
                address: r.address,
                parents_work_away: r.parents_work_away,
                notes: r.notes,
                guardians: by_household.remove(&r.id).unwrap_or_default(),
                version: r.version,
                created_at: time::from_db(r.created_at),
                updated_at: time::from_db(r.updated_at),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guardian(primary: bool, phone: Option<&str>) -> Guardian {
        Guardian {
            name: "王奶奶".into(),
            relation: Relation::Grandmother,
            phone: phone.map(str::to_owned),
            is_primary: primary,
            works_away: false,
        }
    }

    #[test]
    fn at_most_one_primary_guardian() {
        assert!(check_guardians(&[guardian(true, None), guardian(false, None)]).is_ok());
        assert!(check_guardians(&[guardian(true, None), guardian(true, None)]).is_err());
    }

    #[test]
    fn phone_numbers_hold_only_dialable_characters() {
        assert!(check_guardians(&[guardian(false, Some("+86 138-0000-0000"))]).is_ok());
        assert!(check_guardians(&[guardian(false, Some("138'; DROP"))]).is_err());
    }
}
