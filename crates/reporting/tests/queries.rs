//! The report queries against a small fixture, on each backend, without HTTP. Every expected
//! figure is counted by hand from the fixture below; the comment beside it says how.
//!
//! The fixture (Shanghai dates; the database stores UTC, eight hours behind). The report
//! period is March 2024, `2024-03-01..=2024-03-31`.
//!
//! ```text
//! city C ─┬─ town T ─┬─ village V1   households H1, H4   children K1, K2, K6
//!         │          └─ village V2   household H2        children K3, K4
//!         └─ town T2 ─── village W   household H3        child K5
//!
//! child  village  status     file opened  categories
//! K1     V1       registered 2024-03-05   left-behind
//! K2     V1       active     2024-03-31   orphaned or disabled, left-behind
//! K3     V2       registered 2024-02-29   in difficulty
//! K4     V2       screening  —            —
//! K5     W        registered 2024-03-10   left-behind
//! K6     V1       registered 2024-04-01   —
//! ```

use chrono::NaiveDate;
use diesel::RunQueryDsl;
use tongxing_core::access::Scope;
use tongxing_pairing::rules::RuleSubject;
use tongxing_reporting::scope::Coverage;
use tongxing_reporting::suppression::Threshold;
use tongxing_reporting::{assessments, compliance, events, summary};
use tongxing_store::testing::{TestDb, backends};
use tongxing_store::{Backend, DbConnection};
use uuid::Uuid;

/// A readable id: `kind` names the table, `n` the row.
fn id(kind: u32, n: u32) -> String {
    format!("{kind:08x}-0000-7000-8000-{n:012x}")
}

const USER: u32 = 0x1;
const REGION: u32 = 0x2;
const HOUSEHOLD: u32 = 0x3;
const CHILD: u32 = 0x4;
const CONTACT: u32 = 0x5;
const ASSESSMENT: u32 = 0x6;
const ORGANISATION: u32 = 0x7;
const VOLUNTEER: u32 = 0x8;
const EVENT: u32 = 0x9;
const ROSTER: u32 = 0xa;
const ATTENDANCE: u32 = 0xb;
const MENTOR: u32 = 0xc;
const PAIRING: u32 = 0xd;
const PAIR_CONTACT: u32 = 0xe;
const EXEMPTION: u32 = 0xf;

// Regions.
const C: u32 = 1;
const T: u32 = 2;
const V1: u32 = 3;
const V2: u32 = 4;
const T2: u32 = 5;
const W: u32 = 6;

/// The monthly contact rule the migrations seed.
const MONTHLY_CONTACT: &str = "00000000-0000-7000-8000-00000000c001";

fn exec(conn: &mut DbConnection, sql: &str) {
    diesel::sql_query(sql).execute(conn).unwrap_or_else(|e| panic!("{e}: {sql}"));
}

fn fixture(conn: &mut DbConnection) {
    let u = id(USER, 1);
    let at = "'2024-01-01 00:00:00'";
    exec(
        conn,
        &format!(
            "INSERT INTO users (id, username, display_name, password_hash, role, created_at, updated_at) \
             VALUES ('{u}', 'fixture', 'Fixture', 'x', 'admin', {at}, {at})"
        ),
    );
    let r = |n| id(REGION, n);
    for (n, parent, level, path) in [
        (C, None, "city", format!("/{}/", r(C))),
        (T, Some(C), "town", format!("/{}/{}/", r(C), r(T))),
        (V1, Some(T), "village", format!("/{}/{}/{}/", r(C), r(T), r(V1))),
        (V2, Some(T), "village", format!("/{}/{}/{}/", r(C), r(T), r(V2))),
        (T2, Some(C), "town", format!("/{}/{}/", r(C), r(T2))),
        (W, Some(T2), "village", format!("/{}/{}/{}/", r(C), r(T2), r(W))),
    ] {
        let parent = parent.map_or("NULL".to_owned(), |p| format!("'{}'", r(p)));
        exec(
            conn,
            &format!(
                "INSERT INTO regions (id, parent_id, level, name, path, created_at, updated_at) \
                 VALUES ('{}', {parent}, '{level}', 'region {n}', '{path}', {at}, {at})",
                r(n)
            ),
        );
    }
    for (n, region) in [(1, V1), (2, V2), (3, W), (4, V1)] {
        exec(
            conn,
            &format!(
                "INSERT INTO households (id, region_id, created_by, created_at, updated_at) \
                 VALUES ('{}', '{}', '{u}', {at}, {at})",
                id(HOUSEHOLD, n),
                r(region)
            ),
        );
    }
    // (child, household, village, status, file opened, in welfare centre, left-behind, in difficulty)
    for (n, household, region, status, opened, centre, left, difficulty) in [
        (1, 1, V1, "registered", Some("2024-03-05"), false, true, false),
        (2, 1, V1, "active", Some("2024-03-31"), true, true, false),
        (3, 2, V2, "registered", Some("2024-02-29"), false, false, true),
        (4, 2, V2, "screening", None, false, false, false),
        (5, 3, W, "registered", Some("2024-03-10"), false, true, false),
        (6, 4, V1, "registered", Some("2024-04-01"), false, false, false),
    ] {
        let (case, opened) = match opened {
            Some(d) => (format!("'CN-{n}'"), format!("'{d}'")),
            None => ("NULL".to_owned(), "NULL".to_owned()),
        };
        exec(
            conn,
            &format!(
                "INSERT INTO children (id, household_id, region_id, name, sex, birth_date, in_welfare_centre, \
                 left_behind, in_difficulty, status, case_number, registered_on, created_by, created_at, updated_at) \
                 VALUES ('{}', '{}', '{}', 'child {n}', 'female', '2014-05-01', {centre}, {left}, {difficulty}, \
                 '{status}', {case}, {opened}, '{u}', {at}, {at})",
                id(CHILD, n),
                id(HOUSEHOLD, household),
                r(region)
            ),
        );
    }
    // Case-work contacts: (n, kind, household, child, outcome, when in UTC).
    for (n, kind, household, child, outcome, when) in [
        // Phone visits.
        (1, "phone_visit", Some(1), None, "completed", "2024-03-02 02:00:00"), // H1, 2 Mar 10:00
        (2, "phone_visit", Some(1), None, "completed", "2024-03-20 02:00:00"), // H1 again
        (3, "phone_visit", Some(2), None, "not_reached", "2024-03-15 02:00:00"), // H2, not reached
        (4, "phone_visit", Some(2), None, "completed", "2024-02-29 16:30:00"), // H2, 1 Mar 00:30
        (5, "phone_visit", Some(3), None, "completed", "2024-03-03 02:00:00"), // H3, in W
        (6, "phone_visit", Some(4), None, "completed", "2024-02-29 15:30:00"), // H4, 29 Feb 23:30
        // In-person visits.
        (7, "home_visit", None, Some(1), "completed", "2024-03-06 02:00:00"), // K1
        (8, "school_visit", None, Some(1), "completed", "2024-03-07 02:00:00"), // K1 again
        (9, "centre_visit", None, Some(3), "not_reached", "2024-03-08 02:00:00"), // K3, not reached
        (10, "home_visit", None, Some(4), "completed", "2024-03-31 15:00:00"), // K4, 31 Mar 23:00
        (11, "home_visit", None, Some(2), "completed", "2024-03-31 16:10:00"), // K2, 1 Apr 00:10
    ] {
        let household = household.map_or("NULL".to_owned(), |h| format!("'{}'", id(HOUSEHOLD, h)));
        let child = child.map_or("NULL".to_owned(), |c| format!("'{}'", id(CHILD, c)));
        exec(
            conn,
            &format!(
                "INSERT INTO contacts (id, kind, household_id, child_id, occurred_at, made_by, outcome, created_at) \
                 VALUES ('{}', '{kind}', {household}, {child}, '{when}', '{u}', '{outcome}', {at})",
                id(CONTACT, n)
            ),
        );
    }
    // Assessments: (n, child, day, four scores, risk).
    for (n, child, day, s, risk) in [
        (1, 1, "2024-03-10", [2, 3, 3, 2], "high"),
        (2, 1, "2024-03-25", [3, 3, 4, 3], "medium"),
        (3, 3, "2024-03-12", [4, 4, 4, 4], "low"),
        (4, 5, "2024-03-12", [1, 1, 1, 1], "high"),
        (5, 2, "2024-02-28", [5, 5, 5, 5], "low"),
    ] {
        exec(
            conn,
            &format!(
                "INSERT INTO assessments (id, child_id, assessed_on, assessor_id, living_conditions_score, \
                 psychological_state_score, study_score, social_development_score, risk_level, created_at) \
                 VALUES ('{}', '{}', '{day}', '{u}', {}, {}, {}, {}, '{risk}', {at})",
                id(ASSESSMENT, n),
                id(CHILD, child),
                s[0],
                s[1],
                s[2],
                s[3]
            ),
        );
    }
    let org = id(ORGANISATION, 1);
    exec(
        conn,
        &format!(
            "INSERT INTO organisations (id, name, kind, created_at, updated_at) \
             VALUES ('{org}', 'Volunteer team', 'social_organisation', {at}, {at})"
        ),
    );
    for n in 1..=2 {
        exec(
            conn,
            &format!(
                "INSERT INTO volunteers (id, name, source, organisation_id, skills, created_at, updated_at) \
                 VALUES ('{}', 'volunteer {n}', 'community', '{org}', '', {at}, {at})",
                id(VOLUNTEER, n)
            ),
        );
    }
    // Events: (n, village, type, status, starts in UTC, service forms, other participants).
    for (n, region, kind, status, starts, forms, others) in [
        (1, V1, "care", "held", "2024-03-09 02:00:00", "reading_companionship", 5),
        (2, W, "quarterly_theme", "reported", "2024-03-16 02:00:00", "handicrafts", 0),
        (3, V2, "visit_and_comfort", "planned", "2024-03-20 02:00:00", "handicrafts", 0),
        (4, V2, "care", "cancelled", "2024-03-21 02:00:00", "handicrafts", 0),
        (5, V2, "visit_and_comfort", "held", "2024-03-31 16:30:00", "handicrafts", 0), // 1 Apr 00:30
        (6, V1, "care", "held", "2024-02-29 16:00:00", "reading_companionship,handicrafts", 0), // 1 Mar 00:00
    ] {
        let cancel = if status == "cancelled" { "'rain'" } else { "NULL" };
        exec(
            conn,
            &format!(
                "INSERT INTO events (id, title, event_type, programme, starts_at, ends_at, region_id, organiser_id, \
                 service_forms, other_participants, status, cancel_reason, created_by, created_at, updated_at) \
                 VALUES ('{}', 'event {n}', '{kind}', 'one_plus_n', '{starts}', '{starts}', '{}', '{org}', \
                 '{forms}', {others}, '{status}', {cancel}, '{u}', {at}, {at})",
                id(EVENT, n),
                r(region)
            ),
        );
    }
    // Roster: (n, event, volunteer, minutes).
    for (n, event, volunteer, minutes) in
        [(1, 1, 1, 120), (2, 1, 2, 90), (3, 2, 1, 60), (4, 3, 2, 30), (5, 6, 2, 45)]
    {
        exec(
            conn,
            &format!(
                "INSERT INTO event_roster (id, event_id, volunteer_id, role, minutes, created_at) \
                 VALUES ('{}', '{}', '{}', 'volunteer', {minutes}, {at})",
                id(ROSTER, n),
                id(EVENT, event),
                id(VOLUNTEER, volunteer)
            ),
        );
    }
    // Attendance: (n, event, child, guardian present).
    for (n, event, child, guardian) in [
        (1, 1, 1, true),
        (2, 1, 5, false),
        (3, 1, 3, false),
        (4, 2, 2, false),
        (5, 2, 5, false),
        (6, 5, 4, false),
        (7, 6, 1, false),
        (8, 6, 2, false),
    ] {
        exec(
            conn,
            &format!(
                "INSERT INTO event_attendance (id, event_id, child_id, guardian_present, recorded_by, created_at) \
                 VALUES ('{}', '{}', '{}', {guardian}, '{u}', {at})",
                id(ATTENDANCE, n),
                id(EVENT, event),
                id(CHILD, child)
            ),
        );
    }
    // Mentors: (n, organisation).
    for (n, organisation) in [(1, Some("Bureau")), (2, Some("Bureau")), (3, None), (4, None), (5, None)] {
        let organisation = organisation.map_or("NULL".to_owned(), |o| format!("'{o}'"));
        exec(
            conn,
            &format!(
                "INSERT INTO mentors (id, name, organisation, created_at, updated_at) \
                 VALUES ('{}', 'mentor {n}', {organisation}, {at}, {at})",
                id(MENTOR, n)
            ),
        );
    }
    // Pairings: (n, mentor, child, status, started).
    for (n, mentor, child, status, started) in [
        (1, 1, 1, "active", Some("2024-01-15")),
        (2, 2, 2, "active", Some("2024-02-01")),
        (3, 3, 3, "active", Some("2024-02-01")),
        (4, 4, 5, "active", Some("2024-02-01")),
        (5, 5, 4, "proposed", None),
    ] {
        let started = started.map_or("NULL".to_owned(), |d| format!("'{d}'"));
        exec(
            conn,
            &format!(
                "INSERT INTO pairings (id, mentor_id, child_id, status, started_on, created_by, created_at, updated_at) \
                 VALUES ('{}', '{}', '{}', '{status}', {started}, '{u}', {at}, {at})",
                id(PAIRING, n),
                id(MENTOR, mentor),
                id(CHILD, child)
            ),
        );
    }
    // Pair contacts: (n, pairing, outcome, when in UTC).
    for (n, pairing, outcome, when) in [
        (1, 1, "completed", "2024-03-10 02:00:00"),   // P1 (K1) meets March
        (2, 2, "not_reached", "2024-03-12 02:00:00"), // P2 (K2): an unanswered call, counts for nothing
        (3, 2, "completed", "2024-04-02 02:00:00"),   // P2 in April
        (4, 4, "completed", "2024-03-12 02:00:00"),   // P4 (K5, in W)
    ] {
        exec(
            conn,
            &format!(
                "INSERT INTO pair_contacts (id, pairing_id, occurred_at, kind, topics, recorded_by, created_at, outcome) \
                 VALUES ('{}', '{}', '{when}', 'phone', '', '{u}', {at}, '{outcome}')",
                id(PAIR_CONTACT, n),
                id(PAIRING, pairing)
            ),
        );
    }
    // P3 (K3) made no contact in March, and is exempt for it.
    exec(
        conn,
        &format!(
            "INSERT INTO compliance_exemptions (id, rule_id, subject_id, period_start, reason, recorded_by, created_at) \
             VALUES ('{}', '{MONTHLY_CONTACT}', '{}', '2024-03-01', 'in hospital', '{u}', {at})",
            id(EXEMPTION, 1),
            id(PAIRING, 3)
        ),
    );
}

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a date")
}

/// March 2024 over region `region`, figures in full.
fn march(conn: &mut DbConnection, region: u32) -> Coverage {
    let region = Uuid::parse_str(&id(REGION, region)).expect("an id");
    Coverage::resolve(
        conn,
        &Scope::system(),
        Some(day("2024-03-01")),
        Some(day("2024-03-31")),
        Some(region),
        Threshold::default(),
    )
    .expect("coverage")
}

/// Runs `check` on a fresh database with the fixture, on each backend.
fn on_each_backend(check: impl Fn(Backend, &mut DbConnection)) {
    for backend in backends() {
        let db = TestDb::migrated(backend);
        let mut conn = db.connect();
        fixture(&mut conn);
        check(backend, &mut conn);
    }
}

fn village(id_: u32) -> Uuid {
    Uuid::parse_str(&id(REGION, id_)).expect("an id")
}

#[test]
fn summary_counts_by_definition() {
    on_each_backend(|backend, conn| {
        let scope = march(conn, T);
        let s = summary::summary(conn, &scope).expect("summary");
        let at = format!("on {backend:?}");
        // K1 (5 Mar) and K2 (31 Mar, the last day counts); not K3 (opened in February), K4
        // (screening), K5 (another town), K6 (opened in April).
        assert_eq!(s.children_registered, Some(2), "{at}");
        // H1 (two calls, one household) and H2 (1 Mar 00:30 Shanghai, 29 Feb in UTC); not H2's
        // unanswered call on its own, H3 (another town) or H4 (29 Feb 23:30 Shanghai).
        assert_eq!(s.families_phoned, Some(2), "{at}");
        // K1 (two visits, one child) and K4 (31 Mar 23:00); not K3 (not reached) or K2
        // (1 Apr 00:10 Shanghai, still 31 Mar in UTC).
        assert_eq!(s.children_visited, Some(2), "{at}");
        // E1 and E6 (1 Mar 00:00), both care; not E2 (another town), E3 (planned), E4
        // (cancelled) or E5 (1 Apr 00:30).
        assert_eq!(s.events_held, 2, "{at}");
        assert_eq!(s.events_held_by_type.care, 2, "{at}");
        assert_eq!(
            s.events_held_by_type.quarterly_theme + s.events_held_by_type.visit_and_comfort,
            0,
            "{at}"
        );
        // Attending E1 or E6: K1, K5, K3 (E1) and K1, K2 (E6): four children, wherever they live.
        assert_eq!(s.children_attending_events, Some(4), "{at}");
        // On the rosters of E1 (volunteer 1 for 120 min, volunteer 2 for 90) and E6 (volunteer 2
        // for 45): two volunteers, 255 minutes.
        assert_eq!(s.volunteers_active, 2, "{at}");
        assert!((s.volunteer_hours - 4.25).abs() < 1e-9, "{} hours {at}", s.volunteer_hours);
        // K1 (10 and 25 Mar) and K3 (12 Mar); not K5 (another town) or K2 (28 Feb).
        assert_eq!(s.children_assessed, Some(2), "{at}");

        // By category: (registered, visited, attending, assessed).
        let category = |name: &str| {
            let c = s.by_category.iter().find(|c| c.category.to_string() == name).expect(name);
            (c.children_registered, c.children_visited, c.children_attending_events, c.children_assessed)
        };
        // Orphaned or disabled: K2 registered, K2 attending.
        assert_eq!(category("orphaned_or_disabled"), (Some(1), Some(0), Some(1), Some(0)), "{at}");
        // Left-behind: K1, K2 registered; K1 visited; K1, K2, K5 attending; K1 assessed.
        assert_eq!(category("left_behind"), (Some(2), Some(1), Some(3), Some(1)), "{at}");
        // In difficulty: K3 attending and assessed.
        assert_eq!(category("in_difficulty"), (Some(0), Some(0), Some(1), Some(1)), "{at}");

        // By village where each child (household) lives: (registered, phoned, visited,
        // attending, assessed). W appears because K5 came from there to E1.
        let v = |r: u32| {
            let v = s.by_village.iter().find(|v| v.region_id == village(r)).expect("a village");
            (
                v.children_registered,
                v.families_phoned,
                v.children_visited,
                v.children_attending_events,
                v.children_assessed,
            )
        };
        assert_eq!(s.by_village.len(), 3, "{at}");
        // V1: K1, K2 registered; H1 phoned; K1 visited; K1, K2 attending; K1 assessed.
        assert_eq!(v(V1), (Some(2), Some(1), Some(1), Some(2), Some(1)), "{at}");
        // V2: H2 phoned; K4 visited; K3 attending and assessed.
        assert_eq!(v(V2), (Some(0), Some(1), Some(1), Some(1), Some(1)), "{at}");
        // W: K5 attending E1.
        assert_eq!(v(W), (Some(0), Some(0), Some(0), Some(1), Some(0)), "{at}");
        assert!(s.suppression.is_none(), "{at}");

        // The whole city adds K5 (registered 10 Mar) and H3 (phoned 3 Mar), and E2 (quarterly
        // theme, reported) with K2 and K5 attending (already counted) and volunteer 1's 60 minutes.
        let city = march(conn, C);
        let s = summary::summary(conn, &city).expect("summary");
        assert_eq!(s.children_registered, Some(3), "{at}");
        assert_eq!(s.families_phoned, Some(3), "{at}");
        assert_eq!(s.children_visited, Some(2), "{at}");
        assert_eq!((s.events_held, s.events_held_by_type.quarterly_theme), (3, 1), "{at}");
        assert_eq!(s.children_attending_events, Some(4), "{at}");
        assert!((s.volunteer_hours - 5.25).abs() < 1e-9, "{} hours {at}", s.volunteer_hours);
        // K1, K3, and K5 (12 Mar).
        assert_eq!(s.children_assessed, Some(3), "{at}");
    });
}

#[test]
fn events_report_tells_events_held_here_from_children_living_here() {
    on_each_backend(|backend, conn| {
        let at = format!("on {backend:?}");
        let scope = march(conn, T);
        let r = events::report(conn, &scope).expect("events report");
        // E1 and E6 (see the summary).
        assert_eq!((r.events_held, r.by_type.care), (2, 2), "{at}");
        // Children at E1 or E6, wherever they live: K1, K5, K3, K2.
        assert_eq!(r.children_attending_events_held_here, Some(4), "{at}");
        assert_eq!(r.children_attending, Some(4), "{at}");
        // Children living in T at any event held in March, anywhere: K1 (E1, E6), K3 (E1),
        // K2 (E6, and E2 in T2); not K5 (lives in W) or K4 (E5 is in April).
        assert_eq!(r.children_of_region_attending_anywhere, Some(3), "{at}");
        // K1 at E1 came with a guardian.
        assert_eq!(r.guardians_present, Some(1), "{at}");
        // E1's five others.
        assert_eq!(r.other_participants, 5, "{at}");
        // Both events in V1.
        let by_region: Vec<(Uuid, Option<i64>)> =
            r.by_region.iter().map(|t| (t.region_id, t.events)).collect();
        assert_eq!(by_region, vec![(village(V1), Some(2))], "{at}");
        // Villages reached: V1 (K1 at E1 and E6, K2 at E6: two events, two children), V2 (K3 at
        // E1), W (K5 at E1).
        let reached = |r_: u32| {
            let t = r.villages_reached.iter().find(|t| t.region_id == village(r_)).expect("reached");
            (t.events, t.children)
        };
        assert_eq!(r.villages_reached.len(), 3, "{at}");
        assert_eq!(reached(V1), (Some(2), Some(2)), "{at}");
        assert_eq!(reached(V2), (Some(1), Some(1)), "{at}");
        assert_eq!(reached(W), (Some(1), Some(1)), "{at}");
        // Service forms: reading companionship at E1 and E6, handicrafts at E6.
        let forms: Vec<(String, i64)> = r.by_service_form.iter().map(|t| (t.key.clone(), t.events)).collect();
        assert!(forms.contains(&("reading_companionship".into(), 2)), "{forms:?} {at}");
        assert!(forms.contains(&("handicrafts".into(), 1)), "{forms:?} {at}");
        assert_eq!(forms.len(), 2, "{at}");
    });
}

#[test]
fn assessments_report_by_definition() {
    on_each_backend(|backend, conn| {
        let at = format!("on {backend:?}");
        let scope = march(conn, T);
        let r = assessments::report(conn, &scope).expect("assessments report");
        // A1, A2 (K1) and A3 (K3); not A4 (K5, another town) or A5 (February).
        assert_eq!((r.assessments, r.children), (Some(3), Some(2)), "{at}");
        // Living conditions scored 2, 3 and 4: one each, mean 3; K1 went from 2 to 3.
        let living = r.dimensions.iter().find(|d| d.dimension == "living_conditions").expect("dimension");
        assert_eq!(living.scores, [Some(0), Some(1), Some(1), Some(1), Some(0)], "{at}");
        assert_eq!(living.mean, Some(3.0), "{at}");
        assert_eq!(living.mean_change, Some(1.0), "{at}");
        // One of three at each risk level.
        let third = Some(1.0 / 3.0);
        assert_eq!(
            (r.risk_levels.low, r.risk_levels.medium, r.risk_levels.high),
            (third, third, third),
            "{at}"
        );
        // K1 reassessed; total 10 → 13.
        assert_eq!(
            (r.children_reassessed, r.improved, r.worsened, r.unchanged),
            (Some(1), Some(1), Some(0), Some(0)),
            "{at}"
        );
    });
}

#[test]
fn compliance_counts_met_missed_and_exempt() {
    on_each_backend(|backend, conn| {
        let at = format!("on {backend:?}");
        let scope = march(conn, T);
        let r = compliance::report(conn, &scope).expect("compliance report");
        let rule = r.rules.iter().find(|x| x.rule_code == "monthly_contact").expect("the monthly rule");
        assert_eq!(rule.subject, RuleSubject::Pairing);
        let periods: Vec<&str> = rule.periods.iter().map(|p| p.period.as_str()).collect();
        assert_eq!(periods, ["2024-03"], "{at}");
        let march_ = &rule.periods[0].tally;
        // P1, P2, P3 active in March (P4's child lives in W; P5 is only proposed). P1 met with
        // a completed call; P2's only March call was not reached, so it missed; P3 made none
        // and is exempt.
        assert_eq!(
            (march_.active, march_.met, march_.missed, march_.exempt),
            (Some(3), Some(1), Some(1), Some(1)),
            "{at}"
        );
        assert_eq!(march_.share_met, Some(1.0 / 3.0), "{at}");
        // By the child's village: V1 holds P1 (met) and P2 (missed), V2 holds P3 (exempt).
        let region = |r_: u32| {
            let t = &rule.by_region.iter().find(|t| t.region_id == village(r_)).expect("a region").tally;
            (t.active, t.met, t.missed, t.exempt)
        };
        assert_eq!(rule.by_region.len(), 2, "{at}");
        assert_eq!(region(V1), (Some(2), Some(1), Some(1), Some(0)), "{at}");
        assert_eq!(region(V2), (Some(1), Some(0), Some(0), Some(1)), "{at}");
        // By the mentor's organisation: M1 and M2 are the bureau's, M3 has none.
        let orgs: Vec<(&str, Option<i64>, Option<i64>)> = rule
            .by_mentor_organisation
            .iter()
            .map(|g| (g.group.as_str(), g.tally.active, g.tally.met))
            .collect();
        assert_eq!(orgs, [("(none)", Some(1), Some(0)), ("Bureau", Some(2), Some(1))], "{at}");

        // The whole city adds P4, met by its completed call of 12 March.
        let city = march(conn, C);
        let r = compliance::report(conn, &city).expect("compliance report");
        let rule = r.rules.iter().find(|x| x.rule_code == "monthly_contact").expect("the monthly rule");
        let t = &rule.periods[0].tally;
        assert_eq!((t.active, t.met, t.missed, t.exempt), (Some(4), Some(2), Some(1), Some(1)), "{at}");
    });
}
