//! Idempotency-Key replays and client-chosen ids: a retried create never creates twice.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_replayed_key_creates_nothing_new,
    racing_requests_with_one_key_create_once,
    client_chosen_ids
);

async fn a_replayed_key_creates_nothing_new(app: TestApp) {
    let village = app.region("柏墩村").await;
    let body = json!({"region_id": village, "name": "刘洋", "sex": "male", "birth_date": "2016-02-29", "categories": ["left_behind"]});
    let key = [("idempotency-key", "device-7f3a-0001")];
    let first = app.send("POST", "/api/v1/children", None, Some(body.clone()), &key).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let before = app.counts().await;

    let replay = app.send("POST", "/api/v1/children", None, Some(body.clone()), &key).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.raw, first.raw, "a replay answers with the first response, byte for byte");
    assert_eq!(replay.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(app.counts().await, before, "the replay wrote nothing");

    let mut other = body.clone();
    other["name"] = json!("刘洋洋");
    app.send("POST", "/api/v1/children", None, Some(other), &key)
        .await
        .assert_problem(422, "idempotency_key_reused");
    // The same key on another endpoint is another request too.
    app.send("POST", "/api/v1/households", None, Some(json!({"region_id": village})), &key)
        .await
        .assert_problem(422, "idempotency_key_reused");
    assert_eq!(app.counts().await, before);

    // Keys belong to their caller: another user's same key is a new request.
    app.add_user("caseworker.li", tongxing_core::role::Role::Caseworker, "caseworker-password").await;
    let token = app.login("caseworker.li", "caseworker-password").await;
    let r = app.send("POST", "/api/v1/children", Some(&token), Some(body), &key).await;
    assert_eq!(r.status, 201);
    assert_ne!(r.id(), first.id());

    app.send("POST", "/api/v1/children", None, Some(json!({})), &[("idempotency-key", "")])
        .await
        .assert_problem(400, "invalid_idempotency_key");
}

async fn racing_requests_with_one_key_create_once(app: TestApp) {
    let village = app.region("柏墩村").await;
    let body = json!({"region_id": village, "address": "明星村", "guardians": [{"name": "赵奶奶", "relation": "grandmother"}]});
    let before = app.count("households").await;
    let key = [("idempotency-key", "race-1")];
    let sends = (0..6).map(|_| app.send("POST", "/api/v1/households", None, Some(body.clone()), &key));
    let results = futures_util::future::join_all(sends).await;
    let ids: std::collections::BTreeSet<String> = results
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.body);
            r.id()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every racer got the one record");
    assert_eq!(app.count("households").await, before + 1);
    assert_eq!(app.count("guardians").await, 1);
}

async fn client_chosen_ids(app: TestApp) {
    let village = app.region("柏墩村").await;
    let id = uuid::Uuid::now_v7().to_string();
    let body = json!({"id": id, "region_id": village, "name": "孙丽", "sex": "female", "birth_date": "2013-01-01", "categories": ["in_difficulty"]});
    let r = app.post("/api/v1/children", body.clone()).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.id(), id);
    let before = app.counts().await;
    app.post("/api/v1/children", body).await.assert_problem(409, "id_taken");
    assert_eq!(app.counts().await, before);
}
