//! Accounts: the login throttle under concurrency, unknown usernames answered as known ones,
//! progressive delays that cannot keep an account's owner out, and the users' lifecycle
//! (roles, regions, deactivation, passwords) ending tokens at once, on every instance.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use tongxing_api::auth::throttle::{FIRST_DELAY_SECONDS, FREE_FAILURES};
use tongxing_core::role::Role;

use crate::helpers::{ADMIN_PASSWORD, Resp, TestApp};
use crate::on_both_backends;

on_both_backends!(
    parallel_wrong_logins_from_one_address_are_checked_up_to_its_limit,
    parallel_guesses_at_one_account_are_checked_up_to_its_threshold,
    unknown_and_known_usernames_are_answered_alike,
    an_account_cannot_be_kept_locked,
    users_are_changed_and_their_tokens_end_at_once,
    passwords_are_changed_and_reset,
    tokens_end_on_every_instance
);

const PASSWORD: &str = "a-password-for-tests";

fn grant(username: &str, password: &str) -> Value {
    json!({"grant_type": "password", "username": username, "password": password})
}

async fn attempt(app: &TestApp, username: &str, password: &str) -> Resp {
    app.send("POST", "/api/v1/auth/token", Some(""), Some(grant(username, password)), &[]).await
}

/// A token request sent from another loopback address, as from another network: the service
/// sees `source` as the caller's address.
async fn attempt_from(
    app: &TestApp,
    source: &str,
    username: &str,
    password: &str,
) -> (u16, Option<u32>, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    let body = grant(username, password).to_string();
    let request = format!(
        "POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let retry_after = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("retry-after:").map(|v| v.trim().parse().unwrap()));
    (status, retry_after, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn retry_after(r: &Resp) -> u32 {
    r.header("retry-after").unwrap_or_else(|| panic!("no Retry-After: {}", r.body)).parse().unwrap()
}

/// The answers to `results`, counted by status: (401 checked and wrong, 429 not checked).
fn tally(results: &[Resp]) -> (usize, usize) {
    for r in results {
        match r.status.as_u16() {
            401 => r.assert_problem(401, "invalid_credentials"),
            429 => {
                r.assert_problem(429, "too_many_attempts");
                assert!(retry_after(r) >= 1);
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    let checked = results.iter().filter(|r| r.status == 401).count();
    (checked, results.len() - checked)
}

async fn parallel_wrong_logins_from_one_address_are_checked_up_to_its_limit(app: TestApp) {
    for i in 0..5 {
        app.add_user(&format!("known.{i}"), Role::Volunteer, PASSWORD).await;
    }
    // Forty wrong logins at once from one address, at forty usernames (five of them real): the
    // limit is twenty per address, and exactly twenty are checked.
    let names: Vec<String> =
        (0..40).map(|i| if i < 5 { format!("known.{i}") } else { format!("nobody.{i}") }).collect();
    let results = join_all(names.iter().map(|n| attempt(&app, n, "not-the-password"))).await;
    let (checked, refused) = tally(&results);
    assert_eq!((checked, refused), (20, 20), "checked and refused");

    // The address is spent: even the right password is not checked from it, until it refills.
    attempt(&app, "admin", ADMIN_PASSWORD).await.assert_problem(429, "too_many_attempts");
    // Another address is not held up.
    let (status, _, body) = attempt_from(&app, "127.0.0.2", "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    // Refused attempts are in the audit log as failed logins.
    let r = app.get("/api/v1/audit-events?action=login_failed&limit=200").await;
    let statuses: Vec<i64> =
        r.body["items"].as_array().unwrap().iter().map(|e| e["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 20, "{statuses:?}");
    assert!(statuses.iter().filter(|s| **s == 429).count() >= 21, "{statuses:?}");
}

async fn parallel_guesses_at_one_account_are_checked_up_to_its_threshold(app: TestApp) {
    app.add_user("guessed", Role::Caseworker, PASSWORD).await;
    let guesses: Vec<String> = (0..20).map(|i| format!("guess-number-{i}")).collect();
    let results = join_all(guesses.iter().map(|g| attempt(&app, "guessed", g))).await;
    let (checked, refused) = tally(&results);
    assert!(
        (1..=FREE_FAILURES as usize).contains(&checked),
        "{checked} of 20 concurrent guesses were checked; at most {FREE_FAILURES} may be"
    );
    assert_eq!(checked + refused, 20);
    // The same for a username that does not exist.
    let results = join_all(guesses.iter().map(|g| attempt(&app, "not.a.user", g))).await;
    let (checked, _) = tally(&results);
    assert!((1..=FREE_FAILURES as usize).contains(&checked), "{checked} checked for an unknown name");
}

/// Everything of an answer but what differs per request.
fn shape(r: &Resp) -> (u16, Value, Vec<(String, String)>) {
    let mut headers: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| !["x-request-id", "date"].contains(&k.as_str()))
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    headers.sort();
    (r.status.as_u16(), r.body.clone(), headers)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn unknown_and_known_usernames_are_answered_alike(app: TestApp) {
    app.add_user("known.user", Role::Mentor, PASSWORD).await;
    let inactive = app.add_user("inactive.user", Role::Mentor, PASSWORD).await;
    let etag = app.get(&format!("/api/v1/users/{inactive}")).await.header("etag").unwrap();
    let r = app
        .send(
            "PUT",
            &format!("/api/v1/users/{inactive}"),
            None,
            Some(json!({"display_name": "inactive.user", "role": "mentor", "active": false})),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Up to the threshold and past it, attempt by attempt: the same status, body and headers
    // for a known username with a wrong password, an unknown username, and a deactivated
    // account with its right password.
    let (mut known_times, mut unknown_times) = (Vec::new(), Vec::new());
    for i in 0..FREE_FAILURES + 2 {
        let started = Instant::now();
        let known = attempt(&app, "known.user", "not-the-password").await;
        known_times.push(started.elapsed());
        let started = Instant::now();
        let unknown = attempt(&app, "unknown.user", "not-the-password").await;
        unknown_times.push(started.elapsed());
        let deactivated = attempt(&app, "inactive.user", PASSWORD).await;
        assert_eq!(shape(&known), shape(&unknown), "attempt {i}");
        assert_eq!(shape(&known), shape(&deactivated), "attempt {i}");
        if i < FREE_FAILURES {
            known.assert_problem(401, "invalid_credentials");
        } else {
            known.assert_problem(429, "too_many_attempts");
        }
    }
    // And as fast: an unknown username is checked against a decoy hash.
    let checked = FREE_FAILURES as usize;
    let (known, unknown) =
        (median(known_times[..checked].to_vec()), median(unknown_times[..checked].to_vec()));
    let ratio = unknown.as_secs_f64() / known.as_secs_f64();
    assert!((0.5..2.0).contains(&ratio), "known {known:?}, unknown {unknown:?}");
}

async fn an_account_cannot_be_kept_locked(app: TestApp) {
    app.add_user("victim", Role::Caseworker, PASSWORD).await;
    // Someone guesses from this address: five wrong passwords are checked, then each attempt
    // must wait, the right password included.
    for _ in 0..FREE_FAILURES {
        attempt(&app, "victim", "a-wrong-guess").await.assert_problem(401, "invalid_credentials");
    }
    let r = attempt(&app, "victim", PASSWORD).await;
    r.assert_problem(429, "too_many_attempts");
    let wait = retry_after(&r);
    assert!((1..=FIRST_DELAY_SECONDS as u32).contains(&wait), "{wait}");
    // Attempts refused during the wait do not lengthen it.
    for _ in 0..10 {
        let r = attempt(&app, "victim", "a-wrong-guess").await;
        r.assert_problem(429, "too_many_attempts");
        assert!(retry_after(&r) <= wait);
    }
    // Once it is over, the right password signs in, and the count starts again.
    actix_web::rt::time::sleep(Duration::from_millis(u64::from(wait) * 1000 + 200)).await;
    let r = attempt(&app, "victim", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", r.body);
    attempt(&app, "victim", "a-typo-password").await.assert_problem(401, "invalid_credentials");

    // From another network, someone keeps guessing, each time the wait is over. The owner,
    // at the address they signed in from, is not held up at all.
    for _ in 0..FREE_FAILURES + 3 {
        let (status, _, body) = attempt_from(&app, "127.0.0.2", "victim", "a-wrong-guess").await;
        assert!([401, 429].contains(&status), "{status} {body}");
    }
    let (status, wait, _) = attempt_from(&app, "127.0.0.2", "victim", PASSWORD).await;
    assert_eq!((status, wait.is_some()), (429, true), "the guesser's address waits");
    let r = attempt(&app, "victim", PASSWORD).await;
    assert_eq!(r.status, 200, "the owner signs in: {}", r.body);
}

async fn put_user(app: &TestApp, id: &str, body: Value) -> Resp {
    let etag = app.get(&format!("/api/v1/users/{id}")).await.header("etag").unwrap();
    app.send("PUT", &format!("/api/v1/users/{id}"), None, Some(body), &[("if-match", &etag)]).await
}

/// A user's tokens: (access, refresh).
async fn sign_in(app: &TestApp, username: &str, password: &str) -> (String, String) {
    let r = attempt(app, username, password).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (
        r.body["access_token"].as_str().unwrap().to_owned(),
        r.body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(app: &TestApp, token: &str) -> Resp {
    let body = json!({"grant_type": "refresh_token", "refresh_token": token});
    app.send("POST", "/api/v1/auth/token", Some(""), Some(body), &[]).await
}

/// Both tokens fail at once: the access token on any endpoint, the refresh token at the grant.
async fn assert_ended(app: &TestApp, (access, refresh_token): &(String, String), what: &str) {
    let r = app.send("GET", "/api/v1/me", Some(access), None, &[]).await;
    assert_eq!((r.status.as_u16(), &r.body["code"]), (401, &json!("invalid_token")), "{what}: {}", r.body);
    let r = app.send("GET", "/api/v1/regions", Some(access), None, &[]).await;
    assert_eq!(r.status, 401, "{what}");
    refresh(app, refresh_token).await.assert_problem(401, "invalid_grant");
}

async fn users_are_changed_and_their_tokens_end_at_once(app: TestApp) {
    let org = app
        .post("/api/v1/organisations", json!({"name": "咸安区社工站", "kind": "social_organisation"}))
        .await
        .id();
    let town = app.region("温泉街道").await;
    let r = app
        .post(
            "/api/v1/users",
            json!({"username": "worker.li", "display_name": "李社工", "role": "caseworker", "organisation_id": org, "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.id();
    assert_eq!(r.body["version"], 1);
    let r = app.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!((r.status.as_u16(), r.header("etag").as_deref()), (200, Some("\"1\"")));
    assert_eq!(r.body["organisation_id"], org.as_str());

    let tokens = sign_in(&app, "worker.li", PASSWORD).await;
    let me = app.send("GET", "/api/v1/me", Some(&tokens.0), None, &[]).await;
    assert_eq!((me.status.as_u16(), &me.body["id"]), (200, &json!(id)));
    assert!(me.body.get("password_hash").is_none());

    // A new display name ends nothing.
    let r = put_user(
        &app,
        &id,
        json!({"display_name": "李社工(新)", "role": "caseworker", "organisation_id": org, "active": true}),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.header("etag").as_deref()), (200, Some("\"2\"")), "{}", r.body);
    assert_eq!(app.send("GET", "/api/v1/me", Some(&tokens.0), None, &[]).await.status, 200);

    // A new role ends the access token and the refresh token at once.
    let r = put_user(
        &app,
        &id,
        json!({"display_name": "李社工", "role": "coordinator", "region_id": town, "active": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (&r.body["role"], &r.body["region_id"], &r.body["organisation_id"]),
        (&json!("coordinator"), &json!(town), &Value::Null)
    );
    assert_ended(&app, &tokens, "role change").await;
    let tokens = sign_in(&app, "worker.li", PASSWORD).await;
    assert_eq!(app.send("GET", "/api/v1/compliance/alerts", Some(&tokens.0), None, &[]).await.status, 200);

    // So does a new region.
    let village = app.region("柏墩村").await;
    let r = put_user(
        &app,
        &id,
        json!({"display_name": "李社工", "role": "coordinator", "region_id": village, "active": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ended(&app, &tokens, "region change").await;

    // Deactivation: the tokens end, and the right password is answered as a wrong one.
    let tokens = sign_in(&app, "worker.li", PASSWORD).await;
    let r = put_user(
        &app,
        &id,
        json!({"display_name": "李社工", "role": "coordinator", "region_id": village, "active": false}),
    )
    .await;
    assert_eq!((r.status.as_u16(), &r.body["active"]), (200, &json!(false)), "{}", r.body);
    assert_ended(&app, &tokens, "deactivation").await;
    attempt(&app, "worker.li", PASSWORD).await.assert_problem(401, "invalid_credentials");
    // Reactivated, the user signs in again.
    let r = put_user(
        &app,
        &id,
        json!({"display_name": "李社工", "role": "coordinator", "region_id": village, "active": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    sign_in(&app, "worker.li", PASSWORD).await;

    // Versions, references and roles are checked.
    let body = json!({"display_name": "李社工", "role": "coordinator", "active": true});
    let path = format!("/api/v1/users/{id}");
    app.send("PUT", &path, None, Some(body.clone()), &[]).await.assert_problem(428, "if_match_required");
    app.send("PUT", &path, None, Some(body.clone()), &[("if-match", "\"1\"")])
        .await
        .assert_problem(412, "stale_version");
    put_user(&app, &id, json!({"display_name": "x", "role": "partner", "active": true}))
        .await
        .assert_problem(422, "validation_failed");
    let r = put_user(&app, &id, json!({"display_name": "x", "role": "caseworker", "organisation_id": uuid::Uuid::now_v7(), "active": true})).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "organisation_id");
    let missing = uuid::Uuid::now_v7();
    app.get(&format!("/api/v1/users/{missing}")).await.assert_problem(404, "not_found");

    // The service keeps an active administrator.
    let admin = app.send("GET", "/api/v1/me", None, None, &[]).await.id();
    for body in [
        json!({"display_name": "admin", "role": "coordinator", "active": true}),
        json!({"display_name": "admin", "role": "admin", "active": false}),
    ] {
        put_user(&app, &admin, body).await.assert_problem(409, "last_admin");
    }

    // The audit log has each change, and no password.
    let r = app.get("/api/v1/audit-events?action=update&limit=200").await;
    let changes: Vec<&Value> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"] == "/api/v1/users/{id}" && e["resource_id"] == id.as_str())
        .map(|e| &e["changes"])
        .collect();
    assert!(
        changes.iter().any(|c| c["role"] == json!({"old": "caseworker", "new": "coordinator"})),
        "{changes:?}"
    );
    assert!(changes.iter().any(|c| c["active"] == json!({"old": true, "new": false})), "{changes:?}");
    assert!(!r.body.to_string().contains(PASSWORD));
}

async fn passwords_are_changed_and_reset(app: TestApp) {
    let id = app.add_user("mentor.wu", Role::Mentor, PASSWORD).await;
    let (first, second) =
        (sign_in(&app, "mentor.wu", PASSWORD).await, sign_in(&app, "mentor.wu", PASSWORD).await);
    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    // A wrong current password changes nothing.
    let r = app
        .send(
            "POST",
            "/api/v1/me/password",
            Some(&first.0),
            Some(change("not-the-password", "a-new-password-1")),
            &[],
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "current_password");
    let r =
        app.send("POST", "/api/v1/me/password", Some(&first.0), Some(change(PASSWORD, "short")), &[]).await;
    r.assert_problem(400, "validation_failed");

    // The right one: every token of the user ends, on every device; this one gets new tokens.
    let r = app
        .send("POST", "/api/v1/me/password", Some(&first.0), Some(change(PASSWORD, "a-new-password-1")), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let fresh = (
        r.body["access_token"].as_str().unwrap().to_owned(),
        r.body["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert_ended(&app, &first, "own change, this device").await;
    assert_ended(&app, &second, "own change, another device").await;
    let me = app.send("GET", "/api/v1/me", Some(&fresh.0), None, &[]).await;
    assert_eq!((me.status.as_u16(), &me.body["id"]), (200, &json!(id)));
    assert_eq!(refresh(&app, &fresh.1).await.status, 200);
    attempt(&app, "mentor.wu", PASSWORD).await.assert_problem(401, "invalid_credentials");
    sign_in(&app, "mentor.wu", "a-new-password-1").await;

    // An administrator resets it: the user's tokens end, the new password works.
    let held = sign_in(&app, "mentor.wu", "a-new-password-1").await;
    let path = format!("/api/v1/users/{id}/password");
    app.post(&path, json!({"password": "short"})).await.assert_problem(400, "validation_failed");
    let r = app
        .send("POST", &path, None, Some(json!({"password": "a-reset-password"})), &[("if-match", "\"1\"")])
        .await;
    r.assert_problem(412, "stale_version");
    let r = app.post(&path, json!({"password": "a-reset-password"})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("etag").is_some() && r.body.get("password").is_none());
    assert_ended(&app, &held, "reset").await;
    attempt(&app, "mentor.wu", "a-new-password-1").await.assert_problem(401, "invalid_credentials");
    let tokens = sign_in(&app, "mentor.wu", "a-reset-password").await;
    let missing = uuid::Uuid::now_v7();
    app.post(&format!("/api/v1/users/{missing}/password"), json!({"password": "a-reset-password"}))
        .await
        .assert_problem(404, "not_found");

    // Guessing one's current password is throttled like a login.
    for _ in 0..FREE_FAILURES {
        let r = app
            .send(
                "POST",
                "/api/v1/me/password",
                Some(&tokens.0),
                Some(change("a-wrong-guess", "a-new-password-2")),
                &[],
            )
            .await;
        r.assert_problem(422, "validation_failed");
    }
    let r = app
        .send(
            "POST",
            "/api/v1/me/password",
            Some(&tokens.0),
            Some(change("a-reset-password", "a-new-password-2")),
            &[],
        )
        .await;
    r.assert_problem(429, "too_many_attempts");

    // The log has the failed checks as failed logins, and says the password changed, never what
    // it is.
    let r = app.get("/api/v1/audit-events?action=login_failed&limit=200").await;
    let failed: Vec<(i64, &str)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resource"] == "/api/v1/me/password" && e["actor_id"] == id.as_str())
        .map(|e| (e["status"].as_i64().unwrap(), e["actor_role"].as_str().unwrap()))
        .collect();
    assert_eq!(failed.iter().filter(|(s, _)| *s == 422).count(), 1 + FREE_FAILURES as usize, "{failed:?}");
    assert!(failed.contains(&(429, "mentor")), "{failed:?}");
    let r = app.get("/api/v1/audit-events?action=update&limit=200").await;
    let text = r.body.to_string();
    assert!(text.contains("/api/v1/users/{id}/password") && text.contains("/api/v1/me/password"), "{text}");
    for secret in [PASSWORD, "a-new-password-1", "a-reset-password"] {
        assert!(!text.contains(secret), "{secret} in the audit log");
    }
}

async fn tokens_end_on_every_instance(a: TestApp) {
    let b = a.another_instance().await;
    let id = a.add_user("volunteer.he", Role::Volunteer, PASSWORD).await;
    let tokens = sign_in(&a, "volunteer.he", PASSWORD).await;
    // The token works on both instances, which have each verified and remembered it.
    for app in [&a, &b] {
        assert_eq!(app.send("GET", "/api/v1/me", Some(&tokens.0), None, &[]).await.status, 200);
    }
    // Deactivated through one instance, it fails on the other at once.
    let r = put_user(&a, &id, json!({"display_name": "何", "role": "volunteer", "active": false})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ended(&b, &tokens, "deactivated on the other instance").await;
    assert_ended(&a, &tokens, "deactivated on this instance").await;

    // A role changed through the second instance ends a token on the first.
    let r = put_user(&b, &id, json!({"display_name": "何", "role": "volunteer", "active": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let tokens = sign_in(&b, "volunteer.he", PASSWORD).await;
    assert_eq!(a.send("GET", "/api/v1/me", Some(&tokens.0), None, &[]).await.status, 200);
    let r = put_user(&b, &id, json!({"display_name": "何", "role": "mentor", "active": true})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ended(&a, &tokens, "role changed on the other instance").await;

    // A password changed on one instance ends the tokens on the other.
    let tokens = sign_in(&a, "volunteer.he", PASSWORD).await;
    let other = sign_in(&b, "volunteer.he", PASSWORD).await;
    let body = json!({"current_password": PASSWORD, "new_password": "another-password"});
    let r = b.send("POST", "/api/v1/me/password", Some(&other.0), Some(body), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ended(&a, &tokens, "password changed on the other instance").await;

    // The throttle is shared: failures through one instance count on the other.
    for i in 0..FREE_FAILURES {
        let app = if i % 2 == 0 { &a } else { &b };
        attempt(app, "volunteer.he", "a-wrong-guess").await.assert_problem(401, "invalid_credentials");
    }
    attempt(&a, "volunteer.he", "a-wrong-guess").await.assert_problem(429, "too_many_attempts");
    attempt(&b, "volunteer.he", "a-wrong-guess").await.assert_problem(429, "too_many_attempts");
}
