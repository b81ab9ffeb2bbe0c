//! Every read and replace the other scenarios do not reach, on both backends: each record reads
//! back with its ETag, replaces with If-Match, and refuses a stale version.

use serde_json::{Value, json};

use crate::helpers::{Resp, TestApp};
use crate::on_both_backends;

on_both_backends!(reads_and_replaces_round_trip);

/// Reads `path`, replaces it with `body` under the ETag, and checks that the old ETag is then
/// refused. Returns the replaced record.
async fn replace(app: &TestApp, path: &str, body: Value) -> Value {
    let read = app.get(path).await;
    assert_eq!(read.status, 200, "{path}: {}", read.body);
    let etag = read.header("etag").unwrap_or_else(|| panic!("{path} has no ETag"));
    let r = app.send("PUT", path, None, Some(body.clone()), &[("if-match", &etag)]).await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    assert_ne!(r.header("etag"), Some(etag.clone()), "{path}: the version moves on");
    app.send("PUT", path, None, Some(body), &[("if-match", &etag)])
        .await
        .assert_problem(412, "stale_version");
    r.body
}

fn items(r: &Resp) -> &Vec<Value> {
    r.body["items"].as_array().unwrap()
}

async fn reads_and_replaces_round_trip(app: TestApp) {
    let village = app.region("南昌路社区").await;
    let r = app.get(&format!("/api/v1/regions/{village}")).await;
    assert_eq!(r.body["name"], "南昌路社区");
    assert_eq!(r.body["level"], "village");

    // A consent reads back by id.
    let child = app
        .post("/api/v1/children", json!({"region_id": village, "name": "吴小乐", "sex": "male", "birth_date": "2013-05-05", "categories": ["orphaned_or_disabled"]}))
        .await
        .id();
    let consent = app
        .post("/api/v1/consents", json!({"child_id": child, "purpose": "counselling", "given_by_name": "中心主任", "given_by_relation": "institution", "given_at": "2024-01-02T09:00:00+08:00"}))
        .await
        .id();
    let r = app.get(&format!("/api/v1/consents/{consent}")).await;
    assert_eq!(
        (r.body["purpose"].as_str(), r.header("etag").as_deref()),
        (Some("counselling"), Some("\"1\""))
    );

    // Mentors.
    let mentor =
        app.post("/api/v1/mentors", json!({"name": "郑老师", "organisation": "咸宁市民政局"})).await.id();
    let m = replace(
        &app,
        &format!("/api/v1/mentors/{mentor}"),
        json!({"name": "郑老师", "organisation": "咸安区民政局", "active": false}),
    )
    .await;
    assert_eq!((m["organisation"].as_str(), m["active"].as_bool()), (Some("咸安区民政局"), Some(false)));
    assert_eq!(items(&app.get("/api/v1/mentors?active=false").await).len(), 1);
    assert_eq!(items(&app.get("/api/v1/mentors?q=%E9%83%91").await).len(), 1);
    app.post("/api/v1/pairings", json!({"mentor_id": mentor, "child_id": child}))
        .await
        .assert_problem(409, "mentor_inactive");

    // A cadence rule added by a coordinator, and one it refuses.
    let r = app
        .post("/api/v1/cadence-rules", json!({"code": "weekly_call", "name": "A call every week", "subject": "pairing", "counted_kinds": ["phone", "video"], "period": "iso_week", "at_risk_days": 2, "minimum": {"effective_from": "2024-01-01", "minimum": 1}}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["minimums"][0]["minimum"], 1);
    let r = app
        .post("/api/v1/cadence-rules", json!({"code": "bad", "name": "x", "subject": "counselling_enrolment", "counted_kinds": ["phone"], "period": "month", "at_risk_days": 2, "minimum": {"effective_from": "2024-01-01", "minimum": 1}}))
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "counted_kinds[0]");
    assert_eq!(items(&app.get("/api/v1/cadence-rules").await).len(), 4);

    // Counselling enrolments.
    let team = json!([{"name": "陈心理", "role": "counsellor"}]);
    let enrolment = app
        .post("/api/v1/counselling-enrolments", json!({"child_id": child, "weekday": 6, "time_of_day": "15:00", "starts_on": "2024-01-06", "team": team}))
        .await
        .id();
    let e = replace(
        &app,
        &format!("/api/v1/counselling-enrolments/{enrolment}"),
        json!({"child_id": child, "weekday": 3, "time_of_day": "16:30", "starts_on": "2024-01-06", "ends_on": "2024-03-31", "team": team}),
    )
    .await;
    assert_eq!((e["weekday"].as_i64(), e["ends_on"].as_str()), (Some(3), Some("2024-03-31")));
    assert_eq!(items(&app.get(&format!("/api/v1/counselling-enrolments?child_id={child}")).await).len(), 1);

    // Organisations, volunteers, teams.
    let org = app
        .post(
            "/api/v1/organisations",
            json!({"name": "南昌路社区居委会", "kind": "village_committee", "region_id": village}),
        )
        .await
        .id();
    let o = replace(&app, &format!("/api/v1/organisations/{org}"), json!({"name": "南昌路社区居民委员会", "kind": "village_committee", "region_id": village, "contact_phone": "0715-8000002"})).await;
    assert_eq!(o["name"], "南昌路社区居民委员会");
    assert_eq!(items(&app.get("/api/v1/organisations?kind=village_committee").await).len(), 1);
    let clearance = json!({"on": "2023-01-01", "expires_on": "2030-01-01"});
    let volunteer = app
        .post("/api/v1/volunteers", json!({"name": "冯志愿", "source": "university", "organisation_id": org, "background_check": clearance, "safety_training": clearance}))
        .await
        .id();
    let v = replace(&app, &format!("/api/v1/volunteers/{volunteer}"), json!({"name": "冯志愿", "source": "university", "skills": ["hand_painting"], "background_check": clearance})).await;
    assert_eq!(
        (v["cleared"].as_bool(), v["skills"][0].as_str()),
        (Some(false), Some("hand_painting")),
        "training removed: not cleared"
    );
    let team_id = app.post("/api/v1/teams", json!({"name": "社区志愿队", "organisation_id": org})).await.id();
    let t = replace(
        &app,
        &format!("/api/v1/teams/{team_id}"),
        json!({"name": "社区志愿服务队", "organisation_id": org, "volunteer_ids": [volunteer, volunteer]}),
    )
    .await;
    assert_eq!(t["volunteer_ids"], json!([volunteer]), "a member listed twice is one member");
    assert_eq!(items(&app.get("/api/v1/teams").await).len(), 1);

    // An event: replace its details, read its roster and attendance.
    let event_body = |title: &str| json!({"title": title, "event_type": "care", "programme": "five_plus_n", "starts_at": "2024-02-03T09:00:00+08:00", "ends_at": "2024-02-03T11:00:00+08:00", "region_id": village, "organiser_id": org, "with_children": false});
    let event = app.post("/api/v1/events", event_body("读书会")).await.id();
    let ev = replace(&app, &format!("/api/v1/events/{event}"), event_body("寒假读书会")).await;
    assert_eq!(ev["title"], "寒假读书会");
    let r = app
        .post(
            &format!("/api/v1/events/{event}/roster"),
            json!({"volunteer_id": volunteer, "role": "lead", "hours": 1.5}),
        )
        .await;
    assert_eq!(r.status, 201, "an event without children needs no clearance: {}", r.body);
    let r = app.get(&format!("/api/v1/events/{event}/roster")).await;
    assert_eq!((items(&r).len(), r.body["items"][0]["hours"].as_f64()), (1, Some(1.5)));
    let r = app.get(&format!("/api/v1/events/{event}/attendance")).await;
    assert_eq!(items(&r).len(), 0);
    app.post(&format!("/api/v1/events/{event}/attendance"), json!({"items": [{"child_id": child}]}))
        .await
        .assert_problem(409, "no_children_expected");
}
