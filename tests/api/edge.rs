//! The edge of the service: refusals answered like any other request, metric series that
//! clients cannot multiply, and bodies that stop arriving.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::json;
use tongxing_core::role::Role;

use crate::helpers::{CORS_ORIGIN, Resp, Setup, TestApp, web_block};
use crate::on_both_backends;

on_both_backends!(setup = three_client_requests_a_minute; refusals_are_answered_like_any_other_request);
on_both_backends!(invented_methods_and_paths_add_no_metric_series);
on_both_backends!(setup = one_second_body_pauses; a_body_that_stops_arriving_is_cut_off);

fn three_client_requests_a_minute() -> Setup {
    Setup { client_rate_limit: 3, ..Setup::default() }
}

fn one_second_body_pauses() -> Setup {
    Setup { body_timeout: Duration::from_secs(1), ..Setup::default() }
}

/// What every answer carries, refusals included.
#[track_caller]
fn assert_ordinary(r: &Resp, what: &str) {
    let id = r.header("x-request-id").unwrap_or_else(|| panic!("{what}: no X-Request-Id"));
    assert!(!id.is_empty(), "{what}");
    for (header, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("strict-transport-security", "max-age=31536000"),
        ("content-security-policy", "default-src 'none'; frame-ancestors 'none'"),
        ("cache-control", "no-store"),
        ("access-control-allow-origin", CORS_ORIGIN),
    ] {
        assert_eq!(r.header(header).as_deref(), Some(value), "{what}: {header}");
    }
    assert!(r.header("access-control-expose-headers").is_some_and(|h| h.contains("x-request-id")), "{what}");
}

async fn refusals_are_answered_like_any_other_request(app: TestApp) {
    let origin = [("origin", CORS_ORIGIN)];
    let send = |method: &'static str, path: &'static str, token: Option<String>| {
        let app = &app;
        async move { app.send(method, path, Some(token.as_deref().unwrap_or("")), None, &origin).await }
    };
    let r = send("GET", "/api/v1/children", None).await;
    r.assert_problem(401, "missing_token");
    assert_ordinary(&r, "no token");
    let r = send("GET", "/api/v1/children", Some("not-a-token".into())).await;
    r.assert_problem(401, "invalid_token");
    assert_ordinary(&r, "bad token");

    app.add_user("edge.volunteer", Role::Volunteer, "volunteer-password").await;
    let volunteer = app.login("edge.volunteer", "volunteer-password").await;
    let r = send("GET", "/api/v1/audit-events", Some(volunteer)).await;
    r.assert_problem(403, "forbidden");
    assert_ordinary(&r, "wrong role");

    let r = send("PUT", "/api/v1/children", Some(app.token.clone())).await;
    r.assert_problem(405, "method_not_allowed");
    assert_eq!(r.header("allow").as_deref(), Some("GET, POST"));
    assert_ordinary(&r, "405 in the API");
    let r = send("POST", "/healthz", None).await;
    r.assert_problem(405, "method_not_allowed");
    assert_ordinary(&r, "405 outside it");

    // A partner client over its rate (three a minute here).
    let org =
        app.post("/api/v1/organisations", json!({"name": "希望之家", "kind": "social_organisation"})).await;
    assert_eq!(org.status, 201, "{}", org.body);
    let client = app
        .post(
            "/api/v1/api-clients",
            json!({"organisation_id": org.id(), "name": "希望之家系统", "scopes": ["cases:read"]}),
        )
        .await;
    assert_eq!(client.status, 201, "{}", client.body);
    let r = app
        .post(
            "/api/v1/auth/client-token",
            json!({"grant_type": "client_credentials", "client_id": client.body["client"]["id"], "client_secret": client.body["client_secret"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let partner = r.body["access_token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(send("GET", "/api/v1/children", Some(partner.clone())).await.status, 200);
    }
    let r = send("GET", "/api/v1/children", Some(partner.clone())).await;
    r.assert_problem(429, "rate_limited");
    assert!(r.header("retry-after").is_some());
    assert_ordinary(&r, "partner over its rate");

    // Counted like any answer.
    let metrics = String::from_utf8(app.send("GET", "/metrics", Some(""), None, &[]).await.raw).unwrap();
    for series in [
        r#"{method="GET",route="/api/v1/children",status="401"} 2"#,
        r#"{method="GET",route="/api/v1/audit-events",status="403"} 1"#,
        r#"{method="PUT",route="/api/v1/children",status="405"} 1"#,
        r#"{method="POST",route="/healthz",status="405"} 1"#,
        r#"{method="GET",route="/api/v1/children",status="429"} 1"#,
    ] {
        assert!(
            metrics.contains(&format!("tongxing_http_requests_total{series}")),
            "{series} in:\n{metrics}"
        );
    }
}

fn request_series(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| l.starts_with("tongxing_http_requests_total{"))
        .filter_map(|l| l.rsplit_once(' ').map(|(series, _count)| series))
        .collect()
}

async fn metrics_text(app: &TestApp) -> String {
    String::from_utf8(app.send("GET", "/metrics", Some(""), None, &[]).await.raw).unwrap()
}

/// Invented methods on a route, on paths that match nothing in or out of the API, and GETs of
/// paths that match nothing.
async fn invent(app: &TestApp, round: usize) {
    for (i, method) in ["FOO", "BREW", "PROPFIND", "X-INVENTED"].iter().enumerate() {
        for path in
            ["/api/v1/children".to_owned(), format!("/nope-{round}-{i}"), format!("/api/v1/nope-{round}-{i}")]
        {
            let r = app.send(method, &path, None, None, &[]).await;
            assert!(r.status.is_client_error(), "{method} {path}: {}", r.status);
            assert!(r.header("x-request-id").is_some(), "{method} {path}");
        }
        let r = app.send("GET", &format!("/nope-{round}-{i}"), None, None, &[]).await;
        r.assert_problem(404, "no_route");
    }
}

async fn invented_methods_and_paths_add_no_metric_series(app: TestApp) {
    invent(&app, 0).await;
    let first = metrics_text(&app).await;
    invent(&app, 1).await;
    invent(&app, 2).await;
    let later = metrics_text(&app).await;
    let (before, after) = (request_series(&first), request_series(&later));
    // Only the first read of /metrics itself may have added a series.
    let added: Vec<_> = after.iter().filter(|s| !before.contains(s)).collect();
    assert!(added.iter().all(|s| s.contains("route=\"/metrics\"")), "new series: {added:?}");
    for series in [
        r#"{method="OTHER",route="/api/v1/children",status="405"} 12"#,
        r#"{method="OTHER",route="unmatched",status="404"} 24"#,
        r#"{method="GET",route="unmatched",status="404"} 12"#,
    ] {
        assert!(later.contains(&format!("tongxing_http_requests_total{series}")), "{series} in:\n{later}");
    }
    for invented in ["FOO", "BREW", "PROPFIND", "X-INVENTED", "nope"] {
        assert!(!later.contains(invented), "{invented} is a label:\n{later}");
    }
}

/// Sends the headers of a household create announcing a `length`-byte body, then `parts` of it
/// `every` so long apart; answers the raw response and how long it took from the headers on.
async fn send_slowly(
    app: &TestApp,
    length: usize,
    parts: Vec<Vec<u8>>,
    every: Duration,
) -> (String, Duration) {
    let address = app.base.trim_start_matches("http://").to_owned();
    let token = app.token.clone();
    let (answer, took) = web_block(move || {
        let mut s = std::net::TcpStream::connect(address).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(15))).map_err(|e| e.to_string())?;
        let head = format!(
            "POST /api/v1/households HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        );
        s.write_all(head.as_bytes()).map_err(|e| e.to_string())?;
        let started = Instant::now();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                std::thread::sleep(every);
            }
            // The service may have answered and closed already; what it said is what counts.
            if s.write_all(part).is_err() {
                break;
            }
        }
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        Ok((answer, started.elapsed()))
    })
    .await
    .expect("raw request");
    // Held against the contract like every answer that goes through `TestApp::send_raw`.
    crate::contract::check_raw_http("POST", "/api/v1/households", &answer);
    (String::from_utf8_lossy(&answer).into_owned(), took)
}

async fn a_body_that_stops_arriving_is_cut_off(app: TestApp) {
    let village = app.region("柏墩村").await;
    let body = serde_json::to_vec(&json!({"region_id": village, "address": "桂花镇慢路1号"})).unwrap();

    // Headers and ten bytes, then silence: 408 after the pause allowed (one second here), and
    // the connection is closed.
    let (answer, took) = send_slowly(&app, body.len(), vec![body[..10].to_vec()], Duration::ZERO).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(lower.contains("content-type: application/problem+json"), "{answer}");
    assert!(lower.contains("connection: close"), "{answer}");
    assert!(lower.contains("x-request-id: "), "{answer}");
    assert!(answer.contains("\"code\":\"body_timeout\""), "{answer}");
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "{took:?}");
    assert_eq!(app.count("households").await, 0);

    // A body that keeps arriving, slowly, is read whole: five parts 400 ms apart.
    let parts: Vec<Vec<u8>> = body.chunks(body.len().div_ceil(5)).map(<[u8]>::to_vec).collect();
    let (answer, took) = send_slowly(&app, body.len(), parts, Duration::from_millis(400)).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(took >= Duration::from_millis(1500), "{took:?}");
    assert_eq!(app.count("households").await, 1);

    let metrics = String::from_utf8(app.send("GET", "/metrics", Some(""), None, &[]).await.raw).unwrap();
    assert!(
        metrics.contains(
            r#"tongxing_http_requests_total{method="POST",route="/api/v1/households",status="408"} 1"#
        ),
        "{metrics}"
    );
}
