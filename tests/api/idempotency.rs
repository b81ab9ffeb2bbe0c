//! Idempotency-Key replays and client-chosen ids: a retried create never creates twice.

use serde_json::json;

use crate::helpers::{Setup, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_replayed_key_creates_nothing_new,
    racing_requests_with_one_key_create_once,
    client_chosen_ids
);
on_both_backends!(setup = two_second_keys; keys_expire_and_their_answers_are_purged);

fn two_second_keys() -> Setup {
    Setup { idempotency_window: 2, ..Setup::default() }
}

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
    // Every header of the first answer again: its ETag.
    assert!(first.header("etag").is_some());
    assert_eq!(replay.header("etag"), first.header("etag"));
    // The same JSON with its keys in another order, and other spacing, is the same request: a
    // replay, not 422.
    let reordered = format!(
        r#"{{"categories": ["left_behind"], "birth_date": "2016-02-29", "sex": "male", "name": "刘洋", "region_id": "{village}"}}"#
    );
    let replay = app
        .send_raw("POST", "/api/v1/children", None, Some(("application/json", reordered.into_bytes())), &key)
        .await;
    assert_eq!((replay.status.as_u16(), replay.raw.clone()), (201, first.raw.clone()), "{}", replay.body);
    assert_eq!(replay.header("idempotent-replayed").as_deref(), Some("true"));
    let household = json!({"region_id": village, "guardians": [], "address": "幸福路1号"});
    let k = [("idempotency-key", "device-7f3a-0002")];
    let first_household = app.send("POST", "/api/v1/households", None, Some(household), &k).await;
    assert_eq!(first_household.status, 201, "{}", first_household.body);
    let spelled = format!(r#"{{"address": "幸福路1号", "guardians": [], "region_id": "{village}"}}"#);
    let replay = app
        .send_raw("POST", "/api/v1/households", None, Some(("application/json", spelled.into_bytes())), &k)
        .await;
    assert_eq!(replay.raw, first_household.raw, "{}", replay.body);
    let before = app.counts().await;

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

/// A key holds for the service's window (here 2 s): after it the same key is a new request, and
/// the answer it kept (which names a child) is purged from the database.
async fn keys_expire_and_their_answers_are_purged(app: TestApp) {
    let village = app.region("柏墩村").await;
    let body = json!({"region_id": village, "name": "王芳", "sex": "female", "birth_date": "2015-05-01", "categories": ["left_behind"]});
    let key = [("idempotency-key", "device-expiring-0001")];
    let first = app.send("POST", "/api/v1/children", None, Some(body.clone()), &key).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let replay = app.send("POST", "/api/v1/children", None, Some(body.clone()), &key).await;
    assert_eq!(replay.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(app.count("idempotency_keys").await, 1);
    // Purged within a quarter of the window (at least a second) after it ends.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.count("idempotency_keys").await > 0 {
        assert!(std::time::Instant::now() < deadline, "the expired key was not purged");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let again = app.send("POST", "/api/v1/children", None, Some(body), &key).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert!(again.header("idempotent-replayed").is_none());
    assert_ne!(again.id(), first.id(), "after the window the key is a new request");
    assert_eq!(app.count("idempotency_keys").await, 1);
}
