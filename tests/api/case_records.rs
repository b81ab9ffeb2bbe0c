//! The case-record session of the foundation: households, children, assessments, contacts and
//! consents, with region filters, lifecycle, and optimistic concurrency.

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_caseworker_session_over_http,
    lifecycle_rules_are_enforced,
    stale_and_missing_if_match,
    pagination_walks_every_record
);

async fn household(app: &TestApp, village: &str) -> Value {
    let r = app
        .post(
            "/api/v1/households",
            json!({
                "region_id": village, "address": "柏墩村三组12号", "parents_work_away": true,
                "guardians": [
                    {"name": "王秀英", "relation": "grandmother", "phone": "+86 138-0000-0000", "is_primary": true},
                    {"name": "王建国", "relation": "father", "works_away": true}
                ]
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn child(app: &TestApp, village: &str, household: Option<&str>, name: &str) -> Value {
    let r = app
        .post(
            "/api/v1/children",
            json!({
                "region_id": village, "household_id": household, "name": name, "sex": "female",
                "birth_date": "2014-09-10", "categories": ["left_behind", "in_difficulty"], "school": "桂花镇中心小学",
                "health_notes": "哮喘"
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

async fn a_caseworker_session_over_http(app: TestApp) {
    let baidun = app.region("柏墩村").await;
    let guihua = app.region("桂花镇").await;
    let fushan = app.region("浮山街道").await;

    let h = household(&app, &baidun).await;
    let hid = h["id"].as_str().unwrap().to_owned();
    assert_eq!(h["guardians"].as_array().unwrap().len(), 2);
    assert_eq!(h["guardians"][0]["relation"], "grandmother");

    let c = child(&app, &baidun, Some(&hid), "王小花").await;
    let cid = c["id"].as_str().unwrap().to_owned();
    assert_eq!(c["status"], "screening");
    assert_eq!(c["categories"], json!(["left_behind", "in_difficulty"]));
    assert!(c["case_number"].is_null());

    // Read back with its ETag.
    let r = app.get(&format!("/api/v1/children/{cid}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(r.body["name"], "王小花");
    let r = app.get(&format!("/api/v1/households/{hid}")).await;
    assert_eq!(r.body["guardians"][1]["name"], "王建国");

    // An assessment with the derived risk level.
    let r = app
        .post(
            &format!("/api/v1/children/{cid}/assessments"),
            json!({
                "assessed_on": "2023-12-10",
                "living_conditions": {"score": 3, "notes": "与祖母同住"},
                "psychological_state": {"score": 2}, "study": {"score": 4}, "social_development": {"score": 3}
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["risk_level"], "medium");
    let r = app.get(&format!("/api/v1/children/{cid}/assessments")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["items"][0]["living_conditions"]["notes"], "与祖母同住");

    // A phone visit to the household and a home visit to the child (still in screening).
    let r = app
        .post("/api/v1/contacts", json!({"kind": "phone_visit", "household_id": hid, "occurred_at": "2023-11-20T10:30:00+08:00", "outcome": "completed"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["occurred_at"], "2023-11-20T02:30:00Z");
    let r = app
        .post("/api/v1/contacts", json!({"kind": "home_visit", "child_id": cid, "occurred_at": "2023-11-21T09:00:00Z", "outcome": "completed", "notes": "作业完成"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["household_id"], hid.as_str(), "the visit is filed with the child's household");
    let visit = r.id();
    assert_eq!(app.get(&format!("/api/v1/contacts/{visit}")).await.body["notes"], "作业完成");
    let r = app.get(&format!("/api/v1/contacts?household_id={hid}&from=2023-11-20&to=2023-11-20")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{}", r.body);
    assert_eq!(r.body["items"][0]["kind"], "phone_visit");

    // A guardian's consent, then its withdrawal.
    let r = app
        .post("/api/v1/consents", json!({"child_id": cid, "purpose": "case_file", "given_by_name": "王秀英", "given_by_relation": "grandmother", "given_at": "2023-06-15T01:00:00Z"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["active"], true);
    let consent = r.id();
    let r = app.post(&format!("/api/v1/consents/{consent}/withdraw"), json!({"reason": "监护人撤回"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["active"], false);
    app.post(&format!("/api/v1/consents/{consent}/withdraw"), json!({"reason": "again"}))
        .await
        .assert_problem(409, "already_withdrawn");
    let r = app.get(&format!("/api/v1/consents?child_id={cid}&active=false")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);

    // Region filters take the whole subtree.
    let r = app.get(&format!("/api/v1/children?region_id={guihua}")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1, "{}", r.body);
    let r = app.get(&format!("/api/v1/children?region_id={fushan}")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    let r = app.get(&format!("/api/v1/households?region_id={guihua}")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    let r = app.get("/api/v1/children?category=orphaned_or_disabled").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    let r = app.get(&format!("/api/v1/children?q={}", crate::helpers::urlencode("小花"))).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);

    // Through the lifecycle.
    let r = app
        .post(
            &format!("/api/v1/children/{cid}/status"),
            json!({"status": "registered", "effective_on": "2023-06-15"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "registered");
    assert_eq!(r.body["registered_on"], "2023-06-15");
    let number = r.body["case_number"].as_str().unwrap().to_owned();
    assert!(number.starts_with("TX2023-"), "{number}");
    let r = app.get(&format!("/api/v1/children?q={number}")).await;
    assert_eq!(r.body["items"][0]["id"], cid.as_str());
    let r = app.post(&format!("/api/v1/children/{cid}/status"), json!({"status": "active"})).await;
    assert_eq!(r.body["status"], "active");
    let r = app
        .post(
            &format!("/api/v1/children/{cid}/status"),
            json!({"status": "closed", "reason": "随父母迁往武汉"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "closed");
    assert_eq!(r.body["closure_reason"], "随父母迁往武汉");
    assert_eq!(r.header("etag").as_deref(), Some("\"4\""));
}

async fn lifecycle_rules_are_enforced(app: TestApp) {
    let village = app.region("柏墩村").await;
    let cid = child(&app, &village, None, "李明").await["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/children/{cid}/status");
    let r = app.post(&path, json!({"status": "active"})).await;
    r.assert_problem(409, "illegal_transition");
    // The statuses travel as params, and the Chinese detail names them.
    assert_eq!(r.body["params"], json!({"from": "screening", "to": "active"}));
    assert_eq!(r.body["detail"], "生命周期不允许从 screening 变为 active");
    app.post(&path, json!({"status": "screening"})).await.assert_problem(409, "illegal_transition");
    let r = app.post(&path, json!({"status": "registered", "effective_on": "2099-01-01"})).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "effective_on");
    app.post(&path, json!({"status": "registered"})).await;
    app.post(&path, json!({"status": "registered"})).await.assert_problem(409, "illegal_transition");
    let r = app.post(&path, json!({"status": "closed"})).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "reason");
    app.post(&path, json!({"status": "closed", "reason": "不符合条件"})).await;
    app.post(&path, json!({"status": "active"})).await.assert_problem(409, "illegal_transition");

    // Case-file numbers are unique and sequential within the year.
    let a = child(&app, &village, None, "甲").await["id"].as_str().unwrap().to_owned();
    let b = child(&app, &village, None, "乙").await["id"].as_str().unwrap().to_owned();
    let na = app
        .post(
            &format!("/api/v1/children/{a}/status"),
            json!({"status": "registered", "effective_on": "2024-01-05"}),
        )
        .await;
    let nb = app
        .post(
            &format!("/api/v1/children/{b}/status"),
            json!({"status": "registered", "effective_on": "2024-01-06"}),
        )
        .await;
    assert_eq!(na.body["case_number"], "TX2024-00001");
    assert_eq!(nb.body["case_number"], "TX2024-00002");
}

async fn stale_and_missing_if_match(app: TestApp) {
    let village = app.region("柏墩村").await;
    let c = child(&app, &village, None, "张伟").await;
    let cid = c["id"].as_str().unwrap();
    let path = format!("/api/v1/children/{cid}");
    let mut update = json!({"region_id": village, "name": "张伟", "sex": "male", "birth_date": "2014-09-10", "categories": ["in_difficulty"]});

    app.send("PUT", &path, None, Some(update.clone()), &[]).await.assert_problem(428, "if_match_required");
    let r = app.send("PUT", &path, None, Some(update.clone()), &[("if-match", "\"1\"")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["sex"], "male");
    assert_eq!(r.body["health_notes"], Value::Null, "a replacement clears what it omits");
    assert_eq!(r.header("etag").as_deref(), Some("\"2\""));

    // A second device still holding version 1 is refused, and changes nothing.
    update["name"] = json!("张伟伟");
    app.send("PUT", &path, None, Some(update.clone()), &[("if-match", "\"1\"")])
        .await
        .assert_problem(412, "stale_version");
    assert_eq!(app.get(&path).await.body["name"], "张伟");
    app.send("PUT", &path, None, Some(update.clone()), &[("if-match", "not-an-etag")])
        .await
        .assert_problem(412, "invalid_if_match");

    // Households too.
    let h = household(&app, &village).await;
    let hpath = format!("/api/v1/households/{}", h["id"].as_str().unwrap());
    let body = json!({"region_id": village, "parents_work_away": false, "guardians": [{"name": "张奶奶", "relation": "grandmother"}]});
    let r = app.send("PUT", &hpath, None, Some(body.clone()), &[("if-match", "\"1\"")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["guardians"].as_array().unwrap().len(), 1);
    app.send("PUT", &hpath, None, Some(body), &[("if-match", "\"1\"")])
        .await
        .assert_problem(412, "stale_version");

    // A status change with a stale If-Match is refused as well.
    app.send(
        "POST",
        &format!("{path}/status"),
        None,
        Some(json!({"status": "registered"})),
        &[("if-match", "\"1\"")],
    )
    .await
    .assert_problem(412, "stale_version");
}

async fn pagination_walks_every_record(app: TestApp) {
    let village = app.region("柏墩村").await;
    for i in 0..7 {
        child(&app, &village, None, &format!("孩子{i}")).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/children?limit=3&cursor={c}"),
            None => "/api/v1/children?limit=3".to_owned(),
        };
        let r = app.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        pages += 1;
        for item in r.body["items"].as_array().unwrap() {
            seen.push(item["name"].as_str().unwrap().to_owned());
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..7).map(|i| format!("孩子{i}")).collect();
    assert_eq!(seen, expected, "every record once, in creation order");
}
