//! Reports and the alert list on a read replica (PostgreSQL): read there while it is fresh, from
//! the primary when it lags, when it is gone, and when the caller has just written; every answer
//! says where it was read and as of when, and `/metrics` counts each.
//!
//! The "replica" here is a database of its own, set up as a node sets one up but holding none of
//! the primary's case records, so an answer read there is told apart by its figures; the test
//! plays the streaming replication's part by writing the heartbeat row into it. The real thing
//! (a `pg_basebackup` standby streaming from its primary) is exercised by `docker/cluster.sh`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use tongxing_core::role::Role;
use tongxing_store::conn::DatabaseUrl;

use crate::helpers::{Backend, Resp, Setup, TEST_SIGNING_KEY, TestApp, empty_database, web_block};

const SUMMARY: &str = "/api/v1/reports/summary?from=2023-06-01";
const PASSWORD: &str = "a-reader-password";

fn pg_url(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Postgres(u) => u.clone(),
        DatabaseUrl::Sqlite(_) => unreachable!("a replica is PostgreSQL"),
    }
}

/// Sets the heartbeat the replica holds, as replication would bring it there.
async fn replayed_until(replica: &DatabaseUrl, at: DateTime<Utc>) {
    let url = pg_url(replica);
    web_block(move || {
        let mut c = PgConnection::establish(&url).map_err(|e| e.to_string())?;
        diesel::sql_query(format!("UPDATE replica_heartbeat SET at = '{}'", at.naive_utc()))
            .execute(&mut c)
            .map_err(|e| e.to_string())
    })
    .await
    .expect("heartbeat written on the replica");
}

/// Keeps the replica's heartbeat current (a healthy replica) until the returned guard is dropped.
fn keep_fresh(replica: &DatabaseUrl) -> tokio::sync::oneshot::Sender<()> {
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let replica = replica.clone();
    actix_web::rt::spawn(async move {
        loop {
            replayed_until(&replica, Utc::now()).await;
            tokio::select! {
                _ = &mut stopped => return,
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    });
    stop
}

/// Asks `path` as `token` until the answer comes from `source` (the probe runs every second).
async fn until_from(app: &TestApp, token: &str, path: &str, source: &str) -> Resp {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = app.send("GET", path, Some(token), None, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.header("x-data-source").as_deref() == Some(source) || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn as_of(r: &Resp) -> DateTime<Utc> {
    let raw = r.header("x-data-as-of").expect("X-Data-As-Of");
    DateTime::parse_from_rfc3339(&raw).expect("RFC 3339").with_timezone(&Utc)
}

fn counted(metrics: &str, source: &str, reason: &str) -> u64 {
    let series = format!("tongxing_heavy_reads_total{{source=\"{source}\",reason=\"{reason}\"}} ");
    metrics.lines().find_map(|l| l.strip_prefix(&series)).map_or(0, |n| n.parse().expect("a count"))
}

async fn metrics(app: &TestApp) -> String {
    let r = app.send_raw("GET", "/metrics", None, None, &[]).await;
    String::from_utf8(r.raw).expect("text")
}

#[actix_web::test]
async fn reports_read_from_a_fresh_replica_and_from_the_primary_otherwise() {
    let Some((replica, replica_db)) = empty_database(Backend::Postgres) else { return };
    let options = tongxing::Options { signing_key: Some(TEST_SIGNING_KEY.into()), ..Default::default() };
    let prepared = replica.clone();
    web_block(move || tongxing::prepare(&prepared, &options).map(drop)).await.expect("replica set up");
    let setup = Setup { replica: Some(replica.clone()), ..Setup::default() };
    let app = TestApp::spawn_with(Backend::Postgres, setup).await.expect("postgres app");
    let db = app.state.db.clone();
    web_block(move || {
        let mut conn = db.conn().map_err(|e| e.to_string())?;
        tongxing::demo::load(&mut conn).map_err(|e| e.to_string())
    })
    .await
    .expect("demo data on the primary");
    // A coordinator who has written nothing reads the reports.
    app.add_user("coordinator.lu", Role::Coordinator, PASSWORD).await;
    let reader = app.login("coordinator.lu", PASSWORD).await;

    // The replica has never been replayed to: it lags, and the primary answers, as of now.
    let before = Utc::now();
    let r = app.send("GET", SUMMARY, Some(&reader), None, &[]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-data-source").as_deref(), Some("primary"));
    assert!(as_of(&r) >= before - chrono::Duration::milliseconds(1), "{:?}", r.header("x-data-as-of"));
    assert_eq!(r.body["children_registered"], 106);
    assert!(counted(&metrics(&app).await, "primary", "lagging") >= 1);

    // Fresh: reports, their CSV and the alert list are read there, as of its heartbeat.
    let fresh = keep_fresh(&replica);
    let r = until_from(&app, &reader, SUMMARY, "replica").await;
    assert_eq!(r.header("x-data-source").as_deref(), Some("replica"), "{:?}", r.headers);
    assert_eq!(r.body["children_registered"], 0, "the replica holds no case records");
    let lag = Utc::now() - as_of(&r);
    assert!(lag >= chrono::Duration::zero() && lag <= chrono::Duration::seconds(5), "{lag}");
    for path in ["/api/v1/reports/summary.csv?from=2023-06-01", "/api/v1/compliance/alerts"] {
        let r = app.send("GET", path, Some(&reader), None, &[]).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.header("x-data-source").as_deref(), Some("replica"), "{path}");
        assert!(r.header("x-data-as-of").is_some(), "{path}");
    }
    let text = metrics(&app).await;
    assert!(counted(&text, "replica", "") >= 3, "{text}");
    assert!(text.contains("tongxing_replica_up 1"), "{text}");

    // The caller's own write is not on the replica yet: the caller reads from the primary,
    // while another caller still reads from the replica.
    let r = app
        .send(
            "POST",
            "/api/v1/organisations",
            Some(&app.token),
            Some(serde_json::json!({"name": "温泉社工站", "kind": "social_organisation"})),
            &[],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app.get(SUMMARY).await;
    assert_eq!(r.header("x-data-source").as_deref(), Some("primary"));
    assert_eq!(r.body["children_registered"], 106);
    assert!(counted(&metrics(&app).await, "primary", "own_write") >= 1);
    let r = app.send("GET", SUMMARY, Some(&reader), None, &[]).await;
    assert_eq!(r.header("x-data-source").as_deref(), Some("replica"));

    // Lagging: replication stalls a minute behind; the primary answers again.
    drop(fresh);
    replayed_until(&replica, Utc::now() - chrono::Duration::seconds(60)).await;
    let r = until_from(&app, &reader, SUMMARY, "primary").await;
    assert_eq!(r.header("x-data-source").as_deref(), Some("primary"));
    assert_eq!(r.body["children_registered"], 106);
    let text = metrics(&app).await;
    let lag: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("tongxing_replica_lag_seconds "))
        .and_then(|v| v.parse().ok())
        .expect("the replica's lag");
    assert!((59.0..120.0).contains(&lag), "{lag}");

    // Gone: the replica's database disappears under its open connections; reports still answer.
    drop(replica_db); // drops the database, with force
    let r = until_from(&app, &reader, SUMMARY, "primary").await;
    assert_eq!(r.body["children_registered"], 106);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !metrics(&app).await.contains("tongxing_replica_up 0") {
        assert!(Instant::now() < deadline, "the probe never saw the replica go");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for path in [SUMMARY, "/api/v1/reports/events.csv", "/api/v1/compliance/alerts"] {
        let r = app.send("GET", path, Some(&reader), None, &[]).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.header("x-data-source").as_deref(), Some("primary"), "{path}");
    }
    assert!(counted(&metrics(&app).await, "primary", "down") >= 3);
}

/// A node starts while its replica is unreachable, and serves reports from the primary.
#[actix_web::test]
async fn a_node_starts_without_its_replica() {
    let unreachable =
        DatabaseUrl::Postgres("postgres://postgres@127.0.0.1:1/nowhere?connect_timeout=1".into());
    let setup = Setup { replica: Some(unreachable), ..Setup::default() };
    let Some(app) = TestApp::spawn_with(Backend::Postgres, setup).await else { return };
    let r = until_from(&app, &app.token, SUMMARY, "primary").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("x-data-source").as_deref(), Some("primary"));
}

/// Without a replica every heavy read says it came from the primary.
#[actix_web::test]
async fn without_a_replica_reports_say_they_are_from_the_primary() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let r = app.get(SUMMARY).await;
    assert_eq!(r.header("x-data-source").as_deref(), Some("primary"));
    assert!(as_of(&r) <= Utc::now());
    assert!(counted(&metrics(&app).await, "primary", "not_configured") >= 1);
}
