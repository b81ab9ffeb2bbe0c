//! Home counselling ("1+N"): a child enrolled with a team (one counsellor plus social workers
//! and others) who visit at a fixed weekday and time, and the sessions they hold. Session notes
//! are sensitive: only the team and coordinators read them.

use std::collections::HashMap;
use tongxing_core::Code;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_cases::scope::{Access, child_reference};
use tongxing_core::access::Scope;
use tongxing_core::error::FieldErrors;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::{Versioned, check_version, clean, parse_id, parse_opt_id};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{counselling_enrolments, counselling_sessions, counselling_team_members};
use tongxing_store::{DbConnection, DbId, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::kinds::{RuleSubject, SESSION};
use crate::tallies;

text_enum! {
    pub enum TeamRole {
        Counsellor => "counsellor",
        SocialWorker => "social_worker",
        Volunteer => "volunteer",
        Other => "other",
    }
}

text_enum! {
    /// The services of the contracted social-work centre.
    pub enum CounsellingService {
        GuardianshipGuidance => "guardianship_guidance",
        PsychologicalCounselling => "psychological_counselling",
        BehaviourCorrection => "behaviour_correction",
        SocialIntegration => "social_integration",
        FamilyRelationshipAdjustment => "family_relationship_adjustment",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct TeamMember {
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub role: TeamRole,
    /// The member's account, if they have one: members read the sessions' notes.
    pub user_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Enrolment {
    pub id: Uuid,
    pub child_id: Uuid,
    pub team: Vec<TeamMember>,
    /// ISO weekday of the fixed visit: 1 Monday … 7 Sunday.
    pub weekday: i32,
    /// Local time of the visit (`HH:MM`, Asia/Shanghai).
    pub time_of_day: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub notes: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct EnrolmentInput {
    /// Client-chosen id (UUID); generated when absent. Ignored on update.
    pub id: Option<Uuid>,
    pub child_id: Uuid,
    /// One counsellor, plus social workers and others.
    #[validate(length(min = 1, max = 10), nested)]
    #[schema(min_items = 1, max_items = 10)]
    pub team: Vec<TeamMember>,
    #[validate(range(min = 1, max = 7))]
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: i32,
    /// `HH:MM`.
    #[validate(length(min = 5, max = 5))]
    #[schema(min_length = 5, max_length = 5)]
    pub time_of_day: String,
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub starts_on: NaiveDate,
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub ends_on: Option<NaiveDate>,
    #[validate(length(max = 2000))]
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Session {
    pub id: Uuid,
    pub enrolment_id: Uuid,
    /// The enrolment's child.
    pub child_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// Who came, by name.
    pub attended_by: Vec<String>,
    pub services: Vec<CounsellingService>,
    /// Only for the team and coordinators; absent for everyone else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    /// When the session was held; inside the enrolment's dates, not in the future, and at most
    /// 20 years ago.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub occurred_at: DateTime<Utc>,
    #[validate(length(min = 1, max = 10))]
    #[schema(min_items = 1, max_items = 10)]
    pub attended_by: Vec<String>,
    #[validate(length(min = 1, max = 5))]
    #[schema(min_items = 1, max_items = 5)]
    pub services: Vec<CounsellingService>,
    #[validate(length(max = 8000))]
    #[schema(max_length = 8000)]
    pub notes: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = counselling_enrolments)]
struct EnrolmentRow {
    id: String,
    child_id: String,
    weekday: i32,
    time_of_day: String,
    starts_on: NaiveDate,
    ends_on: Option<NaiveDate>,
    notes: Option<String>,
    created_at: chrono::NaiveDateTime,
    version: i32,
}

fn check(conn: &mut DbConnection, scope: &Scope, input: &EnrolmentInput) -> Result<()> {
    let mut errs = FieldErrors::new();
    if NaiveTime::parse_from_str(&input.time_of_day, "%H:%M").is_err() {
        errs.push("time_of_day", "format", "use HH:MM, e.g. 15:30");
    }
    if input.team.iter().filter(|m| m.role == TeamRole::Counsellor).count() != 1 {
        errs.push("team", "one_counsellor", "the team has exactly one counsellor");
    }
    if input.ends_on.is_some_and(|e| e < input.starts_on) {
        errs.push("ends_on", "before_start", "the enrolment ends before it starts");
    }
    errs.finish()?;
    child_reference(conn, scope, Access::Read, input.child_id, "child_id").map(|_| ())
}

/// The enrolment lifecycle, as a pure rule: `open` (no end date) → `ended` (an end date, which
/// may still be moved); an ended enrolment is not reopened (409 `illegal_transition`: enrol the
/// child again, so that the compliance history of the first stays as it was). The dates keep
/// every recorded session (`sessions`: the first and last session days) inside them (409
/// `sessions_outside`).
pub fn plan_dates(
    current: &Enrolment,
    input: &EnrolmentInput,
    sessions: Option<(NaiveDate, NaiveDate)>,
) -> Result<()> {
    if current.ends_on.is_some() && input.ends_on.is_none() {
        return Err(Error::conflict(
            Code::IllegalTransition,
            "an ended enrolment stays ended; enrol the child again",
        ));
    }
    if let Some((first, last)) = sessions
        && (input.starts_on > first || input.ends_on.is_some_and(|end| end < last))
    {
        return Err(Error::conflict(
            Code::SessionsOutside,
            format!("sessions are recorded from {first} to {last}; the dates must keep them inside"),
        )
        .with("first", first.to_string())
        .with("last", last.to_string()));
    }
    Ok(())
}

/// The accounts named on a team exist. Checked after [`may_set_team`], so that a caller who may
/// name no account but their own learns nothing about which other accounts exist.
fn check_accounts(conn: &mut DbConnection, team: &[TeamMember]) -> Result<()> {
    for (i, m) in team.iter().enumerate() {
        if let Some(u) = m.user_id
            && tongxing_accounts::users::role_of(conn, u)?.is_none()
        {
            return Err(Error::field(&format!("team[{i}].user_id"), "not_found", "no user with this id"));
        }
    }
    Ok(())
}

fn insert_team(conn: &mut DbConnection, enrolment: Uuid, team: &[TeamMember]) -> Result<()> {
    for (i, m) in team.iter().enumerate() {
        diesel::insert_into(counselling_team_members::table)
            .values((
                counselling_team_members::id.eq(id::new_id().to_string()),
                counselling_team_members::enrolment_id.eq(DbId(enrolment)),
                counselling_team_members::position.eq(i32::try_from(i).unwrap_or(i32::MAX)),
                counselling_team_members::name.eq(m.name.trim()),
                counselling_team_members::role.eq(m.role.as_str()),
                counselling_team_members::user_id.eq(m.user_id.map(|u| u.to_string())),
            ))
            .execute(conn)
            .map_err(map_db_error)?;
    }
    Ok(())
}

/// Who may set a team, the one place that says so. A team member with an account reads the
/// child's case file and the session notes, so naming one grants access.
///
/// | change | admins, coordinators | the enrolment's counsellor | other case staff holding the case |
/// |---|---|---|---|
/// | the team of a new enrolment | any members | — | members without accounts, and themselves |
/// | the team of an enrolment | any change | any change | none |
/// | schedule, dates, notes | yes | yes | yes |
fn may_set_team(scope: &Scope, current: Option<&Enrolment>, team: &[TeamMember]) -> Result<()> {
    if scope.coordinates() {
        return Ok(());
    }
    let me = scope.user_id();
    match current {
        None => {
            if let Some(i) = team.iter().position(|m| m.user_id.is_some() && m.user_id != me) {
                return Err(Error::field_forbidden(
                    &format!("team[{i}].user_id"),
                    "only coordinators put another person's account on a team",
                ));
            }
            Ok(())
        }
        Some(e) => {
            let unchanged = e.team.len() == team.len()
                && e.team
                    .iter()
                    .zip(team)
                    .all(|(a, b)| a.name == b.name.trim() && a.role == b.role && a.user_id == b.user_id);
            if unchanged || me.is_some_and(|u| is_counsellor(e, u)) {
                return Ok(());
            }
            Err(Error::field_forbidden(
                "team",
                "only coordinators and the enrolment's counsellor change a team",
            ))
        }
    }
}

fn is_counsellor(e: &Enrolment, user: Uuid) -> bool {
    e.team.iter().any(|m| m.role == TeamRole::Counsellor && m.user_id == Some(user))
}

/// Enrols a child the caller reaches with a team (see [`may_set_team`]).
pub fn create(conn: &mut DbConnection, scope: &Scope, input: EnrolmentInput) -> Result<Versioned<Enrolment>> {
    check(conn, scope, &input)?;
    tongxing_cases::scope::require_child(conn, scope, Access::Write, input.child_id, "child")
        .map_err(|e| e.missing_as_field("child_id", "no child with this id"))?;
    may_set_team(scope, None, &input.team)?;
    check_accounts(conn, &input.team)?;
    let actor = scope.actor();
    let id = input.id.unwrap_or_else(id::new_id);
    let now = time::to_db(time::now());
    diesel::insert_into(counselling_enrolments::table)
        .values((
            counselling_enrolments::id.eq(DbId(id)),
            counselling_enrolments::child_id.eq(DbId(input.child_id)),
            counselling_enrolments::weekday.eq(input.weekday),
            counselling_enrolments::time_of_day.eq(&input.time_of_day),
            counselling_enrolments::starts_on.eq(input.starts_on),
            counselling_enrolments::ends_on.eq(input.ends_on),
            counselling_enrolments::notes.eq(clean(input.notes.clone())),
            counselling_enrolments::created_by.eq(DbId(actor)),
            counselling_enrolments::created_at.eq(now),
            counselling_enrolments::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    insert_team(conn, id, &input.team)?;
    load(conn, id)
}

/// Replaces the schedule, dates and team, if `expected` is still current (see
/// [`may_set_team`] for who changes what). Answers the enrolment before and after.
pub fn update(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    input: EnrolmentInput,
    expected: i32,
) -> Result<(Versioned<Enrolment>, Versioned<Enrolment>)> {
    let current = get(conn, scope, id)?;
    let counsellor = scope.user_id().is_some_and(|u| is_counsellor(&current.record, u));
    if !counsellor {
        tongxing_cases::scope::require_child(
            conn,
            scope,
            Access::Write,
            current.record.child_id,
            "counselling enrolment",
        )?;
    }
    check_version(current.version, expected)?;
    if input.child_id != current.record.child_id {
        return Err(Error::field("child_id", "immutable", "an enrolment stays with its child"));
    }
    check(conn, scope, &input)?;
    let sessions: (Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>) =
        counselling_sessions::table
            .filter(counselling_sessions::enrolment_id.eq(DbId(id)))
            .select((
                diesel::dsl::min(counselling_sessions::occurred_at),
                diesel::dsl::max(counselling_sessions::occurred_at),
            ))
            .first(conn)
            .map_err(map_db_error)?;
    let day = |at: chrono::NaiveDateTime| time::local_date(time::from_db(at));
    let span = sessions.0.zip(sessions.1).map(|(first, last)| (day(first), day(last)));
    plan_dates(&current.record, &input, span)?;
    may_set_team(scope, Some(&current.record), &input.team)?;
    check_accounts(conn, &input.team)?;
    let changed = diesel::update(
        counselling_enrolments::table
            .filter(counselling_enrolments::id.eq(DbId(id)))
            .filter(counselling_enrolments::version.eq(expected)),
    )
    .set((
        counselling_enrolments::weekday.eq(input.weekday),
        counselling_enrolments::time_of_day.eq(&input.time_of_day),
        counselling_enrolments::starts_on.eq(input.starts_on),
        counselling_enrolments::ends_on.eq(input.ends_on),
        counselling_enrolments::notes.eq(clean(input.notes.clone())),
        counselling_enrolments::updated_at.eq(time::to_db(time::now())),
        counselling_enrolments::version.eq(expected + 1),
    ))
    .execute(conn)
    .map_err(map_db_error)?;
    if changed == 0 {
        return Err(Error::PreconditionFailed);
    }
    diesel::delete(
        counselling_team_members::table.filter(counselling_team_members::enrolment_id.eq(DbId(id))),
    )
    .execute(conn)
    .map_err(map_db_error)?;
    insert_team(conn, id, &input.team)?;
    Ok((current, load(conn, id)?))
}

/// The enrolment, if the caller reaches its child; otherwise not found.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<Enrolment>> {
    let mut q = counselling_enrolments::table
        .filter(counselling_enrolments::id.eq(DbId(id)))
        .select(EnrolmentRow::as_select())
        .into_boxed();
    if let Some(cond) = tongxing_cases::scope::child_column(conn, scope, "counselling_enrolments.child_id")? {
        q = q.filter(cond);
    }
    let row = q.first(conn).map_err(not_found_as("counselling enrolment"))?;
    let e = assemble(conn, vec![row])?.pop().ok_or_else(|| Error::internal("enrolment vanished"))?;
    let version = e.version;
    Ok(Versioned { record: e, version })
}

/// The enrolment whatever the scope: for this crate, after the caller's reach has been checked.
pub(crate) fn load(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<Enrolment>> {
    let row = counselling_enrolments::table
        .find(DbId(id))
        .select(EnrolmentRow::as_select())
        .first(conn)
        .map_err(not_found_as("counselling enrolment"))?;
    let e = assemble(conn, vec![row])?.pop().ok_or_else(|| Error::internal("enrolment vanished"))?;
    let version = e.version;
    Ok(Versioned { record: e, version })
}

/// Enrolments of the children in `scope`, optionally of one child.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    child: Option<Uuid>,
    page: PageRequest,
) -> Result<Page<Enrolment>> {
    let mut q = counselling_enrolments::table
        .select(EnrolmentRow::as_select())
        .order(counselling_enrolments::id.asc())
        .into_boxed();
    if let Some(cond) = tongxing_cases::scope::child_column(conn, scope, "counselling_enrolments.child_id")? {
        q = q.filter(cond);
    }
    if let Some(c) = child {
        q = q.filter(counselling_enrolments::child_id.eq(DbId(c)));
    }
    if let Some(after) = page.after {
        q = q.filter(counselling_enrolments::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<EnrolmentRow>(conn).map_err(map_db_error)?;
    let items = assemble(conn, rows)?;
    Ok(Page::from_rows(items, page.limit, |e| e.id))
}

fn assemble(conn: &mut DbConnection, rows: Vec<EnrolmentRow>) -> Result<Vec<Enrolment>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let members: Vec<(String, String, String, Option<String>)> = counselling_team_members::table
        .filter(counselling_team_members::enrolment_id.eq_any(&ids))
        .order((counselling_team_members::enrolment_id, counselling_team_members::position))
        .select((
            counselling_team_members::enrolment_id,
            counselling_team_members::name,
            counselling_team_members::role,
            counselling_team_members::user_id,
        ))
        .load(conn)
        .map_err(map_db_error)?;
    let mut teams: HashMap<String, Vec<TeamMember>> = HashMap::new();
    for (enrolment, name, role, user) in members {
        teams.entry(enrolment).or_default().push(TeamMember {
            name,
            role: TeamRole::from_db(&role)?,
            user_id: parse_opt_id(user.as_deref())?,
        });
    }
    rows.into_iter()
        .map(|r| {
            Ok(Enrolment {
                id: parse_id(&r.id)?,
                child_id: parse_id(&r.child_id)?,
                team: teams.remove(&r.id).unwrap_or_default(),
                weekday: r.weekday,
                time_of_day: r.time_of_day,
                starts_on: r.starts_on,
                ends_on: r.ends_on,
                notes: r.notes,
                version: r.version,
                created_at: time::from_db(r.created_at),
            })
        })
        .collect()
}

/// Whether the caller reads session notes: coordinators, and the enrolment's team.
fn reads_notes(scope: &Scope, e: &Enrolment) -> bool {
    scope.coordinates() || scope.user_id().is_some_and(|u| e.team.iter().any(|m| m.user_id == Some(u)))
}

/// Records a session of an enrolment the caller reaches; the answer carries the notes only
/// when the caller reads them.
pub fn create_session(
    conn: &mut DbConnection,
    scope: &Scope,
    enrolment: Uuid,
    input: SessionInput,
) -> Result<Session> {
    let actor = scope.actor();
    let e = get(conn, scope, enrolment)?.record;
    // The team records its sessions; otherwise only the staff who hold the case (a member of
    // another team of the child reads this enrolment but writes nothing in it).
    let on_team = scope.user_id().is_some_and(|u| e.team.iter().any(|m| m.user_id == Some(u)));
    if !on_team {
        tongxing_cases::scope::require_child(
            conn,
            scope,
            Access::Write,
            e.child_id,
            "counselling enrolment",
        )?;
    }
    let with_notes = reads_notes(scope, &e);
    time::check_took_place("occurred_at", input.occurred_at, time::now(), "session")?;
    if input.attended_by.iter().any(|n| n.trim().is_empty() || n.chars().count() > 100) {
        return Err(Error::field("attended_by", "format", "each name has 1 to 100 characters"));
    }
    let day = time::local_date(input.occurred_at);
    if day < e.starts_on || e.ends_on.is_some_and(|end| day > end) {
        return Err(Error::conflict(
            Code::OutsideEnrolment,
            "the session falls outside the enrolment's dates",
        ));
    }
    let mut services: Vec<&str> = input.services.iter().map(|s| s.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let id = input.id.unwrap_or_else(id::new_id);
    let names: Vec<String> = input.attended_by.iter().map(|n| n.trim().replace('\n', " ")).collect();
    diesel::insert_into(counselling_sessions::table)
        .values((
            counselling_sessions::id.eq(DbId(id)),
            counselling_sessions::enrolment_id.eq(DbId(enrolment)),
            counselling_sessions::occurred_at.eq(time::to_db(input.occurred_at)),
            counselling_sessions::attended_by.eq(names.join("\n")),
            counselling_sessions::services.eq(services.join(",")),
            counselling_sessions::notes.eq(clean(input.notes)),
            counselling_sessions::recorded_by.eq(DbId(actor)),
            counselling_sessions::created_at.eq(time::to_db(time::now())),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    tallies::count(conn, RuleSubject::CounsellingEnrolment, enrolment, SESSION, false, input.occurred_at)?;
    let mut page = sessions(conn, &e, PageRequest { after: None, limit: 1 }, with_notes, Some(id))?;
    page.items.pop().ok_or_else(|| Error::internal("session vanished"))
}

type SessionRow =
    (String, String, chrono::NaiveDateTime, String, String, Option<String>, String, chrono::NaiveDateTime);

/// The sessions of an enrolment the caller reaches, oldest recorded first, with the enrolment's
/// child; notes only for the team and coordinators.
pub fn list_sessions(
    conn: &mut DbConnection,
    scope: &Scope,
    enrolment: Uuid,
    page: PageRequest,
) -> Result<(Uuid, Page<Session>)> {
    let e = get(conn, scope, enrolment)?.record;
    Ok((e.child_id, sessions(conn, &e, page, reads_notes(scope, &e), None)?))
}

fn sessions(
    conn: &mut DbConnection,
    enrolment: &Enrolment,
    page: PageRequest,
    with_notes: bool,
    only: Option<Uuid>,
) -> Result<Page<Session>> {
    let mut q = counselling_sessions::table
        .filter(counselling_sessions::enrolment_id.eq(DbId(enrolment.id)))
        .order(counselling_sessions::id.asc())
        .select((
            counselling_sessions::id,
            counselling_sessions::enrolment_id,
            counselling_sessions::occurred_at,
            counselling_sessions::attended_by,
            counselling_sessions::services,
            counselling_sessions::notes,
            counselling_sessions::recorded_by,
            counselling_sessions::created_at,
        ))
        .into_boxed();
    if let Some(o) = only {
        q = q.filter(counselling_sessions::id.eq(DbId(o)));
    }
    if let Some(after) = page.after {
        q = q.filter(counselling_sessions::id.gt(DbId(after)));
    }
    let rows: Vec<SessionRow> = q.limit(page.fetch()).load(conn).map_err(map_db_error)?;
    let items = rows
        .into_iter()
        .map(|(id, enrolment_id, at, attended, services, notes, recorded_by, created_at)| {
            Ok(Session {
                id: parse_id(&id)?,
                enrolment_id: parse_id(&enrolment_id)?,
                child_id: enrolment.child_id,
                occurred_at: time::from_db(at),
                attended_by: attended.split('\n').map(str::to_owned).collect(),
                services: services
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(CounsellingService::from_db)
                    .collect::<Result<_>>()?,
                notes: if with_notes { notes } else { None },
                recorded_by: parse_id(&recorded_by)?,
                created_at: time::from_db(created_at),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, page.limit, |s| s.id))
}
