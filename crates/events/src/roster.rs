//! Who served at an event and who attended: the roster of volunteers (role, hours) and the
//! attendance of children, recorded in one all-or-nothing batch from a device at the event.
//! Also the volunteer-hours figures.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use serde::{Deserialize, Serialize};
use tongxing_cases::lifecycle::CaseStatus;
use tongxing_cases::regions::subtree_prefix;
use tongxing_core::Code;
use tongxing_core::access::{Reach, Scope};
use tongxing_core::error::FieldErrors;
use tongxing_core::record::{clean, parse_id};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{children, event_attendance, event_roster, volunteers};
use tongxing_store::sql::numbered;
use tongxing_store::{DbConnection, DbId, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::events::{self, Event, require_open};
use crate::volunteers::{clearance_gaps, clearance_of};

text_enum! {
    pub enum RosterRole {
        Lead => "lead",
        Volunteer => "volunteer",
        /// e.g. the teacher of classics who led a reading.
        Teacher => "teacher",
        Counsellor => "counsellor",
        Other => "other",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RosterEntry {
    pub volunteer_id: Uuid,
    pub volunteer_name: String,
    pub role: RosterRole,
    /// Hours served (quarter hours).
    pub hours: f64,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RosterInput {
    pub volunteer_id: Uuid,
    pub role: RosterRole,
    /// Hours served, 0 to 24; may be set once the event is over.
    #[serde(default)]
    #[validate(range(min = 0.0, max = 24.0))]
    #[schema(minimum = 0.0, maximum = 24.0)]
    pub hours: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttendanceEntry {
    pub child_id: Uuid,
    pub child_name: String,
    /// The child's village or community.
    pub region_id: Uuid,
    pub guardian_present: bool,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct AttendanceItem {
    pub child_id: Uuid,
    /// Whether a guardian came with the child.
    #[serde(default)]
    pub guardian_present: bool,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct AttendanceBatch {
    #[validate(length(min = 1, max = 500), nested)]
    #[schema(min_items = 1, max_items = 500)]
    pub items: Vec<AttendanceItem>,
}

fn minutes(hours: f64) -> i32 {
    // Quarter hours: volunteers report "2.5 hours", not seconds.
    ((hours * 4.0).round() * 15.0) as i32
}

/// Rosters a volunteer. At an event with children the volunteer must be cleared on its day.
pub fn add(
    conn: &mut DbConnection,
    scope: &Scope,
    event: Uuid,
    input: RosterInput,
) -> Result<Vec<RosterEntry>> {
    if !input.hours.is_finite() {
        return Err(Error::field("hours", "not_a_number", "hours must be a number"));
    }
    let e = events::get(conn, scope, event)?.record;
    events::require_runs(conn, scope, &e)?;
    require_open(e.status)?;
    let (with_children, day) = (e.with_children, time::local_date(e.ends_at));
    let (name, active, check, training) = clearance_of(conn, input.volunteer_id, "volunteer_id")?;
    if !active {
        return Err(Error::conflict(Code::VolunteerInactive, format!("{name} is not an active volunteer"))
            .with("name", name));
    }
    if with_children {
        let gaps = clearance_gaps(check, training, day);
        if !gaps.is_empty() {
            let mut error = Error::conflict_with(
                Code::ClearanceMissing,
                format!("{name} cannot serve with children on {day}: {}", gaps.join("; ")),
                input.volunteer_id,
            )
            .with("name", name.clone())
            .with("day", day.to_string());
            // Each record that stops it: `missing`, or the day it expired.
            for (param, record) in [("background_check", check), ("safety_training", training)] {
                match record {
                    None => error = error.with(param, "missing"),
                    Some(c) if c.expires_on < day => error = error.with(param, c.expires_on.to_string()),
                    Some(_) => {}
                }
            }
            return Err(error);
        }
    }
    diesel::insert_into(event_roster::table)
        .values((
            event_roster::id.eq(id::new_id().to_string()),
            event_roster::event_id.eq(DbId(event)),
            event_roster::volunteer_id.eq(DbId(input.volunteer_id)),
            event_roster::role.eq(input.role.as_str()),
            event_roster::minutes.eq(minutes(input.hours)),
            event_roster::created_at.eq(time::to_db(time::now())),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    roster(conn, scope, event)
}

/// Sets a rostered volunteer's role and hours.
pub fn set(
    conn: &mut DbConnection,
    scope: &Scope,
    event: Uuid,
    input: RosterInput,
) -> Result<Vec<RosterEntry>> {
    if !input.hours.is_finite() {
        return Err(Error::field("hours", "not_a_number", "hours must be a number"));
    }
    let e = events::get(conn, scope, event)?.record;
    events::require_runs(conn, scope, &e)?;
    require_open(e.status)?;
    let changed = diesel::update(
        event_roster::table
            .filter(event_roster::event_id.eq(DbId(event)))
            .filter(event_roster::volunteer_id.eq(DbId(input.volunteer_id))),
    )
    .set((event_roster::role.eq(input.role.as_str()), event_roster::minutes.eq(minutes(input.hours))))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        // The body names the entry by its volunteer: a volunteer that does not exist, or is not
        // on this roster, is a reference to nothing (422 naming the field).
        clearance_of(conn, input.volunteer_id, "volunteer_id")?;
        return Err(Error::field(
            "volunteer_id",
            "not_rostered",
            "this volunteer is not on the event's roster",
        ));
    }
    roster(conn, scope, event)
}

/// The roster of an event the caller reaches.
pub fn roster(conn: &mut DbConnection, scope: &Scope, event: Uuid) -> Result<Vec<RosterEntry>> {
    events::essentials(conn, scope, event)?;
    let rows: Vec<(String, String, String, i32)> = event_roster::table
        .inner_join(volunteers::table.on(volunteers::id.eq(event_roster::volunteer_id)))
        .filter(event_roster::event_id.eq(DbId(event)))
        .order(event_roster::id.asc())
        .select((event_roster::volunteer_id, volunteers::name, event_roster::role, event_roster::minutes))
        .load(conn)
        .map_err(map_db_error)?;
    rows.into_iter()
        .map(|(v, name, role, minutes)| {
            Ok(RosterEntry {
                volunteer_id: parse_id(&v)?,
                volunteer_name: name,
                role: RosterRole::from_db(&role)?,
                hours: f64::from(minutes) / 60.0,
            })
        })
        .collect()
}

/// Which children the caller may name in an event's attendance: staff, the children whose case
/// file they hold (a counselling team's reader writes nothing about the child);
/// a volunteer rostered on the event, the children who live in the event's region (the village
/// or town it serves). `None` means any child.
fn attendable(conn: &mut DbConnection, scope: &Scope, event: &Event) -> Result<Option<String>> {
    match scope.reach() {
        Reach::Volunteer { .. } => {
            let prefix = subtree_prefix(conn, event.region_id, "region_id")?;
            if !prefix.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'/') {
                return Err(Error::internal("unexpected region path"));
            }
            Ok(Some(format!(
                "SELECT ac.id FROM children ac JOIN regions ar ON ar.id = ac.region_id WHERE ar.path LIKE '{prefix}%'"
            )))
        }
        _ => tongxing_cases::scope::held_child_ids(conn, scope),
    }
}

/// Records a batch of attendance at an event the caller reaches: every item is checked first and
/// any error refuses the whole batch, naming each bad item. A child the caller may not name
/// (see [`attendable`]) is refused as one that does not exist. Answers the attendance as the
/// caller reads it.
pub fn record(
    conn: &mut DbConnection,
    scope: &Scope,
    event: Uuid,
    batch: AttendanceBatch,
) -> Result<Vec<AttendanceEntry>> {
    let actor = scope.actor();
    let e = events::get(conn, scope, event)?.record;
    if !matches!(scope.reach(), Reach::Volunteer { .. }) {
        events::require_runs(conn, scope, &e)?;
    }
    let allowed = attendable(conn, scope, &e)?;
    require_open(e.status)?;
    if !e.with_children {
        return Err(Error::conflict(Code::NoChildrenExpected, "the event was set up without children"));
    }
    let mut errs = FieldErrors::new();
    let mut seen = std::collections::HashSet::new();
    for (i, item) in batch.items.iter().enumerate() {
        let field = format!("items[{i}].child_id");
        if !seen.insert(item.child_id) {
            errs.push(&field, "duplicate", "the child is listed twice in this batch");
            continue;
        }
        match open_on(conn, allowed.as_deref(), item.child_id, time::local_date(e.starts_at))? {
            None => errs.push(&field, "not_found", "no child with this id"),
            Some(false) => {
                errs.push(&field, "case_closed", "the child's case file was closed by the event's day")
            }
            Some(true) => {
                let n: i64 = event_attendance::table
                    .filter(event_attendance::event_id.eq(DbId(event)))
                    .filter(event_attendance::child_id.eq(DbId(item.child_id)))
                    .count()
                    .get_result(conn)
                    .map_err(map_db_error)?;
                if n > 0 {
                    errs.push(&field, "already_attending", "the child's attendance is already recorded");
                }
            }
        }
    }
    errs.finish()?;
    let now = time::to_db(time::now());
    for item in batch.items {
        diesel::insert_into(event_attendance::table)
            .values((
                event_attendance::id.eq(id::new_id().to_string()),
                event_attendance::event_id.eq(DbId(event)),
                event_attendance::child_id.eq(DbId(item.child_id)),
                event_attendance::guardian_present.eq(item.guardian_present),
                event_attendance::notes.eq(clean(item.notes)),
                event_attendance::recorded_by.eq(DbId(actor)),
                event_attendance::created_at.eq(now),
            ))
            .execute(conn)
            .map_err(map_db_error)?;
    }
    attendance(conn, scope, event)
}

/// Whether the child's case file was open on `day` (a file closed on a day is closed that
/// day), for a child among `allowed`; `None` when there is no such child. Attendance at a past
/// event is judged by the case as it stood then: a child who attended while open is recorded
/// even if the file has closed since.
fn open_on(
    conn: &mut DbConnection,
    allowed: Option<&str>,
    child: Uuid,
    day: NaiveDate,
) -> Result<Option<bool>> {
    let mut q = children::table
        .filter(children::id.eq(DbId(child)))
        .select((children::status, children::closed_on))
        .into_boxed();
    if let Some(ids) = allowed {
        q = q.filter(tongxing_cases::scope::condition::<children::table>(format!("children.id IN ({ids})")));
    }
    let row: Option<(String, Option<NaiveDate>)> = q.first(conn).optional().map_err(map_db_error)?;
    row.map(|(status, closed_on)| {
        let closed = CaseStatus::from_db(&status)? == CaseStatus::Closed;
        Ok(!closed || closed_on.is_some_and(|c| c > day))
    })
    .transpose()
}

/// Who attended an event the caller reaches, as the caller reads it: a volunteer rostered on
/// the event sees every child's name, not the staff's notes; staff see the children they reach,
/// with the notes.
pub fn attendance(conn: &mut DbConnection, scope: &Scope, event: Uuid) -> Result<Vec<AttendanceEntry>> {
    events::essentials(conn, scope, event)?;
    let volunteer = matches!(scope.reach(), Reach::Volunteer { .. });
    let mut q = event_attendance::table
        .inner_join(children::table.on(children::id.eq(event_attendance::child_id)))
        .filter(event_attendance::event_id.eq(DbId(event)))
        .into_boxed();
    if !volunteer
        && let Some(cond) = tongxing_cases::scope::child_column(conn, scope, "event_attendance.child_id")?
    {
        q = q.filter(cond);
    }
    let rows: Vec<(String, String, String, bool, Option<String>)> = q
        .order(event_attendance::id.asc())
        .select((
            event_attendance::child_id,
            children::name,
            children::region_id,
            event_attendance::guardian_present,
            event_attendance::notes,
        ))
        .load(conn)
        .map_err(map_db_error)?;
    rows.into_iter()
        .map(|(c, name, region, guardian_present, notes)| {
            Ok(AttendanceEntry {
                child_id: parse_id(&c)?,
                child_name: name,
                region_id: parse_id(&region)?,
                guardian_present,
                notes: if volunteer { None } else { notes },
            })
        })
        .collect()
}

text_enum! {
    pub enum HoursGrouping {
        Volunteer => "volunteer",
        Organisation => "organisation",
    }
}

/// Hours served by one volunteer, or by the volunteers of one organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoursLine {
    /// The volunteer or organisation; absent for volunteers without an organisation.
    pub id: Option<Uuid>,
    pub name: String,
    pub events: i64,
    pub hours: f64,
}

#[derive(QueryableByName)]
struct HoursRow {
    #[diesel(sql_type = Nullable<Text>)]
    id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = BigInt)]
    events: i64,
    #[diesel(sql_type = BigInt)]
    minutes: i64,
}

/// Volunteer hours at events held or reported whose start falls in `from..=to` (Shanghai dates).
pub fn hours(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    by: HoursGrouping,
) -> Result<Vec<HoursLine>> {
    if from > to {
        return Err(Error::field("from", "after_to", "`from` is after `to`"));
    }
    let (key, name, join) = match by {
        HoursGrouping::Volunteer => ("v.id", "v.name", ""),
        HoursGrouping::Organisation => {
            ("v.organisation_id", "o.name", "LEFT JOIN organisations o ON o.id = v.organisation_id")
        }
    };
    let sql = format!(
        "SELECT {key} AS id, {name} AS name, CAST(COUNT(DISTINCT r.event_id) AS BIGINT) AS events, \
         CAST(COALESCE(SUM(r.minutes), 0) AS BIGINT) AS minutes \
         FROM event_roster r JOIN events e ON e.id = r.event_id JOIN volunteers v ON v.id = r.volunteer_id {join} \
         WHERE e.status IN ('held', 'reported') AND e.starts_at >= ? AND e.starts_at < ? \
         GROUP BY {key}, {name} ORDER BY minutes DESC, name"
    );
    let lo = time::to_db(time::start_of_local_day(from));
    let hi = time::to_db(time::start_of_local_day(to + chrono::Duration::days(1)));
    let rows: Vec<HoursRow> = diesel::sql_query(numbered(conn.backend(), &sql))
        .bind::<Timestamp, _>(lo)
        .bind::<Timestamp, _>(hi)
        .load(conn)
        .map_err(map_db_error)?;
    rows.into_iter()
        .map(|r| {
            Ok(HoursLine {
                id: r.id.as_deref().map(parse_id).transpose()?,
                name: r.name.unwrap_or_else(|| "(no organisation)".to_owned()),
                events: r.events,
                hours: r.minutes as f64 / 60.0,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_kept_in_quarter_hours() {
        assert_eq!(minutes(2.5), 150);
        assert_eq!(minutes(2.6), 150);
        assert_eq!(minutes(0.0), 0);
        assert_eq!(minutes(24.0), 1440);
    }
}
