//! The standard OAuth 2.0 endpoints: the token endpoint for every grant with form or JSON
//! parameters, both client authentication methods and RFC 6749 errors; revocation (RFC 7009);
//! the metadata (RFC 8414).

use base64::Engine;
use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, Resp, TestApp};
use crate::on_both_backends;

on_both_backends!(
    people_sign_in_renew_and_sign_out,
    partner_clients_authenticate_either_way,
    requests_refused_as_oauth_says,
    deprecated_operations_say_so
);

const TOKEN: &str = "/api/v1/oauth/token";
const REVOKE: &str = "/api/v1/oauth/revoke";

async fn form(app: &TestApp, path: &str, body: &str, headers: &[(&str, &str)]) -> Resp {
    let body = Some(("application/x-www-form-urlencoded", body.as_bytes().to_vec()));
    app.send_raw("POST", path, Some(""), body, headers).await
}

fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(id), encode(secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
}

#[track_caller]
fn assert_oauth_error(r: &Resp, status: u16, error: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(r.body["error"], error, "{}", r.body);
    assert!(r.body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{}", r.body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    if status == 401 {
        assert!(r.header("www-authenticate").is_some_and(|c| c.starts_with("Basic ")), "no challenge");
    }
}

#[track_caller]
fn assert_tokens(r: &Resp) -> (String, Option<String>) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.header("pragma").as_deref(), Some("no-cache"));
    assert_eq!(r.body["token_type"], "Bearer");
    let refresh = r.body["refresh_token"].as_str().map(str::to_owned);
    (r.body["access_token"].as_str().unwrap().to_owned(), refresh)
}

async fn people_sign_in_renew_and_sign_out(app: TestApp) {
    // The password grant, form-encoded and as JSON.
    let (access, refresh) = assert_tokens(
        &form(&app, TOKEN, &format!("grant_type=password&username=admin&password={ADMIN_PASSWORD}"), &[])
            .await,
    );
    assert_eq!(app.send("GET", "/api/v1/me", Some(&access), None, &[]).await.status, 200);
    let refresh = refresh.unwrap();
    let json_grant = json!({"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD});
    let (_, other_device) = assert_tokens(&app.send("POST", TOKEN, Some(""), Some(json_grant), &[]).await);
    let wrong = form(&app, TOKEN, "grant_type=password&username=admin&password=not-it", &[]).await;
    assert_oauth_error(&wrong, 400, "invalid_grant");

    // Renewal spends the refresh token; presenting it again revokes its family.
    let (_, renewed) = assert_tokens(
        &form(&app, TOKEN, &format!("grant_type=refresh_token&refresh_token={refresh}"), &[]).await,
    );
    let renewed = renewed.unwrap();
    assert_ne!(renewed, refresh);
    let again = form(&app, TOKEN, &format!("grant_type=refresh_token&refresh_token={refresh}"), &[]).await;
    assert_oauth_error(&again, 400, "invalid_grant");

    // Sign-out: the device's refresh token is revoked, with its family; another device's stays.
    let other_device = other_device.unwrap();
    let (_, current) = assert_tokens(
        &form(&app, TOKEN, &format!("grant_type=refresh_token&refresh_token={other_device}"), &[]).await,
    );
    let current = current.unwrap();
    let r = form(&app, REVOKE, &format!("token={current}&token_type_hint=refresh_token"), &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.raw.is_empty());
    let after = form(&app, TOKEN, &format!("grant_type=refresh_token&refresh_token={current}"), &[]).await;
    assert_oauth_error(&after, 400, "invalid_grant");
    // A token the service does not know is no error (RFC 7009 2.2); an access token is not revoked here.
    assert_eq!(form(&app, REVOKE, "token=made-up", &[]).await.status, 200);
    let r = app.send("POST", REVOKE, Some(""), Some(json!({"token": access})), &[]).await;
    assert_oauth_error(&r, 400, "unsupported_token_type");
    // The sign-out is in the audit log, as the account's own act.
    let admin = app.get("/api/v1/me").await.id();
    let log = app.get(&format!("/api/v1/audit-events?actor_id={admin}&limit=200")).await;
    assert_eq!(log.status, 200, "{}", log.body);
    let revoked = log.body["items"].as_array().unwrap().iter().filter(|e| e["resource"] == REVOKE).count();
    assert_eq!(revoked, 1, "{}", log.body);

    // The metadata names the endpoints and what they take.
    let meta = app.send("GET", "/.well-known/oauth-authorization-server", Some(""), None, &[]).await;
    assert_eq!(meta.status, 200);
    let url = |k: &str| meta.body[k].as_str().unwrap().to_owned();
    assert_eq!(url("token_endpoint"), format!("{}{TOKEN}", app.base));
    assert_eq!(url("revocation_endpoint"), format!("{}{REVOKE}", app.base));
    assert_eq!(url("issuer"), app.base);
    assert_eq!(
        meta.body["grant_types_supported"],
        json!(["password", "refresh_token", "client_credentials"])
    );
    assert_eq!(
        meta.body["token_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "none"])
    );
}

async fn partner_client(app: &TestApp) -> (String, String) {
    let org = app
        .post("/api/v1/organisations", json!({"name": "希望之家", "kind": "social_organisation"}))
        .await
        .id();
    let client =
        app.post("/api/v1/api-clients", json!({"organisation_id": org, "name": "希望之家系统", "scopes": ["cases:read", "contacts:read"]})).await;
    assert_eq!(client.status, 201, "{}", client.body);
    (
        client.body["client"]["id"].as_str().unwrap().to_owned(),
        client.body["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn partner_clients_authenticate_either_way(app: TestApp) {
    let (id, secret) = partner_client(&app).await;
    // client_secret_basic, every scope the client holds.
    let auth = basic(&id, &secret);
    let r = form(&app, TOKEN, "grant_type=client_credentials", &[("authorization", &auth)]).await;
    let (access, refresh) = assert_tokens(&r);
    assert_eq!(refresh, None);
    assert_eq!(r.body["scope"], "cases:read contacts:read");
    assert_eq!(app.send("GET", "/api/v1/children", Some(&access), None, &[]).await.status, 200);
    // client_secret_post, narrowed to one scope.
    let body =
        format!("grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=cases%3Aread");
    let r = form(&app, TOKEN, &body, &[]).await;
    assert_tokens(&r);
    assert_eq!(r.body["scope"], "cases:read");
    // And as JSON.
    let r = app
        .send(
            "POST",
            TOKEN,
            Some(""),
            Some(json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret})),
            &[],
        )
        .await;
    assert_tokens(&r);

    // Refusals, each as its RFC 6749 error.
    let r =
        form(&app, TOKEN, "grant_type=client_credentials&scope=reports%3Aread", &[("authorization", &auth)])
            .await;
    assert_oauth_error(&r, 400, "invalid_scope");
    let wrong = basic(&id, "not-the-secret");
    let r = form(&app, TOKEN, "grant_type=client_credentials", &[("authorization", &wrong)]).await;
    assert_oauth_error(&r, 401, "invalid_client");
    assert_oauth_error(&form(&app, TOKEN, "grant_type=client_credentials", &[]).await, 401, "invalid_client");
    let both = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let r = form(&app, TOKEN, &both, &[("authorization", &auth)]).await;
    assert_oauth_error(&r, 400, "invalid_request");
    // A person's grant is not a client's, even with the right credentials.
    let r = form(
        &app,
        TOKEN,
        &format!("grant_type=password&username=admin&password={ADMIN_PASSWORD}"),
        &[("authorization", &auth)],
    )
    .await;
    assert_oauth_error(&r, 400, "unauthorized_client");
    // A revoked client is an invalid one.
    let r = app.send("POST", &format!("/api/v1/api-clients/{id}/revoke"), None, None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = form(&app, TOKEN, "grant_type=client_credentials", &[("authorization", &auth)]).await;
    assert_oauth_error(&r, 401, "invalid_client");
    // Revocation checks the credentials a client sends.
    let r = form(&app, REVOKE, "token=made-up", &[("authorization", &wrong)]).await;
    assert_oauth_error(&r, 401, "invalid_client");
}

async fn requests_refused_as_oauth_says(app: TestApp) {
    let cases: &[(&str, &str, &str)] = &[
        ("application/x-www-form-urlencoded", "grant_type=magic", "unsupported_grant_type"),
        ("application/x-www-form-urlencoded", "username=admin", "invalid_request"),
        ("application/x-www-form-urlencoded", "grant_type=password&username=admin", "invalid_request"),
        (
            "application/x-www-form-urlencoded",
            "grant_type=password&grant_type=password&username=admin&password=x",
            "invalid_request",
        ),
        ("application/x-www-form-urlencoded", "grant_type=refresh_token", "invalid_request"),
        (
            "application/x-www-form-urlencoded",
            "grant_type=password&username=admin&password=a%00b",
            "invalid_request",
        ),
        (
            "application/json",
            r#"{"grant_type": "password", "username": 7, "password": "x"}"#,
            "invalid_request",
        ),
        ("application/json", "[]", "invalid_request"),
        ("text/plain", "grant_type=password", "invalid_request"),
    ];
    for (content_type, body, error) in cases {
        let r =
            app.send_raw("POST", TOKEN, Some(""), Some((content_type, body.as_bytes().to_vec())), &[]).await;
        assert_oauth_error(&r, 400, error);
    }
    // Every parameter the contract bounds is refused one character past its bound, before any
    // credentials are checked.
    let spec = app.send("GET", "/api/v1/openapi.json", Some(""), None, &[]).await.body;
    let mut bounded = 0;
    for (path, schema, base) in
        [(TOKEN, "OAuthTokenRequest", "grant_type=password"), (REVOKE, "OAuthRevocationRequest", "token=x")]
    {
        for (name, property) in spec["components"]["schemas"][schema]["properties"].as_object().unwrap() {
            let Some(max) = property["maxLength"].as_u64() else { continue };
            let long = "a".repeat(max as usize + 1);
            let r = form(&app, path, &format!("{base}&{name}={long}"), &[]).await;
            assert_oauth_error(&r, 400, "invalid_request");
            assert!(
                r.body["error_description"].as_str().unwrap().contains(name.as_str()),
                "{name}: {}",
                r.body
            );
            bounded += 1;
        }
    }
    assert!(bounded >= 10, "{bounded} bounded parameters");
    // Parameters no grant uses are ignored (RFC 6749 3.2), whatever they hold; empty ones are absent.
    let body = format!("grant_type=password&username=admin&password={ADMIN_PASSWORD}&device=%01&scope=");
    assert_tokens(&form(&app, TOKEN, &body, &[]).await);
    let r = app
        .send_raw("POST", REVOKE, Some(""), Some(("application/json", br#"{"hint": 3}"#.to_vec())), &[])
        .await;
    assert_oauth_error(&r, 400, "invalid_request");
}

/// Every operation the contract marks deprecated answers with `Deprecation`, `Sunset` and a
/// `Link` to its successor, even when it refuses; the others carry none of them.
async fn deprecated_operations_say_so(app: TestApp) {
    let spec = app.send("GET", "/api/v1/openapi.json", Some(""), None, &[]).await.body;
    let mut deprecated = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["deprecated"] != true {
                continue;
            }
            let example = op.pointer("/requestBody/content/application~1json/example").cloned();
            let r = app.send(&method.to_uppercase(), path, Some(""), example, &[]).await;
            let deprecation =
                r.header("deprecation").unwrap_or_else(|| panic!("{method} {path}: no Deprecation"));
            assert!(deprecation.strip_prefix('@').is_some_and(|t| t.parse::<i64>().is_ok()), "{deprecation}");
            let sunset = r.header("sunset").unwrap_or_else(|| panic!("{method} {path}: no Sunset"));
            let sunset = chrono::DateTime::parse_from_rfc2822(&sunset).unwrap();
            let on = chrono::DateTime::from_timestamp(deprecation[1..].parse().unwrap(), 0).unwrap();
            assert!(
                sunset.to_utc() - on >= chrono::Duration::days(365),
                "{method} {path}: a sunset within a year"
            );
            let link = r.header("link").unwrap();
            let successor = link.trim_start_matches('<').split('>').next().unwrap();
            assert!(spec["paths"].get(successor).is_some(), "{link}: no such path");
            assert!(link.ends_with("rel=\"successor-version\""), "{link}");
            deprecated += 1;
        }
    }
    assert_eq!(deprecated, tongxing_api::deprecation::DEPRECATED.len(), "every deprecated operation");
    let r = app.send("POST", TOKEN, Some(""), Some(json!({"grant_type": "password"})), &[]).await;
    assert!(r.header("deprecation").is_none() && r.header("sunset").is_none());
    assert!(app.get("/api/v1/me").await.header("deprecation").is_none());
}
