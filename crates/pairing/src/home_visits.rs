//! Holiday home visits: a mentor may take the child home on a national statutory holiday, only
//! after the formalities are done and safety is ensured. `requested → consented → approved →
//! completed`, or `rejected` / `cancelled`:
//! - the request names the dates (inside one statutory holiday period and inside the pairing's
//!   active interval, departure still ahead), address, transport, the supervising adult, the
//!   return time and an emergency contact;
//! - the guardian's (or the welfare centre's) consent is recorded;
//! - a safety checklist is completed, each item confirmed by a named person;
//! - a coordinator approves, which needs both, before the departure time; the mentor confirms
//!   the child's return.
//!
//! A request still `requested` or `consented` when the departure time comes is `expired`: it
//! can no longer be consented, checked or approved (derived from `leaves_at`, so it needs no
//! job to happen). A visit that took place without prior approval is recorded by a coordinator
//! as `recorded_late`, with the reason; it is never counted as a visit made by the rules.
//!
//! Every step is recorded with who and when.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_cases::households::Relation;
use tongxing_cases::scope::Condition;
use tongxing_core::Code;
use tongxing_core::access::Scope;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::{Versioned, clean, parse_id};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::{home_visit_requests, home_visit_steps};
use tongxing_store::{DbConnection, DbId, DbText, map_db_error, not_found_as};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::holidays;
use crate::pairings::{self, PairingStatus};

text_enum! {
    pub enum HomeVisitStatus {
        Requested => "requested",
        Consented => "consented",
        Approved => "approved",
        Completed => "completed",
        Rejected => "rejected",
        Cancelled => "cancelled",
        /// Not approved by the departure time (derived: stored as `requested` or `consented`).
        Expired => "expired",
        /// Took place without prior approval; recorded afterwards by a coordinator.
        RecordedLate => "recorded_late",
    }
}

impl HomeVisitStatus {
    /// What a stored status shows at `now`: a request still waiting for approval when the child
    /// was due to leave has expired.
    fn at(self, leaves_at: DateTime<Utc>, now: DateTime<Utc>) -> HomeVisitStatus {
        self.shown(leaves_at <= now)
    }

    /// What a stored status shows once the departure time has (`departed`) or has not come.
    pub fn shown(self, departed: bool) -> HomeVisitStatus {
        match self {
            HomeVisitStatus::Requested | HomeVisitStatus::Consented if departed => HomeVisitStatus::Expired,
            other => other,
        }
    }
}

text_enum! {
    /// What must be confirmed before a child goes home with a mentor.
    pub enum SafetyItem {
        /// A named adult will supervise the child throughout.
        SupervisingAdultPresent => "supervising_adult_present",
        /// The home has been checked for hazards.
        HomeEnvironmentChecked => "home_environment_checked",
        /// Safe transport there and back is arranged.
        TransportArranged => "transport_arranged",
        /// The emergency contact has been reached and will be reachable.
        EmergencyContactReachable => "emergency_contact_reachable",
        /// The mentor knows the child's medication, diet and needs.
        ChildNeedsBriefed => "child_needs_briefed",
        /// The return time is agreed with the centre or guardian.
        ReturnTimeAgreed => "return_time_agreed",
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChecklistEntry {
    pub item: SafetyItem,
    /// Who confirmed it.
    pub confirmed_by: String,
    pub confirmed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HomeVisitStep {
    /// `requested`, `consented`, `checklist`, `approved`, `rejected`, `cancelled` or `returned`.
    pub step: String,
    pub actor_id: Uuid,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HomeVisitRequest {
    pub id: Uuid,
    pub pairing_id: Uuid,
    /// The pairing's child, whom the visit concerns.
    pub child_id: Uuid,
    /// The statutory holiday period the visit falls in.
    pub holiday_id: Uuid,
    pub status: HomeVisitStatus,
    pub leaves_at: DateTime<Utc>,
    pub returns_at: DateTime<Utc>,
    pub address: String,
    pub transport: String,
    /// The adult who supervises the child.
    pub supervisor: String,
    pub emergency_contact_name: String,
    pub emergency_contact_phone: String,
    pub consent_given_by: Option<String>,
    pub consent_relation: Option<Relation>,
    pub consent_given_at: Option<DateTime<Utc>>,
    pub checklist: Vec<ChecklistEntry>,
    /// Set once every safety item is confirmed.
    pub checklist_completed_at: Option<DateTime<Utc>>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    pub returned_at: Option<DateTime<Utc>>,
    /// Why a visit that took place without prior approval was recorded afterwards
    /// (`recorded_late` only).
    pub late_reason: Option<String>,
    pub requested_by: Uuid,
    /// Every step, oldest first.
    pub history: Vec<HomeVisitStep>,
    pub version: i32,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct HomeVisitInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    pub pairing_id: Uuid,
    /// When the child leaves the centre or home (inside a statutory holiday period).
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub leaves_at: DateTime<Utc>,
    /// When the child is back (the same holiday period).
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub returns_at: DateTime<Utc>,
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub address: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub transport: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub supervisor: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub emergency_contact_name: String,
    #[validate(length(min = 5, max = 20))]
    #[schema(min_length = 5, max_length = 20)]
    pub emergency_contact_phone: String,
}

/// A visit that took place without prior approval, as a coordinator records it afterwards.
#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LateHomeVisitInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    pub pairing_id: Uuid,
    /// When the child left (in the past, inside a statutory holiday period).
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub leaves_at: DateTime<Utc>,
    /// When the child was back (the same holiday period).
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub returns_at: DateTime<Utc>,
    #[validate(length(min = 1, max = 300))]
    #[schema(min_length = 1, max_length = 300)]
    pub address: String,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub transport: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub supervisor: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub emergency_contact_name: String,
    #[validate(length(min = 5, max = 20))]
    #[schema(min_length = 5, max_length = 20)]
    pub emergency_contact_phone: String,
    /// Why the formalities were not done first, and what was done about it.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct HomeVisitConsent {
    /// The guardian, or the welfare centre's responsible person.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub given_by: String,
    pub relation: Relation,
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub given_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ChecklistConfirmation {
    pub item: SafetyItem,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub confirmed_by: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ChecklistInput {
    #[validate(length(min = 1, max = 6), nested)]
    #[schema(min_items = 1, max_items = 6)]
    pub items: Vec<ChecklistConfirmation>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct StepReason {
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ReturnConfirmation {
    /// When the child was back; now when absent.
    #[serde(default, deserialize_with = "tongxing_core::time::bounded")]
    pub returned_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = home_visit_requests)]
struct Row {
    id: String,
    pairing_id: String,
    holiday_id: String,
    status: DbText<HomeVisitStatus>,
    leaves_at: chrono::NaiveDateTime,
    returns_at: chrono::NaiveDateTime,
    address: String,
    transport: String,
    supervisor: String,
    emergency_contact_name: String,
    emergency_contact_phone: String,
    consent_given_by: Option<String>,
    consent_relation: Option<DbText<Relation>>,
    consent_given_at: Option<chrono::NaiveDateTime>,
    checklist: String,
    checklist_completed_at: Option<chrono::NaiveDateTime>,
    decided_by: Option<String>,
    decided_at: Option<chrono::NaiveDateTime>,
    decision_reason: Option<String>,
    returned_at: Option<chrono::NaiveDateTime>,
    late_reason: Option<String>,
    requested_by: String,
    version: i32,
}

/// The steps of the workflow, each allowed from some states only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Consent,
    Checklist,
    Approve,
    Reject,
    Cancel,
    Return,
}

/// Whether `step` may be taken now; the 409 names what is missing.
pub fn check_step(
    step: Step,
    status: HomeVisitStatus,
    consented: bool,
    checklist_complete: bool,
) -> Result<HomeVisitStatus> {
    use HomeVisitStatus::*;
    let refuse = |code: Code, detail: &str| Err(Error::conflict(code, detail));
    match (step, status) {
        (Step::Consent | Step::Checklist | Step::Approve, Expired) => refuse(
            Code::Expired,
            "the departure time has passed without approval; a visit that took place is recorded late by a coordinator",
        ),
        (Step::Consent, Requested) => Ok(Consented),
        (Step::Consent, _) => refuse(Code::IllegalStep, "consent is recorded once, before approval"),
        (Step::Checklist, Requested | Consented) => Ok(status),
        (Step::Checklist, _) => refuse(Code::IllegalStep, "the checklist is completed before approval"),
        (Step::Approve, Requested | Consented) if !consented => {
            refuse(Code::ConsentMissing, "the guardian's or welfare centre's consent is not recorded")
        }
        (Step::Approve, Consented) if !checklist_complete => {
            refuse(Code::ChecklistIncomplete, "every safety item must be confirmed first")
        }
        (Step::Approve, Consented) => Ok(Approved),
        (Step::Approve, _) => refuse(Code::IllegalStep, "only a pending request can be approved"),
        (Step::Reject, Requested | Consented) => Ok(Rejected),
        (Step::Reject, _) => refuse(Code::IllegalStep, "only a pending request can be rejected"),
        (Step::Cancel, Requested | Consented | Approved) => Ok(Cancelled),
        (Step::Cancel, _) => refuse(Code::IllegalStep, "the request is already closed"),
        (Step::Return, Approved) => Ok(Completed),
        (Step::Return, _) => refuse(Code::NotApproved, "only an approved visit can be completed"),
    }
}

fn ts(at: DateTime<Utc>) -> chrono::NaiveDateTime {
    time::to_db(at)
}

/// The checks a visit's dates and contact pass, planned or recorded late: the emergency phone is
/// dialable, the return follows the departure, the pairing (in the caller's scope) had begun by
/// the departure day and had not ended before the return day, and the days lie in one statutory
/// holiday period, which is answered.
fn check_visit(
    conn: &mut DbConnection,
    scope: &Scope,
    pairing_id: Uuid,
    leaves_at: DateTime<Utc>,
    returns_at: DateTime<Utc>,
    phone: &str,
) -> Result<(pairings::Pairing, holidays::Holiday)> {
    if returns_at <= leaves_at {
        return Err(Error::field("returns_at", "before_leaving", "the return is before the departure"));
    }
    if !tongxing_core::record::is_dialable(phone) {
        return Err(Error::field(
            "emergency_contact_phone",
            "format",
            "a phone number has only digits, spaces, + and -",
        ));
    }
    let pairing = pairings::get(conn, scope, pairing_id)
        .map_err(|e| e.missing_as_field("pairing_id", "no pairing with this id"))?
        .record;
    let (first, last) = (time::local_date(leaves_at), time::local_date(returns_at));
    let Some(started) = pairing.started_on else {
        return Err(Error::conflict(Code::PairingNotActive, "home visits are for active pairings"));
    };
    if first < started || pairing.ended_on.is_some_and(|ended| last > ended) {
        return Err(Error::conflict(
            Code::OutsidePairing,
            "the visit's dates lie outside the days the pairing was active",
        ));
    }
    let holiday = holidays::period_covering(conn, first, last)?.ok_or_else(|| {
        Error::conflict(
            Code::NotAHoliday,
            "a home visit must fall within one national statutory holiday period",
        )
    })?;
    Ok((pairing, holiday))
}

/// The columns a new request and a late record share.
struct NewVisit<'a> {
    id: Uuid,
    pairing_id: Uuid,
    holiday_id: Uuid,
    status: HomeVisitStatus,
    leaves_at: DateTime<Utc>,
    returns_at: DateTime<Utc>,
    address: &'a str,
    transport: &'a str,
    supervisor: &'a str,
    emergency_contact_name: &'a str,
    emergency_contact_phone: &'a str,
    late_reason: Option<&'a str>,
}

fn insert(conn: &mut DbConnection, actor: Uuid, v: NewVisit<'_>) -> Result<()> {
    let now = ts(time::now());
    diesel::insert_into(home_visit_requests::table)
        .values((
            home_visit_requests::id.eq(DbId(v.id)),
            home_visit_requests::pairing_id.eq(DbId(v.pairing_id)),
            home_visit_requests::holiday_id.eq(DbId(v.holiday_id)),
            home_visit_requests::status.eq(v.status.as_str()),
            home_visit_requests::leaves_at.eq(ts(v.leaves_at)),
            home_visit_requests::returns_at.eq(ts(v.returns_at)),
            home_visit_requests::address.eq(v.address.trim()),
            home_visit_requests::transport.eq(v.transport.trim()),
            home_visit_requests::supervisor.eq(v.supervisor.trim()),
            home_visit_requests::emergency_contact_name.eq(v.emergency_contact_name.trim()),
            home_visit_requests::emergency_contact_phone.eq(v.emergency_contact_phone.trim()),
            home_visit_requests::checklist.eq("[]"),
            home_visit_requests::late_reason.eq(v.late_reason),
            home_visit_requests::requested_by.eq(DbId(actor)),
            home_visit_requests::created_at.eq(now),
            home_visit_requests::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(())
}

/// Asks for a home visit on a pairing the caller reaches (a mentor: their own); another
/// pairing answers as one that does not exist. The formalities come first, so the departure
/// must still be ahead.
pub fn create(
    conn: &mut DbConnection,
    scope: &Scope,
    input: HomeVisitInput,
) -> Result<Versioned<HomeVisitRequest>> {
    let actor = scope.actor();
    let (pairing, holiday) = check_visit(
        conn,
        scope,
        input.pairing_id,
        input.leaves_at,
        input.returns_at,
        &input.emergency_contact_phone,
    )?;
    if pairing.status != PairingStatus::Active {
        return Err(Error::conflict(Code::PairingNotActive, "home visits are for active pairings"));
    }
    if input.leaves_at <= time::now() {
        return Err(Error::conflict(
            Code::DeparturePassed,
            "the formalities come before the visit; a visit that took place is recorded late by a coordinator",
        ));
    }
    let id = input.id.unwrap_or_else(id::new_id);
    insert(
        conn,
        actor,
        NewVisit {
            id,
            pairing_id: input.pairing_id,
            holiday_id: holiday.id,
            status: HomeVisitStatus::Requested,
            leaves_at: input.leaves_at,
            returns_at: input.returns_at,
            address: &input.address,
            transport: &input.transport,
            supervisor: &input.supervisor,
            emergency_contact_name: &input.emergency_contact_name,
            emergency_contact_phone: &input.emergency_contact_phone,
            late_reason: None,
        },
    )?;
    record_step(conn, id, "requested", actor, None)?;
    load(conn, id)
}

/// Records a visit that took place without prior approval: a coordinator's act (the access
/// policy admits coordinators only), on a pairing whose child's case file the caller holds.
/// The departure is in the past; the dates lie in the pairing's active interval and a
/// statutory holiday period, as for a request. The record is `recorded_late` from the start,
/// with its reason.
pub fn record_late(
    conn: &mut DbConnection,
    scope: &Scope,
    input: LateHomeVisitInput,
) -> Result<Versioned<HomeVisitRequest>> {
    let actor = scope.actor();
    let (pairing, holiday) = check_visit(
        conn,
        scope,
        input.pairing_id,
        input.leaves_at,
        input.returns_at,
        &input.emergency_contact_phone,
    )?;
    pairings::require_held(conn, scope, pairing.child_id)?;
    if input.leaves_at > time::now() {
        return Err(Error::field(
            "leaves_at",
            "in_future",
            "a visit still ahead is requested and approved first",
        ));
    }
    let reason = clean(Some(input.reason)).ok_or_else(|| Error::field("reason", "blank", "give a reason"))?;
    let id = input.id.unwrap_or_else(id::new_id);
    insert(
        conn,
        actor,
        NewVisit {
            id,
            pairing_id: input.pairing_id,
            holiday_id: holiday.id,
            status: HomeVisitStatus::RecordedLate,
            leaves_at: input.leaves_at,
            returns_at: input.returns_at,
            address: &input.address,
            transport: &input.transport,
            supervisor: &input.supervisor,
            emergency_contact_name: &input.emergency_contact_name,
            emergency_contact_phone: &input.emergency_contact_phone,
            late_reason: Some(&reason),
        },
    )?;
    record_step(conn, id, "recorded_late", actor, Some(reason))?;
    load(conn, id)
}

fn record_step(
    conn: &mut DbConnection,
    request: Uuid,
    step: &str,
    actor: Uuid,
    note: Option<String>,
) -> Result<()> {
    diesel::insert_into(home_visit_steps::table)
        .values((
            home_visit_steps::id.eq(id::new_id().to_string()),
            home_visit_steps::request_id.eq(DbId(request)),
            home_visit_steps::step.eq(step),
            home_visit_steps::actor_id.eq(DbId(actor)),
            home_visit_steps::at.eq(ts(time::now())),
            home_visit_steps::note.eq(note),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(())
}

/// One step of the workflow, applied if the request is still at `expected` (when given).
pub enum Action {
    Consent(HomeVisitConsent),
    Checklist(ChecklistInput),
    Approve,
    Reject(StepReason),
    Cancel(StepReason),
    Return(ReturnConfirmation),
}

/// Applies a step to a request of a pairing whose records the caller may change (see
/// [`pairings::require_held`]), answering the request before and after.
pub fn act(
    conn: &mut DbConnection,
    scope: &Scope,
    id: Uuid,
    action: Action,
    expected: Option<i32>,
) -> Result<(Versioned<HomeVisitRequest>, Versioned<HomeVisitRequest>)> {
    let actor = scope.actor();
    let current = get(conn, scope, id)?;
    pairings::require_held(conn, scope, current.record.child_id)?;
    if let Some(v) = expected {
        tongxing_core::record::check_version(current.version, v)?;
    }
    let r = &current.record;
    let step = match &action {
        Action::Consent(_) => Step::Consent,
        Action::Checklist(_) => Step::Checklist,
        Action::Approve => Step::Approve,
        Action::Reject(_) => Step::Reject,
        Action::Cancel(_) => Step::Cancel,
        Action::Return(_) => Step::Return,
    };
    let next = check_step(step, r.status, r.consent_given_at.is_some(), r.checklist_completed_at.is_some())?;
    let now = time::now();
    let target = home_visit_requests::table
        .filter(home_visit_requests::id.eq(DbId(id)))
        .filter(home_visit_requests::version.eq(current.version));
    let common = (
        home_visit_requests::status.eq(next.as_str()),
        home_visit_requests::updated_at.eq(ts(now)),
        home_visit_requests::version.eq(current.version + 1),
    );
    let (changed, label, note) = match action {
        Action::Consent(c) => {
            if time::is_future(c.given_at, now) {
                return Err(Error::field("given_at", "in_future", "consent cannot be given in the future"));
            }
            let n = diesel::update(target)
                .set((
                    common,
                    home_visit_requests::consent_given_by.eq(Some(c.given_by.trim().to_owned())),
                    home_visit_requests::consent_relation.eq(Some(c.relation.as_str())),
                    home_visit_requests::consent_given_at.eq(Some(ts(c.given_at))),
                ))
                .execute(conn);
            (n, "consented", Some(format!("{} ({})", c.given_by.trim(), c.relation)))
        }
        Action::Checklist(input) => {
            let mut list = r.checklist.clone();
            for c in input.items {
                list.retain(|e| e.item != c.item);
                list.push(ChecklistEntry {
                    item: c.item,
                    confirmed_by: c.confirmed_by.trim().to_owned(),
                    confirmed_at: now,
                });
            }
            list.sort_by_key(|e| SafetyItem::ALL.iter().position(|i| *i == e.item));
            let complete = SafetyItem::ALL.iter().all(|i| list.iter().any(|e| e.item == *i));
            let json = serde_json::to_string(&list).map_err(|e| Error::internal(e.to_string()))?;
            let n = diesel::update(target)
                .set((
                    common,
                    home_visit_requests::checklist.eq(json),
                    home_visit_requests::checklist_completed_at.eq(complete.then(|| ts(now))),
                ))
                .execute(conn);
            let note =
                list.iter().map(|e| format!("{}: {}", e.item, e.confirmed_by)).collect::<Vec<_>>().join("; ");
            (n, "checklist", Some(note))
        }
        Action::Approve => {
            let n = diesel::update(target)
                .set((
                    common,
                    home_visit_requests::decided_by.eq(Some(actor.to_string())),
                    home_visit_requests::decided_at.eq(Some(ts(now))),
                ))
                .execute(conn);
            (n, "approved", None)
        }
        Action::Reject(reason) | Action::Cancel(reason) => {
            let label = if next == HomeVisitStatus::Rejected { "rejected" } else { "cancelled" };
            let reason =
                clean(Some(reason.reason)).ok_or_else(|| Error::field("reason", "blank", "give a reason"))?;
            let n = diesel::update(target)
                .set((
                    common,
                    home_visit_requests::decided_by.eq(Some(actor.to_string())),
                    home_visit_requests::decided_at.eq(Some(ts(now))),
                    home_visit_requests::decision_reason.eq(Some(reason.clone())),
                ))
                .execute(conn);
            (n, label, Some(reason))
        }
        Action::Return(ret) => {
            let at = ret.returned_at.unwrap_or(now);
            if at < r.leaves_at || time::is_future(at, now) {
                return Err(Error::field(
                    "returned_at",
                    "out_of_range",
                    "the return is between the departure and now",
                ));
            }
            let n = diesel::update(target)
                .set((common, home_visit_requests::returned_at.eq(Some(ts(at)))))
                .execute(conn);
            (n, "returned", None)
        }
    };
    if changed.map_err(map_db_error)? == 0 {
        return Err(Error::PreconditionFailed);
    }
    record_step(conn, id, label, actor, note)?;
    Ok((current, load(conn, id)?))
}

/// Requests of the pairings the caller reaches.
fn condition(
    conn: &mut DbConnection,
    scope: &Scope,
) -> Result<Option<Condition<home_visit_requests::table>>> {
    Ok(pairings::pairing_ids(conn, scope)?
        .map(|ids| tongxing_cases::scope::condition(format!("home_visit_requests.pairing_id IN ({ids})"))))
}

/// The request, if the caller reaches its pairing; otherwise not found.
pub fn get(conn: &mut DbConnection, scope: &Scope, id: Uuid) -> Result<Versioned<HomeVisitRequest>> {
    let mut q = home_visit_requests::table
        .filter(home_visit_requests::id.eq(DbId(id)))
        .select(Row::as_select())
        .into_boxed();
    if let Some(cond) = condition(conn, scope)? {
        q = q.filter(cond);
    }
    let row = q.first(conn).map_err(not_found_as("home-visit request"))?;
    let record = assemble(conn, vec![row])?.pop().ok_or_else(|| Error::internal("request vanished"))?;
    let version = record.version;
    Ok(Versioned { record, version })
}

fn load(conn: &mut DbConnection, id: Uuid) -> Result<Versioned<HomeVisitRequest>> {
    let row = home_visit_requests::table
        .find(DbId(id))
        .select(Row::as_select())
        .first(conn)
        .map_err(not_found_as("home-visit request"))?;
    let record = assemble(conn, vec![row])?.pop().ok_or_else(|| Error::internal("request vanished"))?;
    let version = record.version;
    Ok(Versioned { record, version })
}

#[derive(Debug, Clone, Default)]
pub struct HomeVisitFilter {
    pub pairing_id: Option<Uuid>,
    pub status: Option<HomeVisitStatus>,
}

/// The most recent requests (at most 200) of the pairings the caller reaches, newest first.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &HomeVisitFilter,
) -> Result<Vec<HomeVisitRequest>> {
    Ok(list_page(conn, scope, filter, PageRequest { after: None, limit: 200 })?.items)
}

/// The requests [`list`] answers, newest first, a page at a time and past its first 200: each
/// page starts after `page.after`, the previous page's last (oldest) request. For a workbook
/// of them all, scoped as the list is.
pub fn list_page(
    conn: &mut DbConnection,
    scope: &Scope,
    filter: &HomeVisitFilter,
    page: PageRequest,
) -> Result<Page<HomeVisitRequest>> {
    let mut q = home_visit_requests::table
        .select(Row::as_select())
        .order(home_visit_requests::id.desc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(before) = page.after {
        q = q.filter(home_visit_requests::id.lt(DbId(before)));
    }
    if let Some(p) = filter.pairing_id {
        q = q.filter(home_visit_requests::pairing_id.eq(DbId(p)));
    }
    if let Some(s) = filter.status {
        let now = ts(time::now());
        let waiting = [HomeVisitStatus::Requested.as_str(), HomeVisitStatus::Consented.as_str()];
        q = match s {
            HomeVisitStatus::Expired => q
                .filter(home_visit_requests::status.eq_any(waiting))
                .filter(home_visit_requests::leaves_at.le(now)),
            HomeVisitStatus::Requested | HomeVisitStatus::Consented => q
                .filter(home_visit_requests::status.eq(s.as_str()))
                .filter(home_visit_requests::leaves_at.gt(now)),
            _ => q.filter(home_visit_requests::status.eq(s.as_str())),
        };
    }
    if let Some(cond) = condition(conn, scope)? {
        q = q.filter(cond);
    }
    let rows = q.load::<Row>(conn).map_err(map_db_error)?;
    Ok(Page::from_rows(assemble(conn, rows)?, page.limit, |r| r.id))
}

/// Adds each request's history, with one query for the whole list.
fn assemble(conn: &mut DbConnection, rows: Vec<Row>) -> Result<Vec<HomeVisitRequest>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let steps: Vec<(String, String, String, chrono::NaiveDateTime, Option<String>)> = home_visit_steps::table
        .filter(home_visit_steps::request_id.eq_any(&ids))
        .order(home_visit_steps::id.asc())
        .select((
            home_visit_steps::request_id,
            home_visit_steps::step,
            home_visit_steps::actor_id,
            home_visit_steps::at,
            home_visit_steps::note,
        ))
        .load(conn)
        .map_err(map_db_error)?;
    let pairing_ids: Vec<&str> = rows.iter().map(|r| r.pairing_id.as_str()).collect();
    let children: std::collections::HashMap<String, String> = {
        use tongxing_store::schema::pairings as p;
        p::table
            .filter(p::id.eq_any(&pairing_ids))
            .select((p::id, p::child_id))
            .load::<(String, String)>(conn)
            .map_err(map_db_error)?
            .into_iter()
            .collect()
    };
    let now = time::now();
    let mut histories: std::collections::HashMap<String, Vec<HomeVisitStep>> =
        std::collections::HashMap::new();
    for (request, step, actor, at, note) in steps {
        histories.entry(request).or_default().push(HomeVisitStep {
            step,
            actor_id: parse_id(&actor)?,
            at: time::from_db(at),
            note,
        });
    }
    rows.into_iter()
        .map(|row| {
            let checklist: Vec<ChecklistEntry> = serde_json::from_str(&row.checklist)
                .map_err(|e| Error::internal(format!("bad checklist: {e}")))?;
            Ok(HomeVisitRequest {
                history: histories.remove(&row.id).unwrap_or_default(),
                id: parse_id(&row.id)?,
                child_id: parse_id(
                    children
                        .get(&row.pairing_id)
                        .ok_or_else(|| Error::internal("request without a pairing"))?,
                )?,
                pairing_id: parse_id(&row.pairing_id)?,
                holiday_id: parse_id(&row.holiday_id)?,
                status: row.status.0.at(time::from_db(row.leaves_at), now),
                leaves_at: time::from_db(row.leaves_at),
                returns_at: time::from_db(row.returns_at),
                address: row.address,
                transport: row.transport,
                supervisor: row.supervisor,
                emergency_contact_name: row.emergency_contact_name,
                emergency_contact_phone: row.emergency_contact_phone,
                consent_given_by: row.consent_given_by,
                consent_relation: row.consent_relation.map(|x| x.0),
                consent_given_at: row.consent_given_at.map(time::from_db),
                checklist,
                checklist_completed_at: row.checklist_completed_at.map(time::from_db),
                decided_by: row.decided_by.as_deref().map(parse_id).transpose()?,
                decided_at: row.decided_at.map(time::from_db),
                decision_reason: row.decision_reason,
                returned_at: row.returned_at.map(time::from_db),
                late_reason: row.late_reason,
                requested_by: parse_id(&row.requested_by)?,
                version: row.version,
            })
        })
        .collect()
}

/// Checks that a home-visit contact rests on an approved visit of the same pairing (the caller's,
/// already resolved through their scope), on its dates.
pub fn check_contact(
    conn: &mut DbConnection,
    pairing: Uuid,
    request: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<()> {
    let request = request.ok_or_else(|| {
        Error::conflict(
            Code::HomeVisitNotApproved,
            "a home visit is logged against its approved home-visit request",
        )
    })?;
    // A request of another pairing answers as one that does not exist: the caller reaches this
    // pairing, not necessarily that one.
    let missing = || Error::field("home_visit_request_id", "not_found", "no home-visit request with this id");
    let r = load(conn, request)
        .map_err(|e| if matches!(e, Error::NotFound { .. }) { missing() } else { e })?
        .record;
    if r.pairing_id != pairing {
        return Err(missing());
    }
    if !matches!(
        r.status,
        HomeVisitStatus::Approved | HomeVisitStatus::Completed | HomeVisitStatus::RecordedLate
    ) {
        return Err(Error::conflict(Code::HomeVisitNotApproved, "the home-visit request is not approved"));
    }
    let day = time::local_date(at);
    if day < time::local_date(r.leaves_at) || day > time::local_date(r.returns_at) {
        return Err(Error::conflict(
            Code::OutsideHomeVisit,
            "the contact is outside the approved visit's dates",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use HomeVisitStatus::*;

    #[test]
    fn approval_needs_consent_and_the_checklist() {
        assert!(matches!(
            check_step(Step::Approve, Requested, false, true),
            Err(Error::Conflict { code: Code::ConsentMissing, .. })
        ));
        assert!(matches!(
            check_step(Step::Approve, Consented, true, false),
            Err(Error::Conflict { code: Code::ChecklistIncomplete, .. })
        ));
        assert_eq!(check_step(Step::Approve, Consented, true, true).unwrap(), Approved);
    }

    #[test]
    fn steps_follow_the_workflow() {
        assert_eq!(check_step(Step::Consent, Requested, false, false).unwrap(), Consented);
        assert!(check_step(Step::Consent, Consented, true, false).is_err());
        assert_eq!(check_step(Step::Checklist, Requested, false, false).unwrap(), Requested);
        assert!(check_step(Step::Checklist, Approved, true, true).is_err());
        assert!(matches!(
            check_step(Step::Return, Consented, true, true),
            Err(Error::Conflict { code: Code::NotApproved, .. })
        ));
        assert_eq!(check_step(Step::Return, Approved, true, true).unwrap(), Completed);
        assert!(check_step(Step::Cancel, Completed, true, true).is_err());
        assert!(check_step(Step::Reject, Approved, true, true).is_err());
        assert_eq!(check_step(Step::Cancel, Approved, true, true).unwrap(), Cancelled);
    }
}
