//! Bad input of every kind gets a 4xx problem+json with a stable code, and writes nothing.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    bad_bodies_are_refused_without_writing,
    bad_paths_and_queries_are_refused,
    domain_validation_lists_each_field
);

async fn bad_bodies_are_refused_without_writing(app: TestApp) {
    let village = app.region("柏墩村").await;
    let before = app.counts().await;
    let json_ct = "application/json";
    let good = format!(
        r#"{{"region_id":"{village}","name":"周","sex":"male","birth_date":"2015-01-01","categories":["left_behind"]}}"#
    );
    let raw_cases: Vec<(&str, &str, Vec<u8>, u16, &str)> = vec![
        ("malformed", json_ct, b"{\"name\": ".to_vec(), 400, "malformed_json"),
        ("not an object", json_ct, b"[1,2,3]".to_vec(), 400, "invalid_body"),
        ("empty", json_ct, Vec::new(), 400, "malformed_json"),
        ("invalid utf-8", json_ct, b"{\"name\": \"\xff\xfe\"}".to_vec(), 400, "malformed_json"),
        ("wrong content type", "text/plain", good.clone().into_bytes(), 415, "unsupported_media_type"),
        (
            "form content type",
            "application/x-www-form-urlencoded",
            b"name=x".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "too large",
            json_ct,
            format!(r#"{{"name":"{}"}}"#, "x".repeat(70 * 1024)).into_bytes(),
            413,
            "body_too_large",
        ),
        (
            "unknown field",
            json_ct,
            good.replace("\"name\"", "\"nickname\":\"x\",\"name\"").into_bytes(),
            400,
            "invalid_body",
        ),
        ("wrong type", json_ct, good.replace("\"周\"", "42").into_bytes(), 400, "invalid_body"),
        (
            "impossible date",
            json_ct,
            good.replace("2015-01-01", "2023-02-30").into_bytes(),
            400,
            "invalid_body",
        ),
        ("unknown enum", json_ct, good.replace("left_behind", "orphan").into_bytes(), 400, "invalid_body"),
        ("bad uuid", json_ct, good.replace(&village, "not-a-uuid").into_bytes(), 400, "invalid_body"),
        (
            "nul in text",
            json_ct,
            good.replace("\"周\"", "\"周\\u0000\"").into_bytes(),
            400,
            "validation_failed",
        ),
    ];
    for (what, content_type, body, status, code) in raw_cases {
        let r = app.send_raw("POST", "/api/v1/children", None, Some((content_type, body)), &[]).await;
        assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
        r.assert_problem(status, code);
    }
    let contact = json!({"kind": "phone_visit", "household_id": uuid::Uuid::now_v7(), "occurred_at": "2023-11-20T10:30:00", "outcome": "completed"});
    app.post("/api/v1/contacts", contact).await.assert_problem(400, "invalid_body");
    assert_eq!(app.counts().await, before, "nothing was written");
}

async fn bad_paths_and_queries_are_refused(app: TestApp) {
    for (path, status, code) in [
        ("/api/v1/children/not-a-uuid", 400, "invalid_path"),
        ("/api/v1/children/01a22412-7e98-75bd-a988-60023d0e05c7", 404, "not_found"),
        ("/api/v1/children?limit=abc", 400, "invalid_query"),
        ("/api/v1/children?limit=0", 422, "validation_failed"),
        ("/api/v1/children?limit=-1", 422, "validation_failed"),
        ("/api/v1/children?limit=100000", 422, "validation_failed"),
        ("/api/v1/children?cursor=forged", 422, "validation_failed"),
        ("/api/v1/children?status=lost", 400, "invalid_query"),
        ("/api/v1/children?unknown=1", 400, "invalid_query"),
        ("/api/v1/children?region_id=01a22412-7e98-75bd-a988-60023d0e05c7", 422, "validation_failed"),
        ("/api/v1/contacts?from=2023-02-30", 400, "invalid_query"),
        ("/api/v1/contacts?from=2023-03-02&to=2023-03-01", 422, "validation_failed"),
        ("/api/v1/children?q=%00", 400, "invalid_query"),
        ("/api/v1/households?q=a%0Db", 400, "invalid_query"),
        ("/api/v1/nothing-here", 404, "no_route"),
    ] {
        let r = app.get(path).await;
        assert_eq!(r.status.as_u16(), status, "{path}: {}", r.body);
        r.assert_problem(status, code);
    }
}

async fn domain_validation_lists_each_field(app: TestApp) {
    let village = app.region("柏墩村").await;
    let town = app.region("桂花镇").await;
    let before = app.counts().await;
    let r = app
        .post(
            "/api/v1/children",
            json!({"region_id": village, "name": "", "sex": "male", "birth_date": "2015-01-01", "categories": [], "national_id": "123"}),
        )
        .await;
    // Lengths the contract states: 400. Rules of the domain the contract cannot state: 422.
    r.assert_problem(400, "validation_failed");
    let fields: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["categories", "name", "national_id"], "{}", r.body);

    let r = app
        .post("/api/v1/children", json!({"region_id": town, "name": "周", "sex": "male", "birth_date": "2015-01-01", "categories": ["left_behind"]}))
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["code"], "not_village");

    let r = app
        .post("/api/v1/children", json!({"region_id": village, "name": "周", "sex": "male", "birth_date": "2015-01-01", "categories": ["left_behind"], "national_id": "421202201501011231"}))
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "national_id");

    let r = app
        .post("/api/v1/households", json!({"region_id": village, "guardians": [{"name": "甲", "relation": "father", "phone": "<script>"}, {"name": "乙", "relation": "mother", "is_primary": true}, {"name": "丙", "relation": "other", "is_primary": true}]}))
        .await;
    r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> =
        r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"guardians[0].phone") && fields.contains(&"guardians"), "{}", r.body);

    let r = app
        .post(
            "/api/v1/contacts",
            json!({"kind": "home_visit", "occurred_at": "2023-11-20T02:30:00Z", "outcome": "completed"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "child_id");
    let r = app.post("/api/v1/contacts", json!({"kind": "phone_visit", "household_id": uuid::Uuid::now_v7(), "occurred_at": "2023-11-20T02:30:00Z", "outcome": "completed"})).await;
    r.assert_problem(422, "validation_failed");
    let r = app
        .post("/api/v1/children/01a22412-7e98-75bd-a988-60023d0e05c7/assessments", json!({"assessed_on": "2023-12-10", "living_conditions": {"score": 3}, "psychological_state": {"score": 2}, "study": {"score": 4}, "social_development": {"score": 3}}))
        .await;
    r.assert_problem(404, "not_found");
    let r = app
        .post("/api/v1/consents", json!({"child_id": uuid::Uuid::now_v7(), "purpose": "data_sharing", "given_by_name": "王", "given_by_relation": "mother", "given_at": "2023-06-15T01:00:00Z"}))
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "organisation_id");
    assert_eq!(app.counts().await, before);
}
