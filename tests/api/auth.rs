//! Authentication: password and refresh grants, token forgeries, roles.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tongxing_core::role::Role;

use crate::helpers::{ADMIN_PASSWORD, TEST_SIGNING_KEY, TestApp, sign_test_token, sign_with, web_block};
use crate::on_both_backends;

on_both_backends!(
    forged_and_expired_tokens_are_refused,
    refresh_tokens_rotate_and_reuse_revokes_the_family,
    passwords_and_roles,
    an_older_password_hash_is_replaced_at_login
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

fn sign_hs256(claims: &Value, secret: &[u8], kid: Option<&str>) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret).unwrap()).unwrap()
}

async fn forged_and_expired_tokens_are_refused(app: TestApp) {
    let path = "/api/v1/children";
    // The control: a token signed with the service's key, for a user who exists, works.
    let admin = app.get("/api/v1/me").await.id();
    let claims = |overrides: Value| {
        let mut c = claims(json!({"sub": admin}));
        for (k, v) in overrides.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let good = sign_test_token(&claims(json!({})));
    assert_eq!(app.send("GET", path, Some(&good), None, &[]).await.status, 200);

    let service_key = tongxing_api::auth::keys::parse_configured(TEST_SIGNING_KEY).unwrap();
    let public = URL_SAFE_NO_PAD.decode(&service_key.public_key).unwrap();
    let stranger = tongxing_api::auth::tokens::StoredKey::generate();
    let mut impostor = stranger.clone();
    impostor.kid = service_key.kid.clone();

    let now = chrono::Utc::now().timestamp();
    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(json!({}))).unwrap());
    let mut tampered_parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    tampered_parts[1] = URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&claims(json!({"role": "admin", "sub": "someone-else"}))).unwrap());
    let no_kid = {
        let der = base64::engine::general_purpose::STANDARD.decode(&service_key.private_key).unwrap();
        jsonwebtoken::encode(
            &Header::new(Algorithm::EdDSA),
            &claims(json!({})),
            &EncodingKey::from_ed_der(&der),
        )
        .unwrap()
    };
    let cases = [
        ("no token", String::new()),
        ("garbage", "not.a.jwt".to_owned()),
        ("alg none", format!("{header_none}.{payload}.")),
        // HS/RS confusion: the public key used as an HMAC secret, under the service's kid.
        ("HS256 with the public key", sign_hs256(&claims(json!({})), &public, Some(&service_key.kid))),
        (
            "HS256 with the published x",
            sign_hs256(&claims(json!({})), service_key.public_key.as_bytes(), Some(&service_key.kid)),
        ),
        ("unknown kid", sign_with(&stranger, &claims(json!({})))),
        ("other key, service's kid", sign_with(&impostor, &claims(json!({})))),
        ("no kid", no_kid),
        ("tampered payload", tampered_parts.join(".")),
        (
            "expired",
            sign_test_token(&claims(json!({"exp": now - 120, "iat": now - 1000, "nbf": now - 1000}))),
        ),
        ("not yet valid", sign_test_token(&claims(json!({"nbf": now + 600})))),
        ("wrong issuer", sign_test_token(&claims(json!({"iss": "someone"})))),
        ("wrong audience", sign_test_token(&claims(json!({"aud": "other-api"})))),
        ("no expiry", sign_test_token(&claims(json!({"exp": null})))),
        ("unknown role", sign_test_token(&claims(json!({"role": "root"})))),
        (
            "partner without organisation",
            sign_test_token(&claims(json!({"role": "partner", "scope": "cases:read"}))),
        ),
        // Well signed, but not a current token of any user: no such user, an old epoch.
        ("unknown user", sign_test_token(&claims(json!({"sub": uuid::Uuid::now_v7().to_string()})))),
        ("an earlier epoch", sign_test_token(&claims(json!({"epoch": -1})))),
    ];
    for (what, token) in cases {
        let r = app.send("GET", path, Some(&token), None, &[]).await;
        assert_eq!(r.status, 401, "{what}: {}", r.body);
        assert_eq!(r.header("content-type").as_deref(), Some("application/problem+json"), "{what}");
        assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"), "{what}");
    }
    let r = app.send("GET", path, Some(""), None, &[("authorization", "Basic YWRtaW46eA==")]).await;
    r.assert_problem(401, "invalid_token");

    // The published key set holds the service's key and nothing private.
    let jwks = app.send("GET", "/.well-known/jwks.json", Some(""), None, &[]).await;
    assert_eq!(jwks.status, 200);
    let keys = jwks.body["keys"].as_array().unwrap();
    assert!(
        keys.iter()
            .any(|k| k["kid"] == service_key.kid.as_str() && k["alg"] == "EdDSA" && k["crv"] == "Ed25519")
    );
    assert!(keys.iter().all(|k| k.get("d").is_none()));
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

/// A hash made with other parameters (the crate's default, as before 46 MiB) still lets its user
/// in, and is replaced by one with today's parameters; a wrong password replaces nothing.
async fn an_older_password_hash_is_replaced_at_login(app: TestApp) {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    use diesel::prelude::*;
    use tongxing_api::auth::password;
    use tongxing_store::schema::users;

    let id = app.add_user("mentor.old", Role::Mentor, "an-older-password").await;
    let salt = SaltString::generate(&mut OsRng);
    let old = argon2::Argon2::default().hash_password(b"an-older-password", &salt).unwrap().to_string();
    let db = app.state.db.clone();
    let stored = move |set: Option<String>| {
        let (db, id) = (db.clone(), id.clone());
        web_block(move || {
            let mut conn = db.conn().map_err(|e| e.to_string())?;
            if let Some(hash) = set {
                diesel::update(users::table.find(&id))
                    .set(users::password_hash.eq(hash))
                    .execute(&mut *conn)
                    .map_err(|e| e.to_string())?;
            }
            users::table
                .find(&id)
                .select(users::password_hash)
                .first::<String>(&mut *conn)
                .map_err(|e| e.to_string())
        })
    };
    assert!(!password::is_current(&stored(Some(old.clone())).await.unwrap()));
    let wrong = json!({"grant_type": "password", "username": "mentor.old", "password": "not-the-password"});
    app.post("/api/v1/auth/token", wrong).await.assert_problem(401, "invalid_credentials");
    assert_eq!(stored(None).await.unwrap(), old);
    app.login("mentor.old", "an-older-password").await;
    let now = stored(None).await.unwrap();
    assert!(password::is_current(&now), "{now}");
    assert!(password::verify("an-older-password", &now));
    app.login("mentor.old", "an-older-password").await;
}
