//! Property test: on random data, the database's summary equals the plain-Rust reading of the
//! definitions (`tongxing_reporting::reference`), for random periods and regions, on both
//! backends. Timestamps cluster around Shanghai midnight to probe the day boundaries.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use tongxing_reporting::reference::{self, ChildRecord, ContactRecord, Dataset, EventRecord};
use tongxing_reporting::scope::Coverage;
use tongxing_reporting::summary;
use tongxing_reporting::suppression::Threshold;
use tongxing_store::DbConnection;
use tongxing_store::schema::{
    assessments, children, contacts, event_attendance, event_roster, events, households, organisations,
    regions, users, volunteers,
};
use uuid::Uuid;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(the_summary_matches_its_definitions_on_random_data);

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound.max(1)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.next(items.len() as u64) as usize]
    }

    fn day(&mut self) -> NaiveDate {
        NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + Duration::days(self.next(730) as i64)
    }

    /// An instant, often a minute either side of Shanghai midnight (16:00 UTC).
    fn instant(&mut self) -> DateTime<Utc> {
        let day = self.day();
        let base = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap());
        match self.next(3) {
            0 => base + Duration::hours(15) + Duration::minutes(59),
            1 => base + Duration::hours(16),
            _ => base + Duration::minutes(self.next(1440) as i64),
        }
    }
}

fn ts(t: DateTime<Utc>) -> chrono::NaiveDateTime {
    t.naive_utc()
}

fn generate(conn: &mut DbConnection, seed: u64) -> Dataset {
    let mut rng = Lcg(seed);
    let mut data = Dataset::default();
    let rows: Vec<(String, Option<String>, String)> =
        regions::table.select((regions::id, regions::parent_id, regions::level)).load(conn).unwrap();
    let mut villages = Vec::new();
    for (id, parent, level) in rows {
        let id = Uuid::parse_str(&id).unwrap();
        data.regions.insert(id, parent.map(|p| Uuid::parse_str(&p).unwrap()));
        if level == "village" {
            villages.push(id);
        }
    }
    let actor: String = users::table.select(users::id).first(conn).unwrap();
    let now = Utc::now().naive_utc();
    let org = Uuid::now_v7().to_string();
    diesel::insert_into(organisations::table)
        .values((
            organisations::id.eq(&org),
            organisations::name.eq(format!("org {seed}")),
            organisations::kind.eq("social_organisation"),
            organisations::created_at.eq(now),
            organisations::updated_at.eq(now),
        ))
        .execute(conn)
        .unwrap();
    let mut household_ids = Vec::new();
    for _ in 0..25 {
        let id = Uuid::now_v7();
        let region = rng.pick(&villages);
        diesel::insert_into(households::table)
            .values((
                households::id.eq(id.to_string()),
                households::region_id.eq(region.to_string()),
                households::created_by.eq(&actor),
                households::created_at.eq(now),
                households::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        data.households.insert(id, region);
        household_ids.push(id);
    }
    let mut child_ids = Vec::new();
    for i in 0..50 {
        let id = Uuid::now_v7();
        let region = rng.pick(&villages);
        let registered_on = (rng.next(2) == 0).then(|| rng.day());
        diesel::insert_into(children::table)
            .values((
                children::id.eq(id.to_string()),
                children::region_id.eq(region.to_string()),
                children::name.eq(format!("child {i}")),
                children::sex.eq("female"),
                children::birth_date.eq(NaiveDate::from_ymd_opt(2012, 1, 1).unwrap()),
                children::status.eq(if registered_on.is_some() { "registered" } else { "screening" }),
                children::case_number.eq(registered_on.map(|_| format!("P{seed}-{i}"))),
                children::registered_on.eq(registered_on),
                children::created_by.eq(&actor),
                children::created_at.eq(now),
                children::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        data.children.push(ChildRecord { id, region, registered_on });
        child_ids.push(id);
    }
    for _ in 0..250 {
        let kind = rng.pick(&["phone_visit", "phone_visit", "home_visit", "school_visit", "centre_visit"]);
        let (household, child) = if kind == "phone_visit" {
            (Some(rng.pick(&household_ids)), None)
        } else {
            (None, Some(rng.pick(&child_ids)))
        };
        let at = rng.instant();
        let completed = rng.next(4) != 0;
        diesel::insert_into(contacts::table)
            .values((
                contacts::id.eq(Uuid::now_v7().to_string()),
                contacts::kind.eq(kind),
                contacts::household_id.eq(household.map(|h| h.to_string())),
                contacts::child_id.eq(child.map(|c| c.to_string())),
                contacts::occurred_at.eq(ts(at)),
                contacts::made_by.eq(&actor),
                contacts::outcome.eq(if completed { "completed" } else { "not_reached" }),
                contacts::created_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        data.contacts.push(ContactRecord { kind, household, child, at, completed });
    }
    let mut volunteer_ids = Vec::new();
    for i in 0..8 {
        let id = Uuid::now_v7();
        diesel::insert_into(volunteers::table)
            .values((
                volunteers::id.eq(id.to_string()),
                volunteers::name.eq(format!("v{i}")),
                volunteers::source.eq("community"),
                volunteers::skills.eq(""),
                volunteers::created_at.eq(now),
                volunteers::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        volunteer_ids.push(id);
    }
    for i in 0..40 {
        let id = Uuid::now_v7();
        let event_type = rng.pick(&[
            "quarterly_theme",
            "care",
            "visit_and_comfort",
            "mental_health_consultation",
            "other",
        ]);
        let status = rng.pick(&["planned", "held", "reported", "cancelled"]);
        let starts_at = rng.instant();
        let region = rng.pick(&villages);
        diesel::insert_into(events::table)
            .values((
                events::id.eq(id.to_string()),
                events::title.eq(format!("event {i}")),
                events::event_type.eq(event_type),
                events::programme.eq("five_plus_n"),
                events::starts_at.eq(ts(starts_at)),
                events::ends_at.eq(ts(starts_at + Duration::hours(2))),
                events::region_id.eq(region.to_string()),
                events::organiser_id.eq(&org),
                events::service_forms.eq(""),
                events::status.eq(status),
                events::cancel_reason.eq((status == "cancelled").then_some("rain")),
                events::created_by.eq(&actor),
                events::created_at.eq(now),
                events::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        data.events.push(EventRecord { id, event_type, status, starts_at, region });
        let mut seen = std::collections::HashSet::new();
        for _ in 0..rng.next(4) {
            let v = rng.pick(&volunteer_ids);
            if seen.insert(v) {
                let minutes = (rng.next(16) * 15) as i64;
                diesel::insert_into(event_roster::table)
                    .values((
                        event_roster::id.eq(Uuid::now_v7().to_string()),
                        event_roster::event_id.eq(id.to_string()),
                        event_roster::volunteer_id.eq(v.to_string()),
                        event_roster::role.eq("volunteer"),
                        event_roster::minutes.eq(minutes as i32),
                        event_roster::created_at.eq(now),
                    ))
                    .execute(conn)
                    .unwrap();
                data.roster.push((id, v, minutes));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for _ in 0..rng.next(6) {
            let c = rng.pick(&child_ids);
            if seen.insert(c) {
                diesel::insert_into(event_attendance::table)
                    .values((
                        event_attendance::id.eq(Uuid::now_v7().to_string()),
                        event_attendance::event_id.eq(id.to_string()),
                        event_attendance::child_id.eq(c.to_string()),
                        event_attendance::recorded_by.eq(&actor),
                        event_attendance::created_at.eq(now),
                    ))
                    .execute(conn)
                    .unwrap();
                data.attendance.push((id, c));
            }
        }
    }
    for _ in 0..60 {
        let c = rng.pick(&child_ids);
        let day = rng.day();
        diesel::insert_into(assessments::table)
            .values((
                assessments::id.eq(Uuid::now_v7().to_string()),
                assessments::child_id.eq(c.to_string()),
                assessments::assessed_on.eq(day),
                assessments::assessor_id.eq(&actor),
                assessments::living_conditions_score.eq(3),
                assessments::psychological_state_score.eq(3),
                assessments::study_score.eq(3),
                assessments::social_development_score.eq(3),
                assessments::risk_level.eq("medium"),
                assessments::created_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
        data.assessments.push((c, day));
    }
    data
}

async fn the_summary_matches_its_definitions_on_random_data(app: TestApp) {
    let db = app.state.db.clone();
    let checked = actix_web::web::block(move || {
        let mut conn = db.conn().unwrap();
        let mut data = Dataset::default();
        // Several datasets accumulate in one database; the reference sees all of them.
        let mut checked = 0;
        for seed in [7_u64, 1_234, 99_991] {
            let more = generate(&mut conn, seed);
            data.regions.extend(more.regions);
            data.households.extend(more.households);
            data.children.extend(more.children);
            data.contacts.extend(more.contacts);
            data.events.extend(more.events);
            data.attendance.extend(more.attendance);
            data.roster.extend(more.roster);
            data.assessments.extend(more.assessments);
            let regions: Vec<Uuid> = data.regions.keys().copied().collect();
            let mut rng = Lcg(seed ^ 0x5eed);
            for _ in 0..15 {
                let from = (rng.next(4) != 0).then(|| rng.day());
                let to = match from {
                    Some(f) => f + Duration::days(rng.next(400) as i64),
                    None => rng.day(),
                };
                let region = (rng.next(3) != 0).then(|| rng.pick(&regions));
                let system = tongxing_core::access::Scope::system();
                let scope =
                    Coverage::resolve(&mut conn, &system, from, Some(to), region, Threshold::default())
                        .unwrap();
                let sql = summary::summary(&mut conn, &scope).unwrap();
                let expected = reference::summary(&data, from, to, region);
                let got = reference::Figures {
                    children_registered: sql.children_registered.unwrap(),
                    families_phoned: sql.families_phoned.unwrap(),
                    children_visited: sql.children_visited.unwrap(),
                    events_held_by_type: sql.events_held_by_type.clone(),
                    children_attending_events: sql.children_attending_events.unwrap(),
                    volunteers_active: sql.volunteers_active,
                    volunteer_minutes: (sql.volunteer_hours * 60.0).round() as i64,
                    children_assessed: sql.children_assessed.unwrap(),
                };
                assert_eq!(got, expected, "seed {seed}, from {from:?}, to {to}, region {region:?}");
                checked += 1;
            }
        }
        checked
    })
    .await
    .unwrap();
    assert_eq!(checked, 45);
}
