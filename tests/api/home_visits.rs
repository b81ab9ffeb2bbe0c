//! Holiday home visits over HTTP: every step, and each illegal step refused.

use serde_json::{Value, json};
use tongxing_core::role::Role;

use crate::helpers::{Resp, TestApp, ahead};
use crate::on_both_backends;

on_both_backends!(a_holiday_home_visit_through_every_step, the_holiday_calendar);

async fn setup_pairing(app: &TestApp, mentor_user: Option<&str>, name: &str) -> String {
    let village = app.region("金桂社区").await;
    let child = app
        .post("/api/v1/children", json!({"region_id": village, "name": name, "sex": "female", "birth_date": "2011-08-08", "categories": ["orphaned_or_disabled"]}))
        .await
        .id();
    let mentor = app
        .post("/api/v1/mentors", json!({"name": format!("{name}的导师"), "user_id": mentor_user}))
        .await
        .id();
    let pairing = app.post("/api/v1/pairings", json!({"mentor_id": mentor, "child_id": child})).await.id();
    let r = app
        .post(
            &format!("/api/v1/pairings/{pairing}/status"),
            json!({"status": "active", "effective_on": "2024-09-01"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    pairing
}

fn request(pairing: &str, leaves: &str, returns: &str) -> Value {
    json!({
        "pairing_id": pairing, "leaves_at": ahead(&format!("{leaves}+08:00")), "returns_at": ahead(&format!("{returns}+08:00")),
        "address": "咸安区温泉街道某小区3栋", "transport": "导师自驾", "supervisor": "李建华",
        "emergency_contact_name": "福利中心值班室", "emergency_contact_phone": "0715-8000000"
    })
}

async fn as_mentor(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
    app.send(method, path, Some(token), body, &[]).await
}

async fn a_holiday_home_visit_through_every_step(app: TestApp) {
    let user = app.add_user("mentor.li", Role::Mentor, "mentor-password-1").await;
    let token = app.login("mentor.li", "mentor-password-1").await;
    let pairing = setup_pairing(&app, Some(&user), "小芳").await;
    let other_pairing = setup_pairing(&app, None, "小华").await;
    app.plan_visits_ahead().await;

    // National Day runs from 1 to 7 October; the 9th is a working day.
    as_mentor(
        &app,
        &token,
        "POST",
        "/api/v1/home-visit-requests",
        Some(request(&pairing, "2024-10-09T09:00:00", "2024-10-09T18:00:00")),
    )
    .await
    .assert_problem(409, "not_a_holiday");
    as_mentor(
        &app,
        &token,
        "POST",
        "/api/v1/home-visit-requests",
        Some(request(&pairing, "2024-10-07T09:00:00", "2024-10-08T10:00:00")),
    )
    .await
    .assert_problem(409, "not_a_holiday");
    // Another mentor's pairing answers exactly as a pairing that does not exist.
    let theirs = as_mentor(
        &app,
        &token,
        "POST",
        "/api/v1/home-visit-requests",
        Some(request(&other_pairing, "2024-10-02T09:00:00", "2024-10-02T18:00:00")),
    )
    .await;
    theirs.assert_problem(422, "validation_failed");
    let random = uuid::Uuid::new_v4().to_string();
    let missing = as_mentor(
        &app,
        &token,
        "POST",
        "/api/v1/home-visit-requests",
        Some(request(&random, "2024-10-02T09:00:00", "2024-10-02T18:00:00")),
    )
    .await;
    assert_eq!(theirs.body, missing.body);
    let r = as_mentor(
        &app,
        &token,
        "POST",
        "/api/v1/home-visit-requests",
        Some(request(&pairing, "2024-10-02T09:00:00", "2024-10-02T18:00:00")),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "requested");
    let id = r.id();
    let path = |step: &str| format!("/api/v1/home-visit-requests/{id}/{step}");

    // Nothing can skip ahead.
    app.post(&path("approve"), json!({})).await.assert_problem(409, "consent_missing");
    as_mentor(&app, &token, "POST", &path("return"), Some(json!({})))
        .await
        .assert_problem(409, "not_approved");
    let visit = json!({"occurred_at": "2024-10-02T10:00:00+08:00", "kind": "home_visit", "home_visit_request_id": id, "topics": ["life_skills"]});
    as_mentor(&app, &token, "POST", &format!("/api/v1/pairings/{pairing}/contacts"), Some(visit.clone()))
        .await
        .assert_problem(409, "home_visit_not_approved");
    let without = json!({"occurred_at": "2024-10-02T10:00:00+08:00", "kind": "home_visit"});
    as_mentor(&app, &token, "POST", &format!("/api/v1/pairings/{pairing}/contacts"), Some(without))
        .await
        .assert_problem(409, "home_visit_not_approved");
    // Mentors approve nothing, and consent is recorded by case staff.
    as_mentor(&app, &token, "POST", &path("approve"), None).await.assert_problem(403, "forbidden");
    as_mentor(
        &app,
        &token,
        "POST",
        &path("consent"),
        Some(json!({"given_by": "x", "relation": "institution", "given_at": "2024-09-20T10:00:00+08:00"})),
    )
    .await
    .assert_problem(403, "forbidden");

    let r = app.post(&path("consent"), json!({"given_by": "福利中心主任", "relation": "institution", "given_at": "2024-09-20T10:00:00+08:00"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "consented");
    app.post(
        &path("consent"),
        json!({"given_by": "again", "relation": "institution", "given_at": "2024-09-20T10:00:00+08:00"}),
    )
    .await
    .assert_problem(409, "illegal_step");
    app.post(&path("approve"), json!({})).await.assert_problem(409, "checklist_incomplete");

    let first = json!({"items": [
        {"item": "supervising_adult_present", "confirmed_by": "李建华"},
        {"item": "home_environment_checked", "confirmed_by": "王社工"},
        {"item": "transport_arranged", "confirmed_by": "李建华"}
    ]});
    let r = as_mentor(&app, &token, "POST", &path("checklist"), Some(first)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["checklist_completed_at"].is_null());
    app.post(&path("approve"), json!({})).await.assert_problem(409, "checklist_incomplete");
    let rest = json!({"items": [
        {"item": "emergency_contact_reachable", "confirmed_by": "值班室张老师"},
        {"item": "child_needs_briefed", "confirmed_by": "护理员"},
        {"item": "return_time_agreed", "confirmed_by": "福利中心主任"}
    ]});
    let r = as_mentor(&app, &token, "POST", &path("checklist"), Some(rest)).await;
    assert!(r.body["checklist_completed_at"].is_string(), "{}", r.body);
    assert_eq!(r.body["checklist"].as_array().unwrap().len(), 6);

    let r = app.send("POST", &path("approve"), None, None, &[("if-match", "\"1\"")]).await;
    r.assert_problem(412, "stale_version");
    let r = app.post(&path("approve"), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "approved");
    // The days come: the approved visit takes place (in 2024, as the dates below say).
    app.visit_took_place(&id).await;
    as_mentor(
        &app,
        &token,
        "POST",
        &path("checklist"),
        Some(json!({"items": [{"item": "transport_arranged", "confirmed_by": "x"}]})),
    )
    .await
    .assert_problem(409, "illegal_step");
    app.post(&path("reject"), json!({"reason": "too late"})).await.assert_problem(409, "illegal_step");

    // The visit itself is logged against the approved request, on its dates only.
    let r =
        as_mentor(&app, &token, "POST", &format!("/api/v1/pairings/{pairing}/contacts"), Some(visit)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["home_visit_request_id"], id.as_str());
    let later = json!({"occurred_at": "2024-10-05T10:00:00+08:00", "kind": "home_visit", "home_visit_request_id": id});
    as_mentor(&app, &token, "POST", &format!("/api/v1/pairings/{pairing}/contacts"), Some(later))
        .await
        .assert_problem(409, "outside_home_visit");

    let r = as_mentor(
        &app,
        &token,
        "POST",
        &path("return"),
        Some(json!({"returned_at": "2024-10-02T17:40:00+08:00"})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "completed");
    let steps: Vec<&str> =
        r.body["history"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(steps, ["requested", "consented", "checklist", "checklist", "approved", "returned"]);
    assert!(
        r.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["actor_id"].is_string() && s["at"].is_string())
    );
    app.post(&path("cancel"), json!({"reason": "x"})).await.assert_problem(409, "illegal_step");

    // Another mentor's request is not theirs to see; a pending one can be cancelled.
    let r = app
        .post(
            "/api/v1/home-visit-requests",
            request(&other_pairing, "2024-10-03T09:00:00", "2024-10-03T18:00:00"),
        )
        .await;
    let other_id = r.id();
    as_mentor(&app, &token, "GET", &format!("/api/v1/home-visit-requests/{other_id}"), None)
        .await
        .assert_problem(404, "not_found");
    let r = as_mentor(&app, &token, "GET", "/api/v1/home-visit-requests", None).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = app
        .post(&format!("/api/v1/home-visit-requests/{other_id}/cancel"), json!({"reason": "孩子生病"}))
        .await;
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["decision_reason"], "孩子生病");
}

async fn the_holiday_calendar(app: TestApp) {
    let r = app.get("/api/v1/holidays?year=2024").await;
    assert_eq!(r.status, 200);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 7, "{}", r.body);
    let spring = items.iter().find(|h| h["holiday"] == "spring_festival").unwrap();
    assert_eq!(spring["first_day"], "2024-02-10");
    let r = app.post("/api/v1/holidays", json!({"year": 2027, "holiday": "spring_festival", "first_day": "2027-02-05", "last_day": "2027-02-11"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.id();
    app.post("/api/v1/holidays", json!({"year": 2027, "holiday": "spring_festival", "first_day": "2027-02-05", "last_day": "2027-02-11"}))
        .await
        .assert_problem(409, "duplicate");
    app.post(
        "/api/v1/holidays",
        json!({"year": 2027, "holiday": "qingming", "first_day": "2027-04-05", "last_day": "2027-04-30"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let r = app
        .send("PUT", &format!("/api/v1/holidays/{id}"), None, Some(json!({"year": 2027, "holiday": "spring_festival", "first_day": "2027-02-06", "last_day": "2027-02-12", "makeup_workdays": ["2027-02-14"]})), &[("if-match", "\"1\"")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["makeup_workdays"], json!(["2027-02-14"]));
    app.add_user("coordinator.x", Role::Coordinator, "coordinator-pass").await;
    let token = app.login("coordinator.x", "coordinator-pass").await;
    let r = app.send("POST", "/api/v1/holidays", Some(&token), Some(json!({"year": 2028, "holiday": "qingming", "first_day": "2028-04-04", "last_day": "2028-04-06"})), &[]).await;
    r.assert_problem(403, "forbidden");
}
