//! Events: `planned → held → reported`, or `cancelled` with a reason. An event is marked held
//! only with at least one rostered volunteer. The villages an event reached are derived from
//! the attending children's villages, never typed in.

use std::collections::HashMap;
use tongxing_core::Code;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_cases::households::check_village;
use tongxing_cases::regions::{subtree_ids, subtree_prefix};
use tongxing_core::access::{Reach, Scope};
use tongxing_core::error::{FieldError, FieldErrors};
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::{Versioned, check_version, clean, contains_pattern, parse_id};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{
    children, event_attendance, event_partners, event_roster, events, regions, volunteers,
};
use tongxing_store::{DbConnection, DbId, DbText, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::organisations;
use crate::service_forms::{self, ServiceForm};

text_enum! {
    pub enum EventType {
        QuarterlyTheme => "quarterly_theme",
        Care => "care",
        VisitAndComfort => "visit_and_comfort",
        MentalHealthConsultation => "mental_health_consultation",
        Other => "other",
    }
}

text_enum! {
    pub enum Programme {
        /// "1+1" care-and-comfort pairing.
        OnePlusOne => "one_plus_one",
        /// "5+N" escort action.
        FivePlusN => "five_plus_n",
        /// "1+N" heart-care action.
        OnePlusN => "one_plus_n",
    }
}

text_enum! {
    pub enum EventStatus {
        Planned => "planned",
        Held => "held",
        Reported => "reported",
        Cancelled => "cancelled",
    }
}

/// A village or community an event reached.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VillageReached {
    pub region_id: Uuid,
    pub name: String,
    /// Attending children from there.
    pub children: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub id: Uuid,
    pub title: String,
    pub theme: Option<String>,
    pub event_type: EventType,
    pub programme: Programme,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The village or community where it took place.
    pub region_id: Uuid,
    pub address: Option<String>,
    pub organiser_id: Uuid,
    pub partner_ids: Vec<Uuid>,
    /// Whether children take part (volunteers then need safeguarding clearance).
    pub with_children: bool,
    pub service_forms: Vec<ServiceForm>,
    /// Other participants, e.g. parents at a public consultation.
    pub other_participants: i32,
    pub status: EventStatus,
    pub cancel_reason: Option<String>,
    pub notes: Option<String>,
    pub volunteers_rostered: i64,
    pub volunteer_hours: f64,
    pub children_attended: i64,
    pub guardians_present: i64,
    /// Derived from the attending children's villages.
    pub villages_reached: Vec<VillageReached>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Client-chosen id (UUID); generated when absent. Ignored on update.
    pub id: Option<Uuid>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    #[validate(length(max = 200))]
    #[schema(max_length = 200)]
    pub theme: Option<String>,
    pub event_type: EventType,
    pub programme: Programme,
    /// At most 20 years ago, at most 5 years ahead.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub starts_at: DateTime<Utc>,
    /// Not before `starts_at`, at most 31 days after it, and inside the same window.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub ends_at: DateTime<Utc>,
    /// A village or community.
    pub region_id: Uuid,
    #[validate(length(max = 300))]
    #[schema(max_length = 300)]
    pub address: Option<String>,
    pub organiser_id: Uuid,
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    pub partner_ids: Vec<Uuid>,
    #[serde(default = "yes")]
    pub with_children: bool,
    #[serde(default)]
    #[validate(length(max = 11))]
    #[schema(max_items = 11)]
    pub service_forms: Vec<ServiceForm>,
    #[serde(default)]
    #[validate(range(min = 0, max = 100000))]
    #[schema(minimum = 0, maximum = 100000)]
    pub other_participants: i32,
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub notes: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct EventStatusChange {
    /// `held`, `reported` or `cancelled`.
    pub status: EventStatus,
    /// Required to cancel.
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub event_type: Option<EventType>,
    pub programme: Option<Programme>,
    pub status: Option<EventStatus>,
    pub region_id: Option<Uuid>,
    /// As organiser or partner.
    pub organisation_id: Option<Uuid>,
    pub service_form: Option<ServiceForm>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = events)]
struct Row {
    id: String,
    title: String,
    theme: Option<String>,
    event_type: DbText<EventType>,
    programme: DbText<Programme>,
    starts_at: chrono::NaiveDateTime,
    ends_at: chrono::NaiveDateTime,
    region_id: String,
    address: Option<String>,
    organiser_id: String,
    with_children: bool,
    service_forms: String,
    other_participants: i32,
    status: DbText<EventStatus>,
    cancel_reason: Option<String>,
    notes: Option<String>,
    created_at: chrono::NaiveDateTime,
    version: i32,
}

/// The status rule: what a change needs and leads to.
pub fn plan(
    from: EventStatus,
    change: &EventStatusChange,
    rostered: i64,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    use EventStatus::*;
    match (from, change.status) {
        (Planned, Held) if rostered == 0 => {
            Err(Error::conflict(Code::NoVolunteers, "an event is held with at least one rostered volunteer"))
        }
        (Planned, Held) if starts_at > now => {
            Err(Error::conflict(Code::NotStarted, "the event has not started yet"))
        }
        (Planned, Held) | (Held, Reported) => Ok(()),
        (Planned, Cancelled) => match change.reason.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() => Ok(()),
            _ => Err(Error::field("reason", "required", "cancelling an event needs a reason")),
        },
        (from, to) => {
            Err(Error::conflict(Code::IllegalTransition, format!("an event cannot move from {from} to {to}"))
                .with("from", from.as_str())
                .with("to", to.as_str()))
        }
    }
}

fn check(conn: &mut DbConnection, input: &EventInput) -> Result<()> {
    let mut errs = FieldErrors::new();
    if input.title.trim().is_empty() {
        errs.push("title", "blank", "an event needs a title");
    }
    if input.ends_at < input.starts_at {
        errs.push("ends_at", "before_start", "the event ends before it starts");
    }
    if (input.ends_at - input.starts_at).num_days() > 31 {
        errs.add(FieldError::new("ends_at", "too_long", "an event lasts at most 31 days").with("days", 31));
    }
    let now = time::now();
    for (field, at) in [("starts_at", input.starts_at), ("ends_at", input.ends_at)] {
        errs.take(field, time::check_in_window(field, at, now));
    }
    if input.partner_ids.contains(&input.organiser_id) {
        errs.push("partner_ids", "organiser_listed", "the organiser is not its own partner");
    }
    errs.finish()?;
    check_village(conn, input.region_id)?;
    organisations::require(conn, input.organiser_id, "organiser_id")?;
    for (i, p) in input.partner_ids.iter().enumerate() {
        organisations::require(conn, *p, &format!("partner_ids[{i}]"))?;
    }
    Ok(())
}

fn set_partners(conn: &mut DbConnection, event: Uuid, partners: &[Uuid]) -> Result<()> {
    diesel::delete(event_partners::table.filter(event_partners::event_id.eq(DbId(event))))
        .execute(conn)
        .map_err(map_db_error)?;
    let mut seen = std::collections::HashSet::new();
    for p in partners.iter().filter(|p| seen.insert(**p)) {
        diesel::insert_into(event_partners::table)
            .values((
                event_partners::event_id.eq(DbId(event)),
                event_partners::organisation_id.eq(p.to_string()),
            ))
            .execute(conn)
            .map_err(map_db_error)?;
    }
    Ok(())
}

/// Who runs an event, the one place that says which events a caller changes (details, status,
/// roster, and the attendance staff record):
///
/// | caller | runs |
/// |---|---|
/// | admins, coordinators without a region | every event |
/// | a coordinator of a region | the events held in their subtree |
/// | a caseworker | the events their organisation organises or partners |
/// | anyone else | none (a rostered volunteer records attendance, see `roster::record`) |
///
/// Every staff member reads every event; a caller who reads one they do not run gets 403.
fn runs(
    conn: &mut DbConnection,
    scope: &Scope,
    region: Uuid,
    organiser: Uuid,
    partners: &[Uuid],
) -> Result<bool> {
    Ok(match scope.reach() {
        Reach::All => true,
        Reach::Region(_) => tongxing_cases::scope::region_reference(conn, scope, region, "region_id").is_ok(),
        Reach::Caseload { organisation_id: Some(org), .. } => organiser == org || partners.contains(&org),
        _ => false,
    })
}

/// Refuses a change to an event the caller does not run (see [`runs`]).
pub(crate) fn require_runs(conn: &mut DbConnection, scope: &Scope, e: &Event) -> Result<()> {
    if runs(conn, scope, e.region_id, e.organiser_id, &e.partner_ids)? {
        Ok(())
    } else {
        Err(Error::forbidden("only the staff who run the event change it"))
    }
}

/// An event as the input describes it must be one the caller runs: a coordinator's region holds
/// it, a caseworker's organisation organises or partners it.
fn require_runs_input(conn: &mut DbConnection, scope: &Scope, input: &EventInput) -> Result<()> {
    tongxing_cases::scope::region_reference(conn, scope, input.region_id, "region_id")?;
    if runs(conn, scope, input.region_id, input.organiser_id, &input.partner_ids)? {
        Ok(())
    } else {
        Err(Error::field_forbidden(
            "organiser_id",
            "an event is run by the caller's own organisation or its partners",
        ))
    }
}

pub fn create(conn: &mut DbConnection, scope: &Scope, input: EventInput) -> Result<Versioned<Event>> {
    check(conn, &input)?;
    require_runs_input(conn, scope, &input)?;
    let actor = scope.actor();
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(events::table)
        .values((
            events::id.eq(DbId(id)),
            events::title.eq(input.title.trim()),
            events::theme.eq(clean(input.theme.clone())),
            events::event_type.eq(input.event_type.as_str()),
            events::programme.eq(input.programme.as_str()),
            events::starts_at.eq(time::to_db(input.starts_at)),
            events::ends_at.eq(time::to_db(input.ends_at)),
            events::region_id.eq(DbId(input.region_id)),
            events::address.eq(clean(input.address.clone())),
            events::organiser_id.eq(DbId(input.organiser_id)),
            events::with_children.eq(input.with_children),
            events::service_forms.eq(service_forms::to_db(&input.service_forms)),
            events::other_participants.eq(input.other_participants),
            events::status.eq(EventStatus::Planned.as_str()),
            events::notes.eq(clean(input.notes.clone())),
            events::created_by.eq(DbId(actor)),
            events::created_at.eq(now),
            events::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    set_partners(conn, id, &input.partner_ids)?;
    load(conn, id)
}

/// Whether the event still takes changes (roster, attendance, details).
pub fn require_open(status: EventStatus) -> Result<()> {
    match status {
        EventStatus::Planned | EventStatus::Held => Ok(()),
        other => {
            Err(Error::conflict(Code::EventClosed, format!("the event is {other}; it takes no more changes"))
                .with("status", other.as_str()))
        }
    }
}

/// Answers the event before and after.
pub fn update(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    input: EventInput,
    expected: i32,
) -> Result<(Versioned<Event>, Versioned<Event>)> {
    let current = get(conn, scope, id)?;
    require_runs(conn, scope, &current.record)?;
    check_version(current.version, expected)?;
    require_open(current.record.status)?;
    check(conn, &input)?;
    require_runs_input(conn, scope, &input)?;
    let changed =
        diesel::update(events::table.filter(events::id.eq(DbId(id))).filter(events::version.eq(expected)))
            .set((
                events::title.eq(input.title.trim()),
                events::theme.eq(clean(input.theme.clone())),
                events::event_type.eq(input.event_type.as_str()),
                events::programme.eq(input.programme.as_str()),
                events::starts_at.eq(time::to_db(input.starts_at)),
                events::ends_at.eq(time::to_db(input.ends_at)),
                events::region_id.eq(DbId(input.region_id)),
                events::address.eq(clean(input.address.clone())),
                events::organiser_id.eq(DbId(input.organiser_id)),
                events::with_children.eq(input.with_children),
                events::service_forms.eq(service_forms::to_db(&input.service_forms)),
                events::other_participants.eq(input.other_participants),
                events::notes.eq(clean(input.notes.clone())),
                events::updated_at.eq(time::to_db(time::now())),
                events::version.eq(expected + 1),
            ))
            .execute(conn)
            .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    set_partners(conn, id, &input.partner_ids)?;
    Ok((current, load(conn, id)?))
}

/// Answers the event before and after.
pub fn change_status(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    change: EventStatusChange,
    expected: Option<i32>,
) -> Result<(Versioned<Event>, Versioned<Event>)> {
    let current = get(conn, scope, id)?;
    require_runs(conn, scope, &current.record)?;
    if let Some(v) = expected {
        check_version(current.version, v)?;
    }
    let e = &current.record;
    plan(e.status, &change, e.volunteers_rostered, e.starts_at, time::now())?;
    let reason = clean(change.reason).filter(|_| change.status == EventStatus::Cancelled);
    let changed = diesel::update(
        events::table.filter(events::id.eq(DbId(id))).filter(events::version.eq(current.version)),
    )
    .set((
        events::status.eq(change.status.as_str()),
        events::cancel_reason.eq(reason),
        events::updated_at.eq(time::to_db(time::now())),
        events::version.eq(current.version + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    Ok((current, load(conn, id)?))
}

/// The event, if the caller reaches it: staff reach every event, a volunteer those they are
/// rostered on; otherwise not found.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<Event>> {
    require_reach(conn, scope, id)?;
    load(conn, id)
}

fn require_reach(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<()> {
    if let Reach::Volunteer { user_id } = scope.reach()
        && !is_rostered(conn, user_id, id)?
    {
        return Err(Error::not_found("event"));
    }
    Ok(())
}

fn load(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<Event>> {
    let row =
        events::table.find(DbId(id)).select(Row::as_select()).first(conn).map_err(not_found_as("event"))?;
    let e = assemble(conn, vec![row])?.pop().ok_or_else(|| Error::internal("event vanished"))?;
    let version = e.version;
    Ok(Versioned { record: e, version })
}

/// The status, last day and whether children take part of an event the caller reaches (see
/// [`get`]), for roster and attendance checks.
pub(crate) fn essentials(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
) -> Result<(EventStatus, bool, NaiveDate)> {
    require_reach(conn, scope, id)?;
    let (status, with_children, ends_at): (String, bool, chrono::NaiveDateTime) = events::table
        .find(DbId(id))
        .select((events::status, events::with_children, events::ends_at))
        .first(conn)
        .map_err(not_found_as("event"))?;
    Ok((EventStatus::from_db(&status)?, with_children, time::local_date(time::from_db(ends_at))))
}

/// The events the user is rostered on as a volunteer.
#[diesel::dsl::auto_type]
fn rostered_events(user: String) -> _ {
    event_roster::table
        .inner_join(volunteers::table.on(volunteers::id.eq(event_roster::volunteer_id)))
        .filter(volunteers::user_id.eq(user))
        .select(event_roster::event_id)
}

/// Whether the user is rostered on the event as a volunteer.
fn is_rostered(conn: &mut DbConnection, user: Uuid, event: Uuid) -> Result<bool> {
    let n: i64 = rostered_events(user.to_string())
        .filter(event_roster::event_id.eq(DbId(event)))
        .count()
        .get_result(conn)
        .map_err(map_db_error)?;
    Ok(n > 0)
}

/// The events the caller reaches (see [`get`]) that match `filter`.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &EventFilter,
    page: PageRequest,
) -> Result<Page<Event>> {
    let mut q = events::table.select(Row::as_select()).order(events::id.asc()).into_boxed();
    if let Reach::Volunteer { user_id } = scope.reach() {
        q = q.filter(events::id.eq_any(rostered_events(user_id.to_string())));
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to)
        && from > to
    {
        return Err(Error::field("from", "after_to", "`from` is after `to`"));
    }
    if let Some(from) = filter.from {
        q = q.filter(events::starts_at.ge(time::to_db(time::start_of_local_day(from))));
    }
    if let Some(to) = filter.to.and_then(|d| d.succ_opt()) {
        q = q.filter(events::starts_at.lt(time::to_db(time::start_of_local_day(to))));
    }
    if let Some(t) = filter.event_type {
        q = q.filter(events::event_type.eq(t.as_str()));
    }
    if let Some(p) = filter.programme {
        q = q.filter(events::programme.eq(p.as_str()));
    }
    if let Some(s) = filter.status {
        q = q.filter(events::status.eq(s.as_str()));
    }
    if let Some(r) = filter.region_id {
        let prefix = subtree_prefix(conn, r, "region_id")?;
        q = q.filter(events::region_id.eq_any(subtree_ids(prefix)));
    }
    if let Some(o) = filter.organisation_id {
        let as_partner = event_partners::table
            .select(event_partners::event_id)
            .filter(event_partners::organisation_id.eq(DbId(o)));
        q = q.filter(events::organiser_id.eq(DbId(o)).or(events::id.eq_any(as_partner)));
    }
    if let Some(f) = filter.service_form {
        q = q.filter(events::service_forms.like(contains_pattern(f.as_str())).escape('\\'));
    }
    if let Some(after) = page.after {
        q = q.filter(events::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<Row>(conn).map_err(map_db_error)?;
    let items = assemble(conn, rows)?;
    Ok(Page::from_rows(items, page.limit, |e| e.id))
}

/// Adds partners, roster figures, attendance figures and villages to a page of events, with a
/// fixed number of queries whatever the page size.
fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> Result<Vec<Event>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let partners: Vec<(String, String)> = event_partners::table
        .filter(event_partners::event_id.eq_any(&ids))
        .order((event_partners::event_id, event_partners::organisation_id))
        .select((event_partners::event_id, event_partners::organisation_id))
        .load(conn)
        .map_err(map_db_error)?;
    let roster: Vec<(String, i32)> = event_roster::table
        .filter(event_roster::event_id.eq_any(&ids))
        .select((event_roster::event_id, event_roster::minutes))
        .load(conn)
        .map_err(map_db_error)?;
    let attendance: Vec<(String, bool, String, String)> = event_attendance::table
        .inner_join(children::table.on(children::id.eq(event_attendance::child_id)))
        .inner_join(regions::table.on(regions::id.eq(children::region_id)))
        .filter(event_attendance::event_id.eq_any(&ids))
        .select((event_attendance::event_id, event_attendance::guardian_present, regions::id, regions::name))
        .load(conn)
        .map_err(map_db_error)?;
    let mut partner_map: HashMap<String, Vec<Uuid>> = HashMap::new();
    for (e, o) in partners {
        partner_map.entry(e).or_default().push(parse_id(&o)?);
    }
    let mut roster_map: HashMap<String, (i64, i64)> = HashMap::new();
    for (e, minutes) in roster {
        let entry = roster_map.entry(e).or_default();
        entry.0 += 1;
        entry.1 += i64::from(minutes);
    }
    let mut attendance_map: HashMap<String, (i64, i64, Vec<VillageReached>)> = HashMap::new();
    for (e, guardian, region, name) in attendance {
        let entry = attendance_map.entry(e).or_default();
        entry.0 += 1;
        entry.1 += i64::from(guardian);
        let region = parse_id(&region)?;
        match entry.2.iter_mut().find(|v| v.region_id == region) {
            Some(v) => v.children += 1,
            None => entry.2.push(VillageReached { region_id: region, name, children: 1 }),
        }
    }
    rows.into_iter()
        .map(|r| {
            let (rostered, minutes) = roster_map.remove(&r.id).unwrap_or_default();
            let (attended, guardians, mut villages) = attendance_map.remove(&r.id).unwrap_or_default();
            villages.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(Event {
                partner_ids: partner_map.remove(&r.id).unwrap_or_default(),
                id: parse_id(&r.id)?,
                title: r.title,
                theme: r.theme,
                event_type: r.event_type.0,
                programme: r.programme.0,
                starts_at: time::from_db(r.starts_at),
                ends_at: time::from_db(r.ends_at),
                region_id: parse_id(&r.region_id)?,
                address: r.address,
                organiser_id: parse_id(&r.organiser_id)?,
                with_children: r.with_children,
                service_forms: service_forms::from_db(&r.service_forms)?,
                other_participants: r.other_participants,
                status: r.status.0,
                cancel_reason: r.cancel_reason,
                notes: r.notes,
                volunteers_rostered: rostered,
                volunteer_hours: minutes as f64 / 60.0,
                children_attended: attended,
                guardians_present: guardians,
                villages_reached: villages,
                version: r.version,
                created_at: time::from_db(r.created_at),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventStatus::*;
    use chrono::TimeZone;

    fn change(status: EventStatus, reason: Option<&str>) -> EventStatusChange {
        EventStatusChange { status, reason: reason.map(str::to_owned) }
    }

    #[test]
    fn held_needs_a_volunteer_and_a_start() {
        let start = Utc.with_ymd_and_hms(2023, 11, 11, 1, 0, 0).unwrap();
        let now = Utc.with_ymd_and_hms(2023, 11, 11, 5, 0, 0).unwrap();
        assert!(matches!(
            plan(Planned, &change(Held, None), 0, start, now),
            Err(Error::Conflict { code: Code::NoVolunteers, .. })
        ));
        assert!(plan(Planned, &change(Held, None), 8, start, now).is_ok());
        assert!(plan(Planned, &change(Held, None), 8, now + chrono::Duration::days(1), now).is_err());
        assert!(plan(Held, &change(Reported, None), 8, start, now).is_ok());
    }

    #[test]
    fn cancelling_needs_a_reason_and_closed_events_stay_closed() {
        let t = Utc.with_ymd_and_hms(2023, 11, 11, 1, 0, 0).unwrap();
        assert!(plan(Planned, &change(Cancelled, None), 0, t, t).is_err());
        assert!(plan(Planned, &change(Cancelled, Some("大雨")), 0, t, t).is_ok());
        for (from, to) in
            [(Held, Cancelled), (Reported, Held), (Cancelled, Planned), (Planned, Reported), (Held, Held)]
        {
            assert!(
                matches!(plan(from, &change(to, Some("x")), 1, t, t), Err(Error::Conflict { .. })),
                "{from} -> {to}"
            );
        }
    }
}
