//! Coordinators limited to a region, on both backends: alerts, exemptions, mentors and reports
//! stay inside their subtree, and what lies outside answers exactly as what does not exist; and
//! reports withhold small cells from the readers who may not see the children counted.

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Value, json};
use tongxing_core::role::Role;

use crate::helpers::{Resp, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_region_coordinator_sees_and_exempts_only_their_region,
    mentors_per_role,
    reports_cover_the_coordinators_region,
    small_cells_are_withheld_from_readers_who_may_not_see_the_children
);

const PASSWORD: &str = "a-password-for-tests";
const MONTHLY: &str = "00000000-0000-7000-8000-00000000c001";
const WEEKLY: &str = "00000000-0000-7000-8000-00000000c003";
const NOWHERE: &str = "0190f0a0-dead-7000-8000-000000000404";

fn today() -> NaiveDate {
    (chrono::Utc::now() + Duration::hours(8)).date_naive()
}

fn items(r: &Resp) -> &Vec<Value> {
    r.body["items"].as_array().unwrap_or_else(|| panic!("no items in {}", r.body))
}

/// The same answer: status, and the whole problem body.
#[track_caller]
fn same_answer(a: &Resp, b: &Resp) {
    assert_eq!(a.status, b.status, "{} / {}", a.body, b.body);
    assert_eq!(a.body, b.body);
}

async fn as_user(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> Resp {
    app.send(method, path, Some(token), body, &[]).await
}

async fn child_in(app: &TestApp, village: &str, name: &str) -> String {
    let r = app
        .post("/api/v1/children", json!({"region_id": village, "name": name, "sex": "female", "birth_date": "2012-03-01", "categories": ["orphaned_or_disabled"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.id()
}

async fn mentor_in(app: &TestApp, region: Option<&str>, name: &str) -> String {
    let r = app
        .post("/api/v1/mentors", json!({"name": name, "organisation": "咸宁市民政局", "region_id": region, "phone": "13900000000", "notes": "党员妈妈"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.id()
}

async fn coordinator_of(app: &TestApp, username: &str, region: &str) -> String {
    app.add_user_in(username, Role::Coordinator, PASSWORD, None, Some(region)).await;
    app.login(username, PASSWORD).await
}

async fn a_region_coordinator_sees_and_exempts_only_their_region(app: TestApp) {
    let today = today();
    let first = today.with_day(1).unwrap();
    let prev_first = (first - Duration::days(1)).with_day(1).unwrap();
    // Jingui community lies in Fushan subdistrict, the coordinator's; Maoping village in Guihua town.
    let fushan = app.region("浮山街道").await;
    let guihua = app.region("桂花镇").await;
    // A blank division code is no code of a village's length (it was stored as none).
    for code in ["", " "] {
        let r = app
            .post(
                "/api/v1/regions",
                json!({"parent_id": guihua, "level": "village", "name": "新村", "code": code}),
            )
            .await;
        assert_eq!(r.status, 422, "{code:?}: {}", r.body);
        assert_eq!(
            (r.body["errors"][0]["field"].as_str(), r.body["errors"][0]["code"].as_str()),
            (Some("code"), Some("format"))
        );
    }
    let mut pairing = Vec::new();
    let mut enrolment = Vec::new();
    let mut child = Vec::new();
    for (name, village) in [("小雨", "金桂社区"), ("小雪", "毛坪村")] {
        let village = app.region(village).await;
        let c = child_in(&app, &village, name).await;
        let m = mentor_in(&app, Some(&village), &format!("{name}的导师")).await;
        let p = app.post("/api/v1/pairings", json!({"mentor_id": m, "child_id": c})).await.id();
        let r = app
            .post(
                &format!("/api/v1/pairings/{p}/status"),
                json!({"status": "active", "effective_on": prev_first}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = app
            .post("/api/v1/counselling-enrolments", json!({"child_id": c, "weekday": 6, "time_of_day": "15:00", "starts_on": prev_first, "team": [{"name": "陈心理", "role": "counsellor"}]}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        pairing.push(p);
        enrolment.push(r.id());
        child.push(c);
    }
    let token = coordinator_of(&app, "coordinator.fushan", &fushan).await;

    // Alerts: no contact last month, so both pairings missed it; the coordinator sees theirs.
    let all = app.get("/api/v1/compliance/alerts?limit=200").await;
    let subjects = |r: &Resp| -> Vec<String> {
        items(r).iter().map(|a| a["subject_id"].as_str().unwrap().to_owned()).collect()
    };
    assert!(subjects(&all).contains(&pairing[1]), "{}", all.body);
    let own = as_user(&app, &token, "GET", "/api/v1/compliance/alerts?limit=200", None).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(subjects(&own).contains(&pairing[0]), "{}", own.body);
    assert!(items(&own).iter().all(|a| a["child_id"] == child[0].as_str()), "{}", own.body);
    assert!(items(&own).len() < items(&all).len());
    // A region outside theirs answers as one that does not exist.
    let outside =
        as_user(&app, &token, "GET", &format!("/api/v1/compliance/alerts?region_id={guihua}"), None).await;
    let nowhere =
        as_user(&app, &token, "GET", &format!("/api/v1/compliance/alerts?region_id={NOWHERE}"), None).await;
    outside.assert_problem(422, "validation_failed");
    same_answer(&outside, &nowhere);
    let r =
        as_user(&app, &token, "GET", &format!("/api/v1/compliance/alerts?region_id={fushan}"), None).await;
    assert_eq!(subjects(&r), subjects(&own));

    // Exemptions: another region's pairing or enrolment answers exactly as a random id, and
    // writes nothing.
    let month = format!("{}-{:02}", prev_first.year(), prev_first.month());
    let week = (today - Duration::days(7)).format("%G-W%V").to_string();
    let before = app.count("compliance_exemptions").await;
    for (rule, subject, period) in [(MONTHLY, &pairing[1], &month), (WEEKLY, &enrolment[1], &week)] {
        let exemption = |subject: &str| json!({"rule_id": rule, "subject_id": subject, "period": period, "reason": "孩子住院治疗"});
        let outside =
            as_user(&app, &token, "POST", "/api/v1/compliance/exemptions", Some(exemption(subject))).await;
        let random =
            as_user(&app, &token, "POST", "/api/v1/compliance/exemptions", Some(exemption(NOWHERE))).await;
        outside.assert_problem(422, "validation_failed");
        assert_eq!(outside.body["errors"][0]["field"], "subject_id");
        same_answer(&outside, &random);
    }
    assert_eq!(app.count("compliance_exemptions").await, before);
    let own_exemption =
        json!({"rule_id": MONTHLY, "subject_id": pairing[0], "period": month, "reason": "导师出差"});
    let r = as_user(&app, &token, "POST", "/api/v1/compliance/exemptions", Some(own_exemption)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .post(
            "/api/v1/compliance/exemptions",
            json!({"rule_id": MONTHLY, "subject_id": pairing[1], "period": month, "reason": "孩子住院治疗"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // The list shows only their region's exemptions, and not the other region's reasons.
    let all = app.get("/api/v1/compliance/exemptions").await;
    assert_eq!(items(&all).len(), 2);
    let own = as_user(&app, &token, "GET", "/api/v1/compliance/exemptions", None).await;
    assert_eq!(subjects(&own), vec![pairing[0].clone()]);
    assert!(!own.body.to_string().contains("住院"), "{}", own.body);
    let path = format!("/api/v1/compliance/exemptions?subject_id={}", pairing[1]);
    assert!(items(&as_user(&app, &token, "GET", &path, None).await).is_empty());
}

async fn mentors_per_role(app: TestApp) {
    let fushan = app.region("浮山街道").await;
    let jingui = app.region("金桂社区").await;
    let guihua = app.region("桂花镇").await;
    let in_region = mentor_in(&app, Some(&jingui), "金桂的导师").await;
    let elsewhere = mentor_in(&app, Some(&guihua), "桂花的导师").await;
    let nowhere = mentor_in(&app, None, "未分区的导师").await;
    // A mentor of Guihua paired with a child of Jingui: the coordinator reads it, and may not
    // change it.
    let visiting = mentor_in(&app, Some(&guihua), "来访的导师").await;
    let c = child_in(&app, &jingui, "小雨").await;
    let r = app.post("/api/v1/pairings", json!({"mentor_id": visiting, "child_id": c})).await;
    assert_eq!(r.status, 201, "{}", r.body);

    let coordinator = coordinator_of(&app, "coordinator.fushan", &fushan).await;
    let city_coordinator = {
        app.add_user("coordinator.city", Role::Coordinator, PASSWORD).await;
        app.login("coordinator.city", PASSWORD).await
    };
    let caseworker = {
        app.add_user("caseworker.any", Role::Caseworker, PASSWORD).await;
        app.login("caseworker.any", PASSWORD).await
    };
    let ids = |r: &Resp| -> Vec<String> {
        let mut v: Vec<String> = items(r).iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };

    // Reading: the coordinator of a region, their region's mentors and those paired there;
    // everyone else who reads mentors, all of them (caseworkers without coordinators' notes).
    let r = as_user(&app, &coordinator, "GET", "/api/v1/mentors", None).await;
    assert_eq!(ids(&r), sorted(vec![in_region.clone(), visiting.clone()]));
    assert_eq!(items(&r)[0]["notes"], "党员妈妈");
    let everyone = sorted(vec![in_region.clone(), elsewhere.clone(), nowhere.clone(), visiting.clone()]);
    assert_eq!(ids(&app.get("/api/v1/mentors").await), everyone);
    assert_eq!(ids(&as_user(&app, &city_coordinator, "GET", "/api/v1/mentors", None).await), everyone);
    let r = as_user(&app, &caseworker, "GET", "/api/v1/mentors", None).await;
    assert_eq!(ids(&r), everyone);
    assert!(items(&r).iter().all(|m| m["notes"].is_null() && m["phone"] == "13900000000"), "{}", r.body);
    let r = as_user(&app, &caseworker, "GET", &format!("/api/v1/mentors/{elsewhere}"), None).await;
    assert_eq!((r.status.as_u16(), &r.body["notes"]), (200, &Value::Null));
    for role_token in [&coordinator] {
        let random = as_user(&app, role_token, "GET", &format!("/api/v1/mentors/{NOWHERE}"), None).await;
        random.assert_problem(404, "not_found");
        for other in [&elsewhere, &nowhere] {
            let r = as_user(&app, role_token, "GET", &format!("/api/v1/mentors/{other}"), None).await;
            same_answer(&r, &random);
        }
        let r = as_user(&app, role_token, "GET", &format!("/api/v1/mentors/{visiting}"), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    for role in [Role::Auditor, Role::Volunteer, Role::Mentor] {
        let name = format!("{role}.reader");
        app.add_user(&name, role, PASSWORD).await;
        let token = app.login(&name, PASSWORD).await;
        as_user(&app, &token, "GET", "/api/v1/mentors", None).await.assert_problem(403, "forbidden");
    }

    // Writing: a coordinator of a region names a region in their subtree; outside it, the
    // answer is the one for a region that does not exist, and nothing is written.
    let body = |region: Option<&str>, user: Option<&str>| json!({"name": "新导师", "region_id": region, "user_id": user});
    let before = app.count("mentors").await;
    let outside =
        as_user(&app, &coordinator, "POST", "/api/v1/mentors", Some(body(Some(&guihua), None))).await;
    let random =
        as_user(&app, &coordinator, "POST", "/api/v1/mentors", Some(body(Some(NOWHERE), None))).await;
    outside.assert_problem(422, "validation_failed");
    assert_eq!(outside.body["errors"][0]["field"], "region_id");
    same_answer(&outside, &random);
    let r = as_user(&app, &coordinator, "POST", "/api/v1/mentors", Some(body(None, None))).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["code"], "required");
    assert_eq!(app.count("mentors").await, before);
    let r = as_user(&app, &coordinator, "POST", "/api/v1/mentors", Some(body(Some(&jingui), None))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Admins and coordinators without a region place mentors anywhere, or nowhere.
    let r = as_user(&app, &city_coordinator, "POST", "/api/v1/mentors", Some(body(None, None))).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // Updates: only mentors of their region, kept in it. A mentor they only read is not found.
    let put = |token: &str, id: &str, body: Value, etag: String| {
        let (token, path) = (token.to_owned(), format!("/api/v1/mentors/{id}"));
        let app = &app;
        async move { app.send("PUT", &path, Some(&token), Some(body), &[("if-match", &etag)]).await }
    };
    let etag_of = |id: &str| {
        let path = format!("/api/v1/mentors/{id}");
        let app = &app;
        async move { app.get(&path).await.header("etag").unwrap() }
    };
    let random = put(&coordinator, NOWHERE, body(Some(&jingui), None), "\"1\"".into()).await;
    random.assert_problem(404, "not_found");
    for other in [&visiting, &elsewhere, &nowhere] {
        let r = put(&coordinator, other, body(Some(&jingui), None), etag_of(other).await).await;
        same_answer(&r, &random);
    }
    let r = put(&coordinator, &in_region, body(Some(&guihua), None), etag_of(&in_region).await).await;
    let random_region =
        put(&coordinator, &in_region, body(Some(NOWHERE), None), etag_of(&in_region).await).await;
    r.assert_problem(422, "validation_failed");
    same_answer(&r, &random_region);
    assert_eq!(app.get(&format!("/api/v1/mentors/{in_region}")).await.body["region_id"], jingui.as_str());

    // The account link: a user with the role `mentor` that no other mentor has. Any other id
    // (missing, another role's, linked elsewhere, even out of the coordinator's reach) reads the same.
    let free = app.add_user("mentor.free", Role::Mentor, PASSWORD).await;
    let taken = app.add_user("mentor.taken", Role::Mentor, PASSWORD).await;
    let not_a_mentor = app.add_user("caseworker.notmentor", Role::Caseworker, PASSWORD).await;
    let r = put(&app.token, &nowhere, body(None, Some(&taken)), etag_of(&nowhere).await).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let link = |user: &str| body(Some(&jingui), Some(user));
    let random = put(&coordinator, &in_region, link(NOWHERE), etag_of(&in_region).await).await;
    random.assert_problem(422, "validation_failed");
    assert_eq!(random.body["errors"][0]["field"], "user_id");
    for user in [&taken, &not_a_mentor] {
        let r = put(&coordinator, &in_region, link(user), etag_of(&in_region).await).await;
        same_answer(&r, &random);
    }
    let r = put(&coordinator, &in_region, link(&free), etag_of(&in_region).await).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["user_id"], free.as_str());
    // Creating with a taken account is refused the same way, for an admin too.
    let r = app.post("/api/v1/mentors", body(None, Some(&free))).await;
    same_answer(&r, &app.post("/api/v1/mentors", body(None, Some(NOWHERE))).await);
    // Caseworkers read mentors but change none (the access table), whatever the field.
    let r = put(&caseworker, &in_region, body(Some(&jingui), None), etag_of(&in_region).await).await;
    r.assert_problem(403, "forbidden");
}

async fn load_demo(app: &TestApp) {
    let db = app.state.db.clone();
    actix_web::web::block(move || {
        let mut conn = db.conn().unwrap();
        tongxing::demo::load(&mut conn).unwrap();
    })
    .await
    .unwrap();
}

async fn reports_cover_the_coordinators_region(app: TestApp) {
    load_demo(&app).await;
    let guihua = app.region("桂花镇").await;
    let baidun = app.region("柏墩村").await;
    let token = coordinator_of(&app, "coordinator.guihua", &guihua).await;
    let period = "from=2023-06-01&to=2024-01-31";
    for report in ["summary", "events", "assessments", "compliance"] {
        // By default, their own subtree: the figures an admin gets for it, in full.
        let own = as_user(&app, &token, "GET", &format!("/api/v1/reports/{report}?{period}"), None).await;
        assert_eq!(own.status, 200, "{report}: {}", own.body);
        assert_eq!(own.body["scope"]["region_id"], guihua.as_str(), "{report}");
        assert!(own.body.get("suppression").is_none(), "{report}: {}", own.body);
        let admin = app.get(&format!("/api/v1/reports/{report}?{period}&region_id={guihua}")).await;
        assert_eq!(own.body, admin.body, "{report}");
        // A region in it narrows.
        let path = format!("/api/v1/reports/{report}?{period}&region_id={baidun}");
        let narrow = as_user(&app, &token, "GET", &path, None).await;
        assert_eq!(narrow.body, as_withheld(app.get(&path).await.body, &narrow.body), "{report}");
        // Another region, the district above, or a region that does not exist: the same 404.
        let random =
            as_user(&app, &token, "GET", &format!("/api/v1/reports/{report}?region_id={NOWHERE}"), None)
                .await;
        random.assert_problem(404, "not_found");
        for other in ["南昌路社区", "浮山街道", "咸安区"] {
            let other = app.region(other).await;
            for format in ["", "&format=csv"] {
                let path = format!("/api/v1/reports/{report}?region_id={other}{format}");
                same_answer(&as_user(&app, &token, "GET", &path, None).await, &random);
            }
        }
        // For everyone: a region that does not exist is not found.
        app.get(&format!("/api/v1/reports/{report}?region_id={NOWHERE}"))
            .await
            .assert_problem(404, "not_found");
    }
    // The programme's own figures in Guihua town: its registered children, not the city's 106.
    let own = as_user(&app, &token, "GET", &format!("/api/v1/reports/summary?{period}"), None).await;
    let city = app.get(&format!("/api/v1/reports/summary?{period}")).await;
    assert_eq!(city.body["children_registered"], 106);
    assert!(own.body["children_registered"].as_i64().unwrap() < 106, "{}", own.body);

    // An auditor reads the city's published figures in full: none rests on few children.
    app.add_user("auditor.city", Role::Auditor, PASSWORD).await;
    let auditor = app.login("auditor.city", PASSWORD).await;
    let r = as_user(&app, &auditor, "GET", &format!("/api/v1/reports/summary?{period}"), None).await;
    assert_eq!(
        (&r.body["children_registered"], &r.body["families_phoned"], &r.body["children_visited"]),
        (&json!(106), &json!(200), &json!(85))
    );
    assert_eq!(r.body["suppression"], json!({"threshold": 5, "suppressed": []}));
    // The 11 November event at Baidun: 14 children from 6 villages, a few from each. The total
    // is shown; each village's children, fewer than five, are not.
    let r = as_user(
        &app,
        &auditor,
        "GET",
        &format!("/api/v1/reports/events?from=2023-11-11&to=2023-11-11&region_id={baidun}"),
        None,
    )
    .await;
    assert_eq!(r.body["children_attending"], 14, "{}", r.body);
    let villages = r.body["villages_reached"].as_array().unwrap();
    assert_eq!(villages.len(), 6);
    assert!(villages.iter().all(|v| v["children"].is_null() && v["events"].is_null()), "{}", r.body);
    let admin =
        app.get(&format!("/api/v1/reports/events?from=2023-11-11&to=2023-11-11&region_id={baidun}")).await;
    let shown: i64 = admin.body["villages_reached"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["children"].as_i64().unwrap())
        .sum();
    assert_eq!(shown, 14);

    // A child from outside the coordinator's town at an event held in it: the coordinator runs
    // the events of their town but may not read that child, so the small figures of the child's
    // village are withheld from them (and named), while the admin sees them.
    let outside = app.region("南昌路社区").await;
    let visitor = child_in(&app, &outside, "外村儿童").await;
    let org = app
        .post("/api/v1/organisations", json!({"name": "跨村活动组织", "kind": "social_organisation"}))
        .await
        .id();
    let event = app
        .post("/api/v1/events", json!({"title": "读书会", "event_type": "care", "programme": "five_plus_n", "starts_at": "2024-03-05T09:00:00+08:00", "ends_at": "2024-03-05T11:00:00+08:00", "region_id": baidun, "organiser_id": org}))
        .await
        .id();
    let r = app
        .post(&format!("/api/v1/events/{event}/attendance"), json!({"items": [{"child_id": visitor}]}))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let volunteer = app.post("/api/v1/volunteers", json!({"name": "何志愿", "source": "community", "background_check": {"on": "2023-01-01", "expires_on": "2030-01-01"}, "safety_training": {"on": "2023-01-01", "expires_on": "2030-01-01"}})).await.id();
    let r = app
        .post(
            &format!("/api/v1/events/{event}/roster"),
            json!({"volunteer_id": volunteer, "role": "lead", "hours": 2.0}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = app.post(&format!("/api/v1/events/{event}/status"), json!({"status": "held"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let day = "from=2024-03-05&to=2024-03-05";
    let village_of = |body: &Value, list: &str| -> (usize, Value) {
        let items = body[list].as_array().unwrap();
        let i =
            items.iter().position(|v| v["region_id"] == outside.as_str()).unwrap_or_else(|| panic!("{body}"));
        (i, items[i].clone())
    };
    let admin = app.get(&format!("/api/v1/reports/events?{day}")).await;
    assert_eq!(village_of(&admin.body, "villages_reached").1["children"], 1, "{}", admin.body);
    let own = as_user(&app, &token, "GET", &format!("/api/v1/reports/events?{day}"), None).await;
    let (i, v) = village_of(&own.body, "villages_reached");
    assert!(v["children"].is_null() && v["events"].is_null(), "{}", own.body);
    let suppressed = &own.body["suppression"]["suppressed"];
    assert!(
        suppressed.as_array().unwrap().contains(&json!(format!("/villages_reached/{i}/children"))),
        "{}",
        own.body
    );
    let admin = app.get(&format!("/api/v1/reports/summary?{day}")).await;
    assert_eq!(village_of(&admin.body, "by_village").1["children_attending_events"], 1, "{}", admin.body);
    let own = as_user(&app, &token, "GET", &format!("/api/v1/reports/summary?{day}"), None).await;
    let (i, v) = village_of(&own.body, "by_village");
    assert!(v["children_attending_events"].is_null(), "{}", own.body);
    let suppressed = &own.body["suppression"]["suppressed"];
    assert!(
        suppressed.as_array().unwrap().contains(&json!(format!("/by_village/{i}/children_attending_events"))),
        "{}",
        own.body
    );
    // Not recomputable from the total: it is withheld too.
    assert!(own.body["children_attending_events"].is_null(), "{}", own.body);
}

/// `full` as the answer `withheld` shows it: each figure `withheld` names in its suppression set
/// to null, and that suppression added. (A coordinator's report counts children from outside
/// their region who attended its events; the small figures of those children's villages are
/// withheld from them, the rest is the admin's report.)
fn as_withheld(mut full: Value, withheld: &Value) -> Value {
    if let Some(suppression) = withheld.get("suppression") {
        for pointer in suppression["suppressed"].as_array().unwrap() {
            *full.pointer_mut(pointer.as_str().unwrap()).unwrap() = Value::Null;
        }
        full["suppression"] = suppression.clone();
    }
    full
}

async fn small_cells_are_withheld_from_readers_who_may_not_see_the_children(app: TestApp) {
    // A village of Guihua town with one child: registered, visited, assessed.
    let guihua = app.region("桂花镇").await;
    let r =
        app.post("/api/v1/regions", json!({"parent_id": guihua, "level": "village", "name": "小岭村"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let village = r.id();
    let child = child_in(&app, &village, "独苗").await;
    let r = app
        .post(
            &format!("/api/v1/children/{child}/status"),
            json!({"status": "registered", "effective_on": "2024-01-02"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .post(&format!("/api/v1/children/{child}/assessments"), json!({"assessed_on": "2024-02-01", "living_conditions": {"score": 3}, "psychological_state": {"score": 2}, "study": {"score": 4}, "social_development": {"score": 3}}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .post("/api/v1/contacts", json!({"kind": "home_visit", "child_id": child, "occurred_at": "2024-03-01T09:00:00+08:00", "outcome": "completed"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let q = format!("from=2024-01-01&to=2024-12-31&region_id={village}");
    // Admins, and coordinators whose region holds the village, get every figure.
    let coordinator = coordinator_of(&app, "coordinator.guihua", &guihua).await;
    for token in [app.token.clone(), coordinator] {
        let r = as_user(&app, &token, "GET", &format!("/api/v1/reports/assessments?{q}"), None).await;
        assert_eq!(r.body["children"], 1, "{}", r.body);
        assert_eq!(r.body["dimensions"][1]["scores"], json!([0, 1, 0, 0, 0]));
        assert_eq!(r.body["risk_levels"]["medium"], 1.0);
        assert!(r.body.get("suppression").is_none());
        let r = as_user(&app, &token, "GET", &format!("/api/v1/reports/summary?{q}"), None).await;
        assert_eq!((&r.body["children_registered"], &r.body["children_visited"]), (&json!(1), &json!(1)));
        assert!(r.body.get("suppression").is_none());
    }

    // Auditors and caseworkers may not read the child: nothing that rests on it is shown.
    app.add_user("auditor.small", Role::Auditor, PASSWORD).await;
    app.add_user("caseworker.small", Role::Caseworker, PASSWORD).await;
    for user in ["auditor.small", "caseworker.small"] {
        let token = app.login(user, PASSWORD).await;
        let r = as_user(&app, &token, "GET", &format!("/api/v1/reports/assessments?{q}"), None).await;
        assert_eq!(r.status, 200, "{user}: {}", r.body);
        for field in ["children", "assessments", "children_reassessed", "improved", "worsened", "unchanged"] {
            assert!(r.body[field].is_null(), "{user} {field}: {}", r.body);
        }
        for d in r.body["dimensions"].as_array().unwrap() {
            assert_eq!(d["scores"], json!([null, null, null, null, null]), "{user}");
            assert!(d["mean"].is_null() && d["mean_change"].is_null(), "{user}");
        }
        assert_eq!(r.body["risk_levels"], json!({"low": null, "medium": null, "high": null}), "{user}");
        assert_eq!(r.body["suppression"]["threshold"], 5);
        let withheld = r.body["suppression"]["suppressed"].as_array().unwrap();
        for pointer in ["/children", "/dimensions/1/scores/1", "/dimensions/1/mean", "/risk_levels/medium"] {
            assert!(withheld.iter().any(|p| p == pointer), "{user}: {pointer} in {withheld:?}");
        }
        // Every pointer names a figure the answer shows as null.
        for p in withheld {
            assert_eq!(r.body.pointer(p.as_str().unwrap()), Some(&Value::Null), "{user} {p}");
        }
        let r = as_user(&app, &token, "GET", &format!("/api/v1/reports/summary?{q}"), None).await;
        for field in ["children_registered", "children_visited", "children_assessed"] {
            assert!(r.body[field].is_null(), "{user} {field}: {}", r.body);
        }
        assert_eq!(r.body["children_attending_events"], 0, "zero rests on no child");
        assert_eq!(r.body["events_held"], 0);
        // CSV: the cells are empty, and a last row says why.
        let r =
            as_user(&app, &token, "GET", &format!("/api/v1/reports/assessments?{q}&format=csv"), None).await;
        let text = String::from_utf8(r.raw).unwrap();
        assert!(text.contains("\r\n心理状况,,,,,,,\r\n"), "{text}");
        assert!(text.trim_end().lines().last().unwrap().starts_with("说明,有 "), "{text}");
        let r = as_user(&app, &token, "GET", &format!("/api/v1/reports/summary?{q}&format=csv"), None).await;
        let text = String::from_utf8(r.raw).unwrap();
        assert!(text.contains("\r\n建档立卡儿童数,,"), "{text}");
    }
}
