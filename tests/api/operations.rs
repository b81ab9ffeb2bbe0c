//! Operations endpoints, request ids, the docs page, and the committed contract.

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(health_readiness_metrics_and_request_ids);

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
    assert!(
        String::from_utf8_lossy(&docs.raw).contains("swagger"),
        "the docs page is served from the binary"
    );
}
