//! Volunteers and their safeguarding clearance, and teams of volunteers.
//!
//! A volunteer is cleared to serve at an event with children on a date when both a background
//! check and child-safety training are recorded and neither has expired by that date.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::error::{FieldError, FieldErrors};
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::{Versioned, check_version, clean, contains_pattern, parse_id, parse_opt_id};
use tongxing_core::role::Role;
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{team_members, teams, volunteers};
use tongxing_store::{DbConnection, DbId, DbText, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::organisations;
use crate::service_forms::{self, ServiceForm};

text_enum! {
    /// Where a volunteer comes from.
    pub enum VolunteerSource {
        SocialOrganisation => "social_organisation",
        Community => "community",
        University => "university",
        Staff => "staff",
    }
}

/// A dated safeguarding record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Clearance {
    /// When it was done.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub on: NaiveDate,
    /// The last day it is valid.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub expires_on: NaiveDate,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Volunteer {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub name: String,
    pub source: VolunteerSource,
    pub organisation_id: Option<Uuid>,
    pub phone: Option<String>,
    /// The service forms the volunteer can deliver.
    pub skills: Vec<ServiceForm>,
    pub background_check: Option<Clearance>,
    pub safety_training: Option<Clearance>,
    /// Cleared today to serve at events with children.
    pub cleared: bool,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct VolunteerInput {
    /// Client-chosen id (UUID); generated when absent. Ignored on update.
    pub id: Option<Uuid>,
    /// The volunteer's own account (a user with the role `volunteer`, linked to no other
    /// volunteer), through which they see the events they are rostered on.
    pub user_id: Option<Uuid>,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub source: VolunteerSource,
    pub organisation_id: Option<Uuid>,
    #[validate(length(min = 5, max = 20))]
    #[schema(min_length = 5, max_length = 20)]
    pub phone: Option<String>,
    #[serde(default)]
    #[validate(length(max = 11))]
    #[schema(max_items = 11)]
    pub skills: Vec<ServiceForm>,
    pub background_check: Option<Clearance>,
    pub safety_training: Option<Clearance>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// What stops a volunteer serving with children on `day`: each missing or expired record.
pub fn clearance_gaps(
    background: Option<Clearance>,
    training: Option<Clearance>,
    day: NaiveDate,
) -> Vec<String> {
    let mut gaps = Vec::new();
    for (what, record) in [("background check", background), ("child-safety training", training)] {
        match record {
            None => gaps.push(format!("{what} missing")),
            Some(c) if c.expires_on < day => gaps.push(format!("{what} expired on {}", c.expires_on)),
            Some(_) => {}
        }
    }
    gaps
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = volunteers)]
struct Row {
    id: DbId,
    user_id: Option<DbId>,
    name: String,
    source: DbText<VolunteerSource>,
    organisation_id: Option<DbId>,
    phone: Option<String>,
    skills: String,
    background_check_on: Option<NaiveDate>,
    background_check_expires_on: Option<NaiveDate>,
    safety_training_on: Option<NaiveDate>,
    safety_training_expires_on: Option<NaiveDate>,
    active: bool,
    created_at: chrono::NaiveDateTime,
    version: i32,
}

fn clearance(on: Option<NaiveDate>, expires_on: Option<NaiveDate>) -> Option<Clearance> {
    Some(Clearance { on: on?, expires_on: expires_on? })
}

impl Row {
    fn into_volunteer(self, today: NaiveDate) -> Result<Volunteer> {
        let background_check = clearance(self.background_check_on, self.background_check_expires_on);
        let safety_training = clearance(self.safety_training_on, self.safety_training_expires_on);
        Ok(Volunteer {
            id: self.id.0,
            user_id: self.user_id.map(Uuid::from),
            name: self.name,
            source: self.source.0,
            organisation_id: self.organisation_id.map(Uuid::from),
            phone: self.phone,
            skills: service_forms::from_db(&self.skills)?,
            cleared: clearance_gaps(background_check, safety_training, today).is_empty(),
            background_check,
            safety_training,
            active: self.active,
            version: self.version,
            created_at: time::from_db(self.created_at),
        })
    }
}

fn check(conn: &mut DbConnection, input: &VolunteerInput) -> Result<()> {
    let mut errs = FieldErrors::new();
    if input.name.trim().is_empty() {
        errs.push("name", "blank", "a volunteer needs a name");
    }
    if let Some(phone) = &input.phone
        && !tongxing_core::record::is_dialable(phone)
    {
        errs.push("phone", "format", "a phone number has only digits, spaces, + and -");
    }
    for (field, c) in
        [("background_check", input.background_check), ("safety_training", input.safety_training)]
    {
        if let Some(c) = c {
            if c.expires_on < c.on {
                errs.push(&format!("{field}.expires_on"), "before_done", "it expires before it was done");
            }
            if c.on > time::today() {
                errs.push(&format!("{field}.on"), "in_future", "it cannot be done in the future");
            }
        }
    }
    errs.finish()?;
    if let Some(o) = input.organisation_id {
        organisations::require(conn, o, "organisation_id")?;
    }
    if let Some(u) = input.user_id
        && tongxing_accounts::users::role_of(conn, u)? != Some(Role::Volunteer)
    {
        return Err(Error::field("user_id", "not_found", "no volunteer account with this id"));
    }
    Ok(())
}

pub fn create(conn: &mut DbConnection, input: VolunteerInput) -> Result<Versioned<Volunteer>> {
    check(conn, &input)?;
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(volunteers::table)
        .values((
            volunteers::id.eq(DbId(id)),
            volunteers::user_id.eq(input.user_id.map(|u| u.to_string())),
            volunteers::name.eq(input.name.trim()),
            volunteers::source.eq(input.source.as_str()),
            volunteers::organisation_id.eq(input.organisation_id.map(|o| o.to_string())),
            volunteers::phone.eq(clean(input.phone)),
            volunteers::skills.eq(service_forms::to_db(&input.skills)),
            volunteers::background_check_on.eq(input.background_check.map(|c| c.on)),
            volunteers::background_check_expires_on.eq(input.background_check.map(|c| c.expires_on)),
            volunteers::safety_training_on.eq(input.safety_training.map(|c| c.on)),
            volunteers::safety_training_expires_on.eq(input.safety_training.map(|c| c.expires_on)),
            volunteers::active.eq(input.active),
            volunteers::created_at.eq(now),
            volunteers::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    get(conn, id)
}

pub fn update(
    conn: &mut DbConnection,
    id: Uuid,
    input: VolunteerInput,
    expected: i32,
) -> Result<Versioned<Volunteer>> {
    let current = get(conn, id)?;
    check_version(current.version, expected)?;
    check(conn, &input)?;
    let changed = diesel::update(
        volunteers::table.filter(volunteers::id.eq(DbId(id))).filter(volunteers::version.eq(expected)),
    )
    .set((
        volunteers::user_id.eq(input.user_id.map(|u| u.to_string())),
        volunteers::name.eq(input.name.trim()),
        volunteers::source.eq(input.source.as_str()),
        volunteers::organisation_id.eq(input.organisation_id.map(|o| o.to_string())),
        volunteers::phone.eq(clean(input.phone)),
        volunteers::skills.eq(service_forms::to_db(&input.skills)),
        volunteers::background_check_on.eq(input.background_check.map(|c| c.on)),
        volunteers::background_check_expires_on.eq(input.background_check.map(|c| c.expires_on)),
        volunteers::safety_training_on.eq(input.safety_training.map(|c| c.on)),
        volunteers::safety_training_expires_on.eq(input.safety_training.map(|c| c.expires_on)),
        volunteers::active.eq(input.active),
        volunteers::updated_at.eq(time::to_db(time::now())),
        volunteers::version.eq(expected + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    get(conn, id)
}

pub fn get(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<Volunteer>> {
    let v = volunteers::table
        .find(DbId(id))
        .select(Row::as_select())
        .first(conn)
        .map_err(not_found_as("volunteer"))?
        .into_volunteer(time::today())?;
    let version = v.version;
    Ok(Versioned { record: v, version })
}

#[derive(Debug, Clone, Default)]
pub struct VolunteerFilter {
    pub organisation_id: Option<Uuid>,
    pub source: Option<VolunteerSource>,
    pub skill: Option<ServiceForm>,
    pub q: Option<String>,
    /// Only volunteers whose check or training expires within this many days (or already has,
    /// or is missing), soonest first.
    pub clearance_expiring_within_days: Option<i64>,
}

pub fn list(conn: &mut DbConnection, filter: &VolunteerFilter, page: PageRequest) -> Result<Page<Volunteer>> {
    let today = time::today();
    let mut q = volunteers::table.select(Row::as_select()).order(volunteers::id.asc()).into_boxed();
    if let Some(o) = filter.organisation_id {
        q = q.filter(volunteers::organisation_id.eq(DbId(o)));
    }
    if let Some(s) = filter.source {
        q = q.filter(volunteers::source.eq(s.as_str()));
    }
    if let Some(skill) = filter.skill {
        q = q.filter(volunteers::skills.like(contains_pattern(skill.as_str())).escape('\\'));
    }
    if let Some(text) = filter.q.as_deref() {
        q = q.filter(volunteers::name.like(contains_pattern(text)).escape('\\'));
    }
    if let Some(days) = filter.clearance_expiring_within_days {
        if !(0..=3650).contains(&days) {
            return Err(Error::of_field(
                FieldError::new("clearance_expiring_within_days", "out_of_range", "between 0 and 3650 days")
                    .with("min", 0)
                    .with("max", 3650),
            ));
        }
        let horizon = today + chrono::Duration::days(days);
        q = q.filter(volunteers::active.eq(true)).filter(
            volunteers::background_check_expires_on
                .is_null()
                .or(volunteers::background_check_expires_on.le(horizon))
                .or(volunteers::safety_training_expires_on.is_null())
                .or(volunteers::safety_training_expires_on.le(horizon)),
        );
    }
    if let Some(after) = page.after {
        q = q.filter(volunteers::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<Row>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(|r| r.into_volunteer(today)).collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |v| v.id))
}

/// The clearance of a volunteer: their name and their records, for rostering.
pub fn clearance_of(
    conn: &mut DbConnection,
    id: Uuid,
    field: &str,
) -> Result<(String, bool, Option<Clearance>, Option<Clearance>)> {
    let v = get(conn, id).map_err(|e| e.missing_as_field(field, "no volunteer with this id"))?.record;
    Ok((v.name, v.active, v.background_check, v.safety_training))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub organisation_id: Option<Uuid>,
    pub description: Option<String>,
    pub volunteer_ids: Vec<Uuid>,
    pub version: i32,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    /// Client-chosen id (UUID); generated when absent. Ignored on update.
    pub id: Option<Uuid>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub organisation_id: Option<Uuid>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[serde(default)]
    #[validate(length(max = 500))]
    #[schema(max_items = 500)]
    pub volunteer_ids: Vec<Uuid>,
}

fn set_members(conn: &mut DbConnection, team: Uuid, members: &[Uuid]) -> Result<()> {
    diesel::delete(team_members::table.filter(team_members::team_id.eq(DbId(team))))
        .execute(conn)
        .map_err(map_db_error)?;
    let mut seen = std::collections::HashSet::new();
    for (i, v) in members.iter().enumerate() {
        if !seen.insert(*v) {
            continue;
        }
        let n: i64 = volunteers::table
            .filter(volunteers::id.eq(v.to_string()))
            .count()
            .get_result(conn)
            .map_err(map_db_error)?;
        if n == 0 {
            return Err(Error::field(
                &format!("volunteer_ids[{i}]"),
                "not_found",
                "no volunteer with this id",
            ));
        }
        diesel::insert_into(team_members::table)
            .values((team_members::team_id.eq(DbId(team)), team_members::volunteer_id.eq(v.to_string())))
            .execute(conn)
            .map_err(map_db_error)?;
    }
    Ok(())
}

pub fn create_team(conn: &mut DbConnection, input: TeamInput) -> Result<Versioned<Team>> {
    if let Some(o) = input.organisation_id {
        organisations::require(conn, o, "organisation_id")?;
    }
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(teams::table)
        .values((
            teams::id.eq(DbId(id)),
            teams::name.eq(input.name.trim()),
            teams::organisation_id.eq(input.organisation_id.map(|o| o.to_string())),
            teams::description.eq(clean(input.description)),
            teams::created_at.eq(now),
            teams::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    set_members(conn, id, &input.volunteer_ids)?;
    get_team(conn, id)
}

pub fn update_team(
    conn: &mut DbConnection,
    id: Uuid,
    input: TeamInput,
    expected: i32,
) -> Result<Versioned<Team>> {
    let current = get_team(conn, id)?;
    check_version(current.version, expected)?;
    if let Some(o) = input.organisation_id {
        organisations::require(conn, o, "organisation_id")?;
    }
    let changed =
        diesel::update(teams::table.filter(teams::id.eq(DbId(id))).filter(teams::version.eq(expected)))
            .set((
                teams::name.eq(input.name.trim()),
                teams::organisation_id.eq(input.organisation_id.map(|o| o.to_string())),
                teams::description.eq(clean(input.description)),
                teams::updated_at.eq(time::to_db(time::now())),
                teams::version.eq(expected + 1),
            ))
            .execute(conn)
            .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    set_members(conn, id, &input.volunteer_ids)?;
    get_team(conn, id)
}

pub fn get_team(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<Team>> {
    let row: (String, String, Option<String>, Option<String>, i32) = teams::table
        .find(DbId(id))
        .select((teams::id, teams::name, teams::organisation_id, teams::description, teams::version))
        .first(conn)
        .map_err(not_found_as("team"))?;
    let mut teams = assemble_teams(conn, vec![row])?;
    let t = teams.pop().ok_or_else(|| Error::internal("team vanished"))?;
    let version = t.version;
    Ok(Versioned { record: t, version })
}

type TeamRow = (String, String, Option<String>, Option<String>, i32);

pub fn list_teams(conn: &mut DbConnection, page: PageRequest) -> Result<Page<Team>> {
    let mut q = teams::table
        .select((teams::id, teams::name, teams::organisation_id, teams::description, teams::version))
        .order(teams::id.asc())
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(teams::id.gt(DbId(after)));
    }
    let rows: Vec<TeamRow> = q.limit(page.fetch()).load(conn).map_err(map_db_error)?;
    let items = assemble_teams(conn, rows)?;
    Ok(Page::from_rows(items, page.limit, |t| t.id))
}

fn assemble_teams(conn: &mut DbConnection, rows: Vec<TeamRow>) -> Result<Vec<Team>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let members: Vec<(String, String)> = team_members::table
        .filter(team_members::team_id.eq_any(&ids))
        .order((team_members::team_id, team_members::volunteer_id))
        .select((team_members::team_id, team_members::volunteer_id))
        .load(conn)
        .map_err(map_db_error)?;
    let mut by_team: HashMap<String, Vec<Uuid>> = HashMap::new();
    for (t, v) in members {
        by_team.entry(t).or_default().push(parse_id(&v)?);
    }
    rows.into_iter()
        .map(|(id, name, organisation_id, description, version)| {
            Ok(Team {
                volunteer_ids: by_team.remove(&id).unwrap_or_default(),
                id: parse_id(&id)?,
                name,
                organisation_id: parse_opt_id(organisation_id.as_deref())?,
                description,
                version,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn clearance_needs_both_records_valid_on_the_day() {
        let check = Some(Clearance { on: d(2023, 1, 1), expires_on: d(2024, 1, 1) });
        let training = Some(Clearance { on: d(2023, 3, 1), expires_on: d(2023, 11, 10) });
        assert!(clearance_gaps(check, training, d(2023, 11, 10)).is_empty(), "valid on its last day");
        assert_eq!(
            clearance_gaps(check, training, d(2023, 11, 11)),
            ["child-safety training expired on 2023-11-10"]
        );
        assert_eq!(clearance_gaps(None, training, d(2023, 11, 1)), ["background check missing"]);
        assert_eq!(clearance_gaps(None, None, d(2023, 11, 1)).len(), 2);
    }
}
