//! Authentication: password and refresh grants, token forgeries, roles.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tongxing_core::role::Role;

use crate::helpers::{ADMIN_PASSWORD, TEST_SECRET, TestApp};
use crate::on_both_backends;

on_both_backends!(
    forged_and_expired_tokens_are_refused,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    passwords_and_roles
);

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({
        "iss": "tongxing", "aud": "tongxing-api", "sub": uuid::Uuid::now_v7().to_string(), "role": "admin",
        "iat": now, "nbf": now, "exp": now + 600, "jti": "t"
    });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

async fn forged_and_expired_tokens_are_refused(app: TestApp) {
    let path = "/api/v1/children";
    // The control: a token signed with the service's key works.
    let good = sign(&claims(json!({})), TEST_SECRET);
    assert_eq!(app.send("GET", path, Some(&good), None, &[]).await.status, 200);

    let now = chrono::Utc::now().timestamp();
    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(json!({}))).unwrap());
    let mut tampered_parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    tampered_parts[1] = URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&claims(json!({"role": "admin", "sub": "someone-else"}))).unwrap());
    let cases = [
        ("no token", String::new()),
        ("garbage", "not.a.jwt".to_owned()),
        ("alg none", format!("{header_none}.{payload}.")),
        ("other key", sign(&claims(json!({})), "another-signing-key-of-sufficient-length-000")),
        ("tampered payload", tampered_parts.join(".")),
        (
            "expired",
            sign(&claims(json!({"exp": now - 120, "iat": now - 1000, "nbf": now - 1000})), TEST_SECRET),
        ),
        ("not yet valid", sign(&claims(json!({"nbf": now + 600})), TEST_SECRET)),
        ("wrong issuer", sign(&claims(json!({"iss": "someone"})), TEST_SECRET)),
        ("wrong audience", sign(&claims(json!({"aud": "other-api"})), TEST_SECRET)),
        ("no expiry", sign(&claims(json!({"exp": null})), TEST_SECRET)),
        ("unknown role", sign(&claims(json!({"role": "root"})), TEST_SECRET)),
    ];
    for (what, token) in cases {
        let r = app.send("GET", path, Some(&token), None, &[]).await;
        assert_eq!(r.status, 401, "{what}: {}", r.body);
        assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"), "{what}");
        assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"), "{what}");
    }
    let r = app.send("GET", path, Some(""), None, &[("authorization", "Basic YWRtaW46eA==")]).await;
    r.assert_problem(401, "invalid_token");
}

async fn refresh_tokens_rotate_and_reuse_revokes_the_family(app: TestApp) {
    let grant = |rt: &str| json!({"grant_type": "refresh_token", "refresh_token": rt});
    let r = app
        .post(
            "/api/v1/auth/token",
            json!({"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    let first = r.body["refresh_token"].as_str().unwrap().to_owned();

    let r = app.post("/api/v1/auth/token", grant(&first)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let second = r.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let access = r.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.send("GET", "/api/v1/children", Some(&access), None, &[]).await.status, 200);

    // The first token, presented again, is refused and takes its successor down with it.
    app.post("/api/v1/auth/token", grant(&first)).await.assert_problem(401, "invalid_grant");
    app.post("/api/v1/auth/token", grant(&second)).await.assert_problem(401, "invalid_grant");
    app.post("/api/v1/auth/token", grant("made-up")).await.assert_problem(401, "invalid_grant");
}

async fn passwords_and_roles(app: TestApp) {
    let wrong = json!({"grant_type": "password", "username": "admin", "password": "not-the-password"});
    app.post("/api/v1/auth/token", wrong).await.assert_problem(401, "invalid_credentials");
    let unknown = json!({"grant_type": "password", "username": "nobody", "password": "whatever-it-is"});
    app.post("/api/v1/auth/token", unknown).await.assert_problem(401, "invalid_credentials");
    app.post("/api/v1/auth/token", json!({"grant_type": "magic"})).await.assert_problem(400, "invalid_body");

    // An administrator creates accounts over the API; other roles may not.
    let r = app
        .post("/api/v1/users", json!({"username": "volunteer.chen", "display_name": "陈志愿", "role": "volunteer", "password": "volunteer-password"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("password").is_none() && r.body.get("password_hash").is_none());
    app.post("/api/v1/users", json!({"username": "volunteer.chen", "display_name": "x", "role": "volunteer", "password": "volunteer-password"}))
        .await
        .assert_problem(409, "username_taken");
    let volunteer = app.login("volunteer.chen", "volunteer-password").await;
    let r = app.send("GET", "/api/v1/children", Some(&volunteer), None, &[]).await;
    r.assert_problem(403, "forbidden");
    let r = app.send("GET", "/api/v1/users", Some(&volunteer), None, &[]).await;
    r.assert_problem(403, "forbidden");
    // Everyone signed in may read the region tree.
    assert_eq!(app.send("GET", "/api/v1/regions", Some(&volunteer), None, &[]).await.status, 200);

    app.add_user("caseworker.wang", Role::Caseworker, "caseworker-password").await;
    let caseworker = app.login("caseworker.wang", "caseworker-password").await;
    assert_eq!(app.send("GET", "/api/v1/children", Some(&caseworker), None, &[]).await.status, 200);
    let r = app.send("GET", "/api/v1/users", Some(&caseworker), None, &[]).await;
    r.assert_problem(403, "forbidden");
    let r = app.get("/api/v1/users").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
}
