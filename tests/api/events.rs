//! The "5+N" programme over HTTP: the 11 November event at Baidun village, safeguarding on the
//! roster, all-or-nothing attendance, cancellation, lists and volunteer hours.

use serde_json::{Value, json};
use tongxing_core::role::Role;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(the_eleventh_of_november_at_baidun_village, attendance_batches_are_all_or_nothing);

const VILLAGES: [&str; 6] = ["毛坪村", "柏墩村", "明星村", "鸣水泉村", "九垅村", "石城村"];

async fn organisation(app: &TestApp, name: &str, kind: &str, region: Option<&str>) -> String {
    let r = app.post("/api/v1/organisations", json!({"name": name, "kind": kind, "region_id": region})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.id()
}

async fn volunteer(app: &TestApp, name: &str, org: &str, check_expires: &str, user: Option<&str>) -> String {
    let r = app
        .post(
            "/api/v1/volunteers",
            json!({
                "name": name, "source": "social_organisation", "organisation_id": org, "user_id": user,
                "skills": ["reading_companionship", "traditional_culture_education"],
                "background_check": {"on": "2023-01-10", "expires_on": check_expires},
                "safety_training": {"on": "2023-03-01", "expires_on": "2024-02-29"}
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.id()
}

fn event_body(region: &str, organiser: &str, partners: &[&str], event_type: &str, day: &str) -> Value {
    json!({
        "title": "关爱护成长 文化润童心", "theme": "家风家训经典诵读", "event_type": event_type, "programme": "five_plus_n",
        "starts_at": format!("{day}T09:00:00+08:00"), "ends_at": format!("{day}T11:30:00+08:00"),
        "region_id": region, "address": "柏墩村村委会", "organiser_id": organiser, "partner_ids": partners,
        "service_forms": ["traditional_culture_education", "reading_companionship"],
        "notes": "细雨中，国学老师带领诵读家风家训经典"
    })
}

async fn children_of_six_villages(app: &TestApp, count: usize) -> Vec<String> {
    let mut villages = Vec::new();
    for v in VILLAGES {
        villages.push(app.region(v).await);
    }
    let mut ids = Vec::new();
    for i in 0..count {
        let r = app
            .post("/api/v1/children", json!({"region_id": villages[i % 6], "name": format!("儿童{i}"), "sex": "female", "birth_date": "2014-04-04", "categories": ["in_difficulty"]}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.id());
    }
    ids
}

async fn the_eleventh_of_november_at_baidun_village(app: TestApp) {
    let baidun = app.region("柏墩村").await;
    let guihua = app.region("桂花镇").await;
    let wenquan = app.region("温泉街道").await;
    let federation = organisation(&app, "咸宁市社会组织联合会", "social_organisation", None).await;
    let committee = organisation(&app, "柏墩村村民委员会", "village_committee", Some(&baidun)).await;
    let bureau = organisation(&app, "咸宁市民政局", "government_agency", None).await;
    let lingxi = organisation(&app, "咸宁市灵悉社会工作服务中心", "social_work_centre", None).await;
    let r = app
        .post("/api/v1/service-contracts", json!({"purchaser_id": bureau, "provider_id": lingxi, "starts_on": "2023-06-01", "ends_on": "2024-05-31", "services": ["psychological_counselling"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    app.post("/api/v1/service-contracts", json!({"purchaser_id": lingxi, "provider_id": bureau, "starts_on": "2023-06-01", "ends_on": "2024-05-31", "services": ["x"]}))
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(
        app.get(&format!("/api/v1/organisations/{lingxi}/contracts")).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let mut team = Vec::new();
    for i in 0..8 {
        team.push(volunteer(&app, &format!("志愿者{i}"), &federation, "2025-01-09", None).await);
    }
    let lapsed = volunteer(&app, "过期志愿者", &federation, "2023-10-01", None).await;
    let r = app
        .post(
            "/api/v1/teams",
            json!({"name": "咸宁市志愿服务队", "organisation_id": federation, "volunteer_ids": team}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["volunteer_ids"].as_array().unwrap().len(), 8);

    let r = app
        .post("/api/v1/events", event_body(&baidun, &federation, &[&committee], "care", "2023-11-11"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "planned");
    let event = r.id();
    let path = |p: &str| format!("/api/v1/events/{event}{p}");

    // Held needs a volunteer; the lapsed volunteer cannot serve with children.
    app.post(&path("/status"), json!({"status": "held"})).await.assert_problem(409, "no_volunteers");
    // In English, the detail names what lapsed (in Chinese it is the code's message).
    let lapsed_roster = json!({"volunteer_id": lapsed, "role": "volunteer", "hours": 2.5});
    let r = app.send("POST", &path("/roster"), None, Some(lapsed_roster), &[("accept-language", "en")]).await;
    r.assert_problem(409, "clearance_missing");
    assert!(
        r.body["detail"].as_str().unwrap().contains("background check expired on 2023-10-01"),
        "{}",
        r.body
    );
    for (i, v) in team.iter().enumerate() {
        let role = if i == 0 { "lead" } else { "volunteer" };
        let r = app.post(&path("/roster"), json!({"volunteer_id": v, "role": role, "hours": 2.5})).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    app.post(&path("/roster"), json!({"volunteer_id": team[1], "role": "volunteer"}))
        .await
        .assert_problem(409, "already_rostered");
    let r = app
        .send(
            "PUT",
            &path("/roster"),
            None,
            Some(json!({"volunteer_id": team[1], "role": "teacher", "hours": 3.0})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Fourteen children from six villages, with their guardians, in one batch from the app.
    let kids = children_of_six_villages(&app, 14).await;
    let items: Vec<Value> = kids.iter().map(|k| json!({"child_id": k, "guardian_present": true})).collect();
    let r = app.post(&path("/attendance"), json!({"items": items})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 14);
    assert_eq!(app.post(&path("/status"), json!({"status": "held"})).await.status, 200);

    let r = app.get(&path("")).await;
    assert_eq!(r.body["volunteers_rostered"], 8);
    assert_eq!(r.body["children_attended"], 14);
    assert_eq!(r.body["guardians_present"], 14);
    assert_eq!(r.body["volunteer_hours"], 20.5);
    let reached: Vec<&str> =
        r.body["villages_reached"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    assert_eq!(reached.len(), 6, "{}", r.body);
    for v in VILLAGES {
        assert!(reached.contains(&v), "{v} missing from {reached:?}");
    }
    assert_eq!(r.body["partner_ids"], json!([committee]));
    assert_eq!(app.post(&path("/status"), json!({"status": "reported"})).await.body["status"], "reported");
    app.post(&path("/attendance"), json!({"items": [{"child_id": kids[0]}]}))
        .await
        .assert_problem(409, "event_closed");

    // A second event, cancelled in the rain.
    let r = app
        .post("/api/v1/events", event_body(&baidun, &federation, &[], "visit_and_comfort", "2023-12-02"))
        .await;
    let other = r.id();
    app.post(&format!("/api/v1/events/{other}/status"), json!({"status": "cancelled"}))
        .await
        .assert_problem(422, "validation_failed");
    let r = app
        .post(&format!("/api/v1/events/{other}/status"), json!({"status": "cancelled", "reason": "暴雨预警"}))
        .await;
    assert_eq!(r.body["status"], "cancelled");
    assert_eq!(r.body["cancel_reason"], "暴雨预警");
    app.post(&format!("/api/v1/events/{other}/status"), json!({"status": "held"}))
        .await
        .assert_problem(409, "illegal_transition");

    // Lists by type, region, organisation, service form and dates.
    let count = |r: &crate::helpers::Resp| r.body["items"].as_array().unwrap().len();
    assert_eq!(count(&app.get("/api/v1/events?event_type=care").await), 1);
    assert_eq!(count(&app.get(&format!("/api/v1/events?region_id={guihua}")).await), 2);
    assert_eq!(count(&app.get(&format!("/api/v1/events?region_id={wenquan}")).await), 0);
    assert_eq!(count(&app.get(&format!("/api/v1/events?organisation_id={committee}")).await), 1);
    assert_eq!(
        count(
            &app.get("/api/v1/events?service_form=reading_companionship&from=2023-11-01&to=2023-11-30").await
        ),
        1
    );
    assert_eq!(count(&app.get("/api/v1/events?status=cancelled").await), 1);

    // Hours per volunteer and per organisation; a cancelled event counts for nothing.
    let r = app.get("/api/v1/volunteer-hours?from=2023-11-01&to=2023-12-31").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let lines = r.body["items"].as_array().unwrap();
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[0]["hours"], 3.0);
    assert_eq!(lines[0]["id"], team[1].as_str());
    let r = app.get("/api/v1/volunteer-hours?from=2023-11-01&to=2023-12-31&group_by=organisation").await;
    assert_eq!(r.body["items"][0]["name"], "咸宁市社会组织联合会");
    assert_eq!(r.body["items"][0]["hours"], 20.5);
    assert_eq!(r.body["items"][0]["events"], 1);
    app.get("/api/v1/volunteer-hours?from=2023-12-01&to=2023-11-01")
        .await
        .assert_problem(422, "validation_failed");

    // Clearance renewals due.
    let r = app.get("/api/v1/volunteers?clearance_expiring_within_days=30").await;
    assert!(r.body["items"].as_array().unwrap().iter().any(|v| v["id"] == lapsed.as_str()), "{}", r.body);
}

async fn attendance_batches_are_all_or_nothing(app: TestApp) {
    let baidun = app.region("柏墩村").await;
    let org = organisation(&app, "城市志愿服务队", "social_organisation", None).await;
    let user = app.add_user("volunteer.he", Role::Volunteer, "volunteer-password").await;
    let v = volunteer(&app, "何志愿", &org, "2099-01-01", Some(&user)).await;
    let r = app.post("/api/v1/events", event_body(&baidun, &org, &[], "care", "2023-11-11")).await;
    let event = r.id();
    let kids = children_of_six_villages(&app, 3).await;
    let before = app.count("event_attendance").await;
    let bad = json!({"items": [
        {"child_id": kids[0], "guardian_present": true},
        {"child_id": uuid::Uuid::now_v7()},
        {"child_id": kids[0]}
    ]});
    let r = app.post(&format!("/api/v1/events/{event}/attendance"), bad).await;
    r.assert_problem(422, "validation_failed");
    let fields: Vec<(&str, &str)> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, [("items[1].child_id", "not_found"), ("items[2].child_id", "duplicate")]);
    assert_eq!(app.count("event_attendance").await, before, "nothing of a refused batch is written");

    // A volunteer records attendance only for an event they are rostered on; another event is
    // not found.
    let token = app.login("volunteer.he", "volunteer-password").await;
    let batch = json!({"items": [{"child_id": kids[1]}]});
    app.send("POST", &format!("/api/v1/events/{event}/attendance"), Some(&token), Some(batch.clone()), &[])
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.post(&format!("/api/v1/events/{event}/roster"), json!({"volunteer_id": v, "role": "volunteer"}))
            .await
            .status,
        201
    );
    let r =
        app.send("POST", &format!("/api/v1/events/{event}/attendance"), Some(&token), Some(batch), &[]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .post(&format!("/api/v1/events/{event}/attendance"), json!({"items": [{"child_id": kids[1]}]}))
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["code"], "already_attending");
}
