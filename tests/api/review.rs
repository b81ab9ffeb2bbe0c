//! Findings of an independent attacker's review of the record scope, each reproduced over HTTP on
//! both backends: every scenario states what the README promises, and failed before its fix.

use serde_json::{Value, json};
use tongxing_core::role::Role;

use crate::access::{PASSWORD, World, build_world};
use crate::helpers::{Resp, TestApp};
use crate::on_both_backends;

on_both_backends!(
    review_staff_roster_a_volunteer_onto_events_outside_their_reach,
    review_household_reads_reach_the_childs_access_history,
    review_alerts_and_exemptions_reach_the_childs_access_history,
    review_a_counselling_team_member_only_reads_the_case,
    review_write_answers_showing_other_children_reach_their_access_history,
    review_a_revoked_partner_client_is_refused_at_once,
    review_a_region_coordinator_cannot_hand_an_out_of_region_child_to_a_mentor_account,
    review_a_replay_shows_no_more_than_the_callers_read,
);

/// The seeded cadence rule "a mentor contacts the child every month" (subject: pairings).
const MONTHLY: &str = "00000000-0000-7000-8000-00000000c001";

struct Fx {
    w: World,
    other_org: String,
    village_out: String,
}

impl Fx {
    fn id(&self, k: &str) -> &str {
        self.w.id(k)
    }
    fn token(&self, role: &str) -> &str {
        &self.w.tokens[role]
    }
}

async fn fixture(app: &TestApp) -> Fx {
    let w = build_world(app).await;
    let other_org = ok(
        app.post("/api/v1/organisations", json!({"name": "通山县社工站", "kind": "social_organisation"}))
            .await,
        "organisation",
    );
    let village_out = app.region("毛坪村").await;
    Fx { w, other_org, village_out }
}

fn ok(r: Resp, what: &str) -> String {
    assert!(r.status.is_success(), "{what}: {} {}", r.status, r.body);
    r.id()
}

async fn as_(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
    app.send(method, path, Some(token), body, &[]).await
}

async fn etag(app: &TestApp, path: &str) -> String {
    let r = app.get(path).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.header("etag").unwrap()
}

/// The access history of a child, as the administrator reads it.
async fn history(app: &TestApp, child: &str) -> Vec<Value> {
    let r = app.get(&format!("/api/v1/children/{child}/access-history?limit=200")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn has_resource(entries: &[Value], prefix: &str) -> bool {
    entries.iter().any(|e| e["resource"].as_str().is_some_and(|r| r.starts_with(prefix)))
}

fn event_body(region: &str, organiser: &str, title: &str) -> Value {
    json!({"title": title, "event_type": "care", "programme": "five_plus_n", "starts_at": "2024-03-02T09:00:00+08:00", "ends_at": "2024-03-02T11:00:00+08:00", "region_id": region, "organiser_id": organiser})
}

/// README: volunteers reach "the events they are rostered on"; caseworkers reach the cases of
/// their organisation, coordinators of a region their subtree. Yet any caseworker (of any
/// organisation) and any region coordinator rosters any volunteer onto any event, and the
/// volunteer then reads every attending child's name: a caseworker's account plus a volunteer's
/// account read the children of another organisation's event in another town. The caseworker
/// also cancels another organisation's event.
async fn review_staff_roster_a_volunteer_onto_events_outside_their_reach(app: TestApp) {
    let fx = fixture(&app).await;
    let mut leaks = Vec::new();
    for role in ["caseworker", "coordinator"] {
        let event = ok(
            app.post(
                "/api/v1/events",
                event_body(&fx.village_out, &fx.other_org, &format!("外村活动{role}")),
            )
            .await,
            "event",
        );
        let path = format!("/api/v1/events/{event}/attendance");
        let r = app
            .post(&path, json!({"items": [{"child_id": fx.id("child.out"), "notes": "另一个村的孩子"}]}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        // The staff member cannot read the child...
        let own = as_(&app, fx.token(role), "GET", &path, None).await;
        assert!(!own.body.to_string().contains("儿童out"), "{role} reads it directly: {}", own.body);
        // ...but rosters a volunteer on the event...
        let roster = json!({"volunteer_id": fx.id("volunteer.in"), "role": "volunteer", "hours": 2.0});
        let r =
            as_(&app, fx.token(role), "POST", &format!("/api/v1/events/{event}/roster"), Some(roster)).await;
        // ...who then reads the children's names.
        let seen = as_(&app, fx.token("volunteer"), "GET", &path, None).await;
        if seen.status == 200 && seen.body.to_string().contains("儿童out") {
            leaks.push(format!(
                "{role} POST /events/{{other org's event}}/roster -> {}; volunteer GET attendance -> {}",
                r.status, seen.body
            ));
        }
    }
    // A caseworker cancels another organisation's event in another town.
    let event = ok(
        app.post("/api/v1/events", event_body(&fx.village_out, &fx.other_org, "外机构活动")).await,
        "event",
    );
    let r = as_(
        &app,
        fx.token("caseworker"),
        "POST",
        &format!("/api/v1/events/{event}/status"),
        Some(json!({"status": "cancelled", "reason": "随便取消"})),
    )
    .await;
    if r.status.is_success() {
        leaks.push(format!(
            "caseworker cancels another organisation's event: {} {}",
            r.status, r.body["status"]
        ));
    }
    assert!(leaks.is_empty(), "outside the callers' scope:\n{}", leaks.join("\n"));
}

/// README: "every read of a record about a child" is audited and the child's access history
/// answers "who has seen this record". A household (address, guardians' phones) is read and
/// listed without any entry naming its children.
async fn review_household_reads_reach_the_childs_access_history(app: TestApp) {
    let fx = fixture(&app).await;
    let token = fx.token("caseworker");
    let r = as_(&app, token, "GET", &format!("/api/v1/households/{}", fx.id("household.in")), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.to_string().contains("13800001111"), "the guardian's phone is in the answer");
    let r = as_(&app, token, "GET", "/api/v1/households?limit=50", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let h = history(&app, fx.id("child.in")).await;
    assert!(
        has_resource(&h, "/api/v1/households"),
        "the caseworker read the child's home address and guardians' phones; the child's access history: {h:#?}"
    );
}

/// Coordinators' alert and exemption lists name children (alerts: `child_id`; exemptions: the
/// pairing and a reason such as a hospital stay) but are not audited at all.
async fn review_alerts_and_exemptions_reach_the_childs_access_history(app: TestApp) {
    let fx = fixture(&app).await;
    let r = app
        .post(
            "/api/v1/compliance/exemptions",
            json!({"rule_id": MONTHLY, "subject_id": fx.id("pairing.in"), "period": "2024-10", "reason": "孩子住院治疗"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = fx.token("coordinator");
    let ex = as_(&app, token, "GET", "/api/v1/compliance/exemptions", None).await;
    assert_eq!(ex.status, 200, "{}", ex.body);
    assert!(ex.body.to_string().contains("孩子住院治疗"), "{}", ex.body);
    let alerts = as_(&app, token, "GET", "/api/v1/compliance/alerts?limit=200", None).await;
    assert_eq!(alerts.status, 200, "{}", alerts.body);
    let alerted = alerts.body.to_string().contains(fx.id("child.in"));
    let h = history(&app, fx.id("child.in")).await;
    let mut missing = Vec::new();
    if !has_resource(&h, "/api/v1/compliance/exemptions") {
        missing.push("GET /compliance/exemptions (the child's hospital stay)");
    }
    if alerted && !has_resource(&h, "/api/v1/compliance/alerts") {
        missing.push("GET /compliance/alerts (listing the child)");
    }
    assert!(missing.is_empty(), "not in the child's access history: {missing:?}");
}

/// README: a caseworker reaches "read-only, the cases whose counselling team they are on". A
/// member of one enrolment's team records counselling sessions on *another* team's enrolment of
/// the child, and names the child in an event's attendance.
async fn review_a_counselling_team_member_only_reads_the_case(app: TestApp) {
    let fx = fixture(&app).await;
    let me = app.get("/api/v1/users?limit=200").await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "caseworker.fs")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let child = fx.id("child.out");
    ok(
        app.post(
            "/api/v1/counselling-enrolments",
            json!({"child_id": child, "weekday": 3, "time_of_day": "16:00", "starts_on": "2024-01-03", "team": [{"name": "外聘心理", "role": "counsellor"}, {"name": "本站社工", "role": "social_worker", "user_id": me}]}),
        )
        .await,
        "enrolment with the caseworker on its team",
    );
    let token = fx.token("caseworker");
    // Read-only indeed for the case file itself:
    let r = as_(&app, token, "GET", &format!("/api/v1/children/{child}"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut writes = Vec::new();
    let before = app.count("counselling_sessions").await;
    let r = as_(
        &app,
        token,
        "POST",
        &format!("/api/v1/counselling-enrolments/{}/sessions", fx.id("enrolment.out")),
        Some(json!({"occurred_at": "2024-03-09T15:00:00+08:00", "attended_by": ["本站社工"], "services": ["psychological_counselling"], "notes": "伪造的会谈记录"})),
    )
    .await;
    if r.status.is_success() || app.count("counselling_sessions").await != before {
        writes.push(format!("POST a session on another team's enrolment: {}", r.status));
    }
    let r = as_(
        &app,
        token,
        "POST",
        &format!("/api/v1/events/{}/attendance", fx.id("event.in")),
        Some(json!({"items": [{"child_id": child, "notes": "x"}]})),
    )
    .await;
    if r.status.is_success() {
        writes.push(format!("POST attendance naming the child: {}", r.status));
    }
    assert!(writes.is_empty(), "a read-only team member wrote about the child:\n{}", writes.join("\n"));
}

/// A rostered volunteer's attendance write answers the names of every attending child (as the
/// volunteer's read does), but that answer is entered as an `update`, which the access history
/// ("who has seen this record": reads, lists, exports) leaves out.
async fn review_write_answers_showing_other_children_reach_their_access_history(app: TestApp) {
    let fx = fixture(&app).await;
    let other = ok(
        app.post(
            "/api/v1/children",
            json!({"region_id": fx.w.village_in, "name": "周小雨", "sex": "female", "birth_date": "2013-05-01", "categories": ["left_behind"]}),
        )
        .await,
        "child",
    );
    let path = format!("/api/v1/events/{}/attendance", fx.id("event.in"));
    assert_eq!(app.post(&path, json!({"items": [{"child_id": other}]})).await.status, 201);
    let r = as_(
        &app,
        fx.token("volunteer"),
        "POST",
        &path,
        Some(json!({"items": [{"child_id": fx.id("child.in")}]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.to_string().contains("周小雨"), "the answer names the other child: {}", r.body);
    let h = history(&app, &other).await;
    assert!(
        h.iter().any(|e| e["actor_role"] == "volunteer"),
        "the volunteer saw 周小雨's name; her access history: {h:#?}"
    );
}

/// Users' tokens end at once when they are deactivated; a partner client revoked by an admin
/// keeps reading children with the token it already holds (up to the access-token lifetime).
async fn review_a_revoked_partner_client_is_refused_at_once(app: TestApp) {
    let fx = fixture(&app).await;
    let path = format!("/api/v1/children/{}", fx.id("child.in"));
    assert_eq!(as_(&app, fx.token("partner"), "GET", &path, None).await.status, 200);
    let r = app
        .send("POST", &format!("/api/v1/api-clients/{}/revoke", fx.id("client.in")), None, None, &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = as_(&app, fx.token("partner"), "GET", &path, None).await;
    assert_eq!(after.status, 401, "a revoked client still reads the child: {}", after.body);
}

/// A coordinator limited to a town changes a mentor of their town (allowed) — including its
/// account link — while that mentor is paired with a child of another town: the coordinator
/// hands the other town's child to any mentor account (here one they hold).
async fn review_a_region_coordinator_cannot_hand_an_out_of_region_child_to_a_mentor_account(app: TestApp) {
    let fx = fixture(&app).await;
    let child = ok(
        app.post(
            "/api/v1/children",
            json!({"region_id": fx.village_out, "name": "外镇儿童", "sex": "male", "birth_date": "2012-02-02", "categories": ["left_behind"], "health_notes": "癫痫"}),
        )
        .await,
        "child",
    );
    let mentor = ok(
        app.post("/api/v1/mentors", json!({"name": "本镇导师", "region_id": fx.w.village_in})).await,
        "mentor",
    );
    let pairing =
        ok(app.post("/api/v1/pairings", json!({"mentor_id": mentor, "child_id": child})).await, "pairing");
    let r = app
        .post(
            &format!("/api/v1/pairings/{pairing}/status"),
            json!({"status": "active", "effective_on": "2024-09-01"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let accomplice = app.add_user("mentor.accomplice", Role::Mentor, PASSWORD).await;
    let token = fx.token("coordinator");
    // The coordinator cannot read the child...
    let r = as_(&app, token, "GET", &format!("/api/v1/children/{child}"), None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    // ...but re-links the mentor of their town.
    let mpath = format!("/api/v1/mentors/{mentor}");
    let tag = etag(&app, &mpath).await;
    let relink = app
        .send(
            "PUT",
            &mpath,
            Some(token),
            Some(json!({"name": "本镇导师", "region_id": fx.w.village_in, "user_id": accomplice})),
            &[("if-match", tag.as_str())],
        )
        .await;
    let mentor_token = app.login("mentor.accomplice", PASSWORD).await;
    let seen = as_(&app, &mentor_token, "GET", &format!("/api/v1/children/{child}"), None).await;
    assert_ne!(
        seen.status, 200,
        "coordinator PUT /mentors/{{id}} user_id -> {}; the account they chose reads the other town's child: {}",
        relink.status, seen.body
    );
}

/// README: masking applies to "write answers and idempotent replays"; a write answers no more
/// than the same caller's read. After a case moves to another organisation the caseworker who
/// recorded it reads 404 — and the replay of their create still answers the whole record.
async fn review_a_replay_shows_no_more_than_the_callers_read(app: TestApp) {
    let fx = fixture(&app).await;
    let token = fx.token("caseworker");
    let body = json!({"region_id": fx.w.village_in, "name": "转出儿童", "sex": "female", "birth_date": "2013-07-07", "categories": ["in_difficulty"], "health_notes": "先天性心脏病"});
    let key = [("idempotency-key", "review-replay-1")];
    let first = app.send("POST", "/api/v1/children", Some(token), Some(body.clone()), &key).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let id = first.id();
    let other_worker =
        app.add_user_in("caseworker.tongshan", Role::Caseworker, PASSWORD, Some(&fx.other_org), None).await;
    let path = format!("/api/v1/children/{id}");
    let tag = etag(&app, &path).await;
    let moved = json!({"region_id": fx.w.village_in, "name": "转出儿童", "sex": "female", "birth_date": "2013-07-07", "categories": ["in_difficulty"], "health_notes": "先天性心脏病", "organisation_id": fx.other_org, "caseworker_id": other_worker});
    let r = app.send("PUT", &path, None, Some(moved), &[("if-match", tag.as_str())]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(as_(&app, token, "GET", &path, None).await.status, 404, "the case has moved away");
    let replay = app.send("POST", "/api/v1/children", Some(token), Some(body), &key).await;
    assert!(
        !(replay.status.is_success() && replay.body.to_string().contains("先天性心脏病")),
        "the replay answers {} with the case the caller can no longer read: {}",
        replay.status,
        replay.body
    );
}
