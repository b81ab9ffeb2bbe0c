//! Contacts between a mentor and their paired child. A commemorative outing is a contact of
//! kind `outing` marked commemorative, with a title. A contact must fall inside the pairing's
//! active interval (Shanghai dates).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use tongxing_core::Code;
use tongxing_core::access::Scope;
use tongxing_core::error::FieldErrors;
use tongxing_core::page::{Page, PageRequest};
use tongxing_core::record::{clean, parse_id};
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::pair_contacts;
use tongxing_store::{DbConnection, DbId, DbText, map_db_error};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::home_visits;
pub use crate::kinds::PairContactKind;
use crate::kinds::RuleSubject;
use crate::pairings::{self, PairingStatus};
use crate::tallies;
pub use tongxing_cases::contacts::ContactOutcome;

text_enum! {
    /// What the mentor and child did together.
    pub enum Topic {
        StudyGuidance => "study_guidance",
        LifeSkills => "life_skills",
        Talk => "talk",
        Other => "other",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PairContact {
    pub id: Uuid,
    pub pairing_id: Uuid,
    /// The pairing's child.
    pub child_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub kind: PairContactKind,
    /// `completed`, or `not_reached` for an attempt that failed (an unanswered call): only
    /// completed contacts count toward a rule.
    pub outcome: ContactOutcome,
    pub topics: Vec<Topic>,
    pub duration_minutes: Option<i32>,
    /// A commemorative activity (counts for the yearly outing rule).
    pub commemorative: bool,
    pub title: Option<String>,
    pub notes: Option<String>,
    pub home_visit_request_id: Option<Uuid>,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PairContactInput {
    /// Client-chosen id (UUID); generated when absent.
    pub id: Option<Uuid>,
    /// When it happened (RFC 3339 with a zone); inside the pairing's active interval, not in
    /// the future, and at most 20 years ago.
    #[serde(deserialize_with = "tongxing_core::time::bounded")]
    pub occurred_at: DateTime<Utc>,
    pub kind: PairContactKind,
    /// `completed` when absent; a `not_reached` attempt is kept and counts toward no rule.
    #[serde(default = "completed")]
    #[schema(default = "completed")]
    pub outcome: ContactOutcome,
    #[serde(default)]
    #[validate(length(max = 4))]
    #[schema(max_items = 4)]
    pub topics: Vec<Topic>,
    #[validate(range(min = 1, max = 4320))]
    #[schema(minimum = 1, maximum = 4320)]
    pub duration_minutes: Option<i32>,
    /// Only for an `outing`, which then needs a `title`.
    #[serde(default)]
    pub commemorative: bool,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[validate(length(max = 4000))]
    #[schema(max_length = 4000)]
    pub notes: Option<String>,
    /// For a `home_visit`: the approved holiday home-visit request it belongs to.
    pub home_visit_request_id: Option<Uuid>,
}

fn completed() -> ContactOutcome {
    ContactOutcome::Completed
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = pair_contacts)]
struct ContactRow {
    id: DbId,
    pairing_id: DbId,
    occurred_at: chrono::NaiveDateTime,
    kind: DbText<PairContactKind>,
    topics: String,
    duration_minutes: Option<i32>,
    commemorative: bool,
    title: Option<String>,
    notes: Option<String>,
    recorded_by: String,
    created_at: chrono::NaiveDateTime,
    home_visit_request_id: Option<DbId>,
    outcome: DbText<ContactOutcome>,
}

impl ContactRow {
    fn into_contact(self, child_id: Uuid) -> Result<PairContact> {
        let topics = self
            .topics
            .split(',')
            .filter(|t| !t.is_empty())
            .map(Topic::from_db)
            .collect::<Result<Vec<_>>>()?;
        Ok(PairContact {
            id: self.id.0,
            pairing_id: self.pairing_id.0,
            child_id,
            occurred_at: time::from_db(self.occurred_at),
            kind: self.kind.0,
            outcome: self.outcome.0,
            topics,
            duration_minutes: self.duration_minutes,
            commemorative: self.commemorative,
            title: self.title,
            notes: self.notes,
            home_visit_request_id: self.home_visit_request_id.map(Uuid::from),
            recorded_by: parse_id(&self.recorded_by)?,
            created_at: time::from_db(self.created_at),
        })
    }
}

/// Checks a contact against the pairing's active interval and the outing rules.
pub fn check(
    input: &PairContactInput,
    status: PairingStatus,
    interval: (Option<NaiveDate>, Option<NaiveDate>),
    now: DateTime<Utc>,
) -> Result<()> {
    let mut errs = FieldErrors::new();
    if input.commemorative && input.kind != PairContactKind::Outing {
        errs.push("commemorative", "not_an_outing", "only an outing can be commemorative");
    }
    if input.commemorative && input.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
        errs.push("title", "required", "a commemorative outing needs a title");
    }
    let mut sorted = input.topics.clone();
    sorted.sort_by_key(|t| t.as_str());
    sorted.dedup();
    if sorted.len() != input.topics.len() {
        errs.push("topics", "duplicate", "a topic is listed twice");
    }
    if input.home_visit_request_id.is_some() && input.kind != PairContactKind::HomeVisit {
        errs.push(
            "home_visit_request_id",
            "not_a_home_visit",
            "only a home visit refers to a home-visit request",
        );
    }
    errs.take("occurred_at", time::check_took_place("occurred_at", input.occurred_at, now, "contact"));
    errs.finish()?;
    if status == PairingStatus::Proposed {
        return Err(Error::conflict(Code::PairingNotActive, "the pairing has not started"));
    }
    let day = time::local_date(input.occurred_at);
    let (start, end) = interval;
    if start.is_some_and(|s| day < s) || end.is_some_and(|e| day > e) {
        return Err(Error::conflict(
            Code::OutsideActiveInterval,
            "the contact falls outside the pairing's active interval",
        ));
    }
    Ok(())
}

/// Records a contact of a pairing the caller reaches (a mentor: their own).
pub fn create(
    conn: &mut DbConnection,
    scope: &Scope,
    pairing: Uuid,
    input: PairContactInput,
) -> Result<PairContact> {
    let actor = scope.actor();
    let p = pairings::get(conn, scope, pairing)?.record;
    check(&input, p.status, (p.started_on, p.ended_on), time::now())?;
    if input.kind == PairContactKind::HomeVisit && input.outcome == ContactOutcome::Completed {
        home_visits::check_contact(conn, pairing, input.home_visit_request_id, input.occurred_at)?;
    }
    let id = input.id.unwrap_or_else(id::new_id);
    let topics: Vec<&str> = input.topics.iter().map(|t| t.as_str()).collect();
    diesel::insert_into(pair_contacts::table)
        .values((
            pair_contacts::id.eq(DbId(id)),
            pair_contacts::pairing_id.eq(DbId(pairing)),
            pair_contacts::occurred_at.eq(time::to_db(input.occurred_at)),
            pair_contacts::kind.eq(input.kind.as_str()),
            pair_contacts::outcome.eq(input.outcome.as_str()),
            pair_contacts::topics.eq(topics.join(",")),
            pair_contacts::duration_minutes.eq(input.duration_minutes),
            pair_contacts::commemorative.eq(input.commemorative),
            pair_contacts::title.eq(clean(input.title)),
            pair_contacts::notes.eq(clean(input.notes)),
            pair_contacts::home_visit_request_id.eq(input.home_visit_request_id.map(|r| r.to_string())),
            pair_contacts::recorded_by.eq(DbId(actor)),
            pair_contacts::created_at.eq(time::to_db(time::now())),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    if input.outcome == ContactOutcome::Completed {
        tallies::count(
            conn,
            RuleSubject::Pairing,
            pairing,
            input.kind.as_str(),
            input.commemorative,
            input.occurred_at,
        )?;
    }
    pair_contacts::table
        .find(DbId(id))
        .select(ContactRow::as_select())
        .first(conn)
        .map_err(map_db_error)?
        .into_contact(p.child_id)
}

/// The contacts of a pairing the caller reaches, oldest recorded first, with the pairing's child.
pub fn list(
    conn: &mut DbConnection,
    scope: &Scope,
    pairing: Uuid,
    page: PageRequest,
) -> Result<(Uuid, Page<PairContact>)> {
    let child = pairings::get(conn, scope, pairing)?.record.child_id;
    let mut q = pair_contacts::table
        .filter(pair_contacts::pairing_id.eq(DbId(pairing)))
        .select(ContactRow::as_select())
        .order(pair_contacts::id.asc())
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(pair_contacts::id.gt(DbId(after)));
    }
    let rows = q.limit(page.fetch()).load::<ContactRow>(conn).map_err(map_db_error)?;
    let items = rows.into_iter().map(|r| r.into_contact(child)).collect::<Result<Vec<_>>>()?;
    Ok((child, Page::from_rows(items, page.limit, |c| c.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn input(kind: PairContactKind, at: DateTime<Utc>) -> PairContactInput {
        PairContactInput {
            outcome: ContactOutcome::Completed,
            id: None,
            occurred_at: at,
            kind,
            topics: vec![Topic::Talk],
            duration_minutes: Some(30),
            commemorative: false,
            title: None,
            notes: None,
            home_visit_request_id: None,
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn contacts_fall_inside_the_active_interval_in_shanghai_days() {
        let now = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
        let interval = (Some(d(2023, 12, 29)), Some(d(2024, 3, 15)));
        // 16:30 UTC on 28 December is 00:30 on 29 December in Shanghai: inside.
        let first_day = Utc.with_ymd_and_hms(2023, 12, 28, 16, 30, 0).unwrap();
        assert!(
            check(&input(PairContactKind::Phone, first_day), PairingStatus::Ended, interval, now).is_ok()
        );
        let before = Utc.with_ymd_and_hms(2023, 12, 28, 15, 30, 0).unwrap();
        assert!(check(&input(PairContactKind::Phone, before), PairingStatus::Ended, interval, now).is_err());
        let after = Utc.with_ymd_and_hms(2024, 3, 15, 16, 0, 0).unwrap();
        assert!(check(&input(PairContactKind::Phone, after), PairingStatus::Ended, interval, now).is_err());
        assert!(
            check(&input(PairContactKind::Phone, first_day), PairingStatus::Proposed, (None, None), now)
                .is_err()
        );
    }

    #[test]
    fn commemorative_means_an_outing_with_a_title() {
        let now = Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap();
        let at = Utc.with_ymd_and_hms(2024, 5, 1, 2, 0, 0).unwrap();
        let interval = (Some(d(2023, 12, 29)), None);
        let mut i = input(PairContactKind::Outing, at);
        i.commemorative = true;
        assert!(check(&i, PairingStatus::Active, interval, now).is_err());
        i.title = Some("参观烈士陵园".into());
        assert!(check(&i, PairingStatus::Active, interval, now).is_ok());
        i.kind = PairContactKind::Phone;
        assert!(check(&i, PairingStatus::Active, interval, now).is_err());
    }
}
