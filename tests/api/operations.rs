//! Operations endpoints, request ids, the docs page, and the committed contract.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(health_readiness_metrics_and_request_ids, conditional_reads_and_head);

async fn health_readiness_metrics_and_request_ids(app: TestApp) {
    let r = app.send("GET", "/healthz", Some(""), None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(app.send("GET", "/readyz", Some(""), None, &[]).await.status, 200);

    let r = app.get("/api/v1/children").await;
    let id = r.header("x-request-id").expect("a request id");
    assert_eq!(id.len(), 36);
    let r = app.send("GET", "/api/v1/children", None, None, &[("x-request-id", "client-chosen-42")]).await;
    assert_eq!(r.header("x-request-id").as_deref(), Some("client-chosen-42"));
    let r = app.send("GET", "/api/v1/children", None, None, &[("x-request-id", "bad id with spaces")]).await;
    assert_ne!(r.header("x-request-id").as_deref(), Some("bad id with spaces"));

    let r = app.send("GET", "/metrics", Some(""), None, &[]).await;
    let text = String::from_utf8(r.raw).unwrap();
    assert!(
        text.contains(
            r#"tongxing_http_requests_total{method="GET",route="/api/v1/children",status="200"} 3"#
        ),
        "{text}"
    );
    assert!(text.contains("tongxing_http_request_duration_seconds_bucket"));
}

#[actix_web::test]
async fn the_served_spec_is_the_committed_one() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let served = app.send("GET", "/api/v1/openapi.json", Some(""), None, &[]).await;
    assert_eq!(served.status, 200);
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/openapi.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(committed_path).expect("openapi/openapi.json exists"))
            .expect("valid JSON");
    assert!(
        served.body == committed,
        "openapi/openapi.json differs from the served spec; refresh it with:\n  cargo run -q -p tongxing -- openapi > openapi/openapi.json"
    );
    assert_eq!(served.body["openapi"], "3.1.0");
    // Every reference resolves (a schema used only in a query parameter is easy to leave out).
    let text = served.body.to_string();
    for part in text.split("\"$ref\":\"#/components/").skip(1) {
        let target = part.split('"').next().unwrap();
        let (kind, name) = target.split_once('/').unwrap();
        assert!(served.body["components"][kind].get(name).is_some(), "unresolved reference {target}");
    }

    let docs = app.send("GET", "/docs/", Some(""), None, &[]).await;
    assert_eq!(docs.status, 200);
    let page = String::from_utf8_lossy(&docs.raw);
    assert!(page.contains("swagger-ui-bundle.js"), "the docs page is served from the binary");
    assert!(page.contains("<title>Tongxing API</title>"), "the page bears the service's name: {page}");
    let same = app.send("GET", "/docs/index.html", Some(""), None, &[]).await;
    assert_eq!(same.raw, docs.raw);
    // It asks nothing of a third party: no validator badge.
    let init = app.send("GET", "/docs/swagger-initializer.js", Some(""), None, &[]).await;
    assert_eq!(init.status, 200);
    let init = String::from_utf8_lossy(&init.raw).replace(' ', "");
    assert!(init.contains(r#""validatorUrl":"none""#), "{init}");
    // `/docs` without the slash leads there.
    let client = awc::Client::builder().disable_redirects().finish();
    let r = client.get(format!("{}/docs", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers().get("location").and_then(|v| v.to_str().ok()), Some("/docs/"));
}

/// `If-None-Match` answers 304 when the client's copy is current (weak comparison), `If-Match`
/// compares strongly, and `HEAD` answers every GET route of the contract as its GET would, with
/// no body.
async fn conditional_reads_and_head(app: TestApp) {
    let village = app.region("柏墩村").await;
    let child = app.post("/api/v1/children", serde_json::json!({"region_id": village, "name": "周", "sex": "male", "birth_date": "2015-01-01", "categories": ["left_behind"]})).await;
    let path = format!("/api/v1/children/{}", child.id());
    let etag = child.header("etag").unwrap();
    for tags in [etag.clone(), format!("W/{etag}"), format!("\"7\", {etag}"), "*".to_owned()] {
        let r = app.send("GET", &path, None, None, &[("if-none-match", &tags)]).await;
        assert_eq!(r.status, 304, "If-None-Match: {tags}");
        assert!(r.raw.is_empty());
        assert_eq!(r.header("etag"), Some(etag.clone()));
    }
    for bad in ["7", "\"7", "*, \"7\""] {
        app.send("GET", &path, None, None, &[("if-none-match", bad)])
            .await
            .assert_problem(400, "invalid_if_none_match");
    }
    // Credentials come first: without them, 401 whatever the header holds.
    app.send("GET", &path, Some(""), None, &[("if-none-match", "7")])
        .await
        .assert_problem(401, "missing_token");
    // An opaque tag may hold a comma.
    let r = app.send("GET", &path, None, None, &[("if-none-match", "\"7,8\" , W/\"9\"")]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "周");
    // If-Match compares strongly: a weak tag of the current version matches nothing.
    let update = serde_json::json!({"region_id": village, "name": "周二", "sex": "male", "birth_date": "2015-01-01", "categories": ["left_behind"]});
    let weak = format!("W/{etag}");
    let r = app.send("PUT", &path, None, Some(update.clone()), &[("if-match", &weak)]).await;
    r.assert_problem(412, "invalid_if_match");
    let r = app.send("PUT", &path, None, Some(update), &[("if-match", &etag)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The old copy is stale now: the read answers in full.
    let r = app.send("GET", &path, None, None, &[("if-none-match", &etag)]).await;
    assert_eq!((r.status.as_u16(), r.body["name"].as_str()), (200, Some("周二")));

    // HEAD on every GET route: the GET's status and headers, no body.
    let r = app.send("HEAD", &path, None, None, &[]).await;
    assert_eq!(r.status, 200);
    assert!(r.raw.is_empty());
    assert_eq!(r.header("etag"), app.get(&path).await.header("etag"));
    let spec = app.send("GET", "/api/v1/openapi.json", Some(""), None, &[]).await.body;
    let some_id = child.id();
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        if item.get("get").is_none() {
            continue;
        }
        let concrete = template
            .split('/')
            .map(|s| if s.starts_with('{') { some_id.as_str() } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let get = app.send("GET", &concrete, None, None, &[]).await;
        let head = app.send("HEAD", &concrete, None, None, &[]).await;
        assert_eq!(head.status, get.status, "HEAD {concrete}");
        assert!(head.raw.is_empty(), "HEAD {concrete} sent a body");
        assert_eq!(head.header("content-type"), get.header("content-type"), "HEAD {concrete}");
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} GET routes");
    for ops in ["/healthz", "/readyz"] {
        let r = app.send("HEAD", ops, Some(""), None, &[]).await;
        assert_eq!(r.status, 200, "HEAD {ops}");
    }
}
