//! Several nodes behind a proxy: the client's address is the one a trusted proxy forwarded
//! (and never one a client wrote itself); the login throttle and partner quotas, kept in the
//! database, hold across nodes, and a signing key rotated on one reaches the other.

use serde_json::json;

use crate::helpers::{ADMIN_PASSWORD, Setup, TestApp, web_block};
use crate::on_both_backends;

on_both_backends!(setup = behind_a_loopback_proxy; a_trusted_proxy_names_the_client);
on_both_backends!(
    forwarded_addresses_from_anyone_else_are_ignored,
    the_login_throttle_holds_across_nodes,
    a_key_rotated_on_one_node_reaches_the_other
);
on_both_backends!(setup = four_client_requests_a_minute; a_partner_quota_holds_across_nodes);

fn behind_a_loopback_proxy() -> Setup {
    Setup { trusted_proxies: "127.0.0.1/32, ::1", ..Setup::default() }
}

fn four_client_requests_a_minute() -> Setup {
    Setup { client_rate_limit: 4, ..Setup::default() }
}

fn login(username: &str, password: &str) -> serde_json::Value {
    json!({"grant_type": "password", "username": username, "password": password})
}

/// A login from `address`, as a proxy in front of the service forwards it: appended to the
/// `X-Forwarded-For` the client sent, with the client's own `Forwarded` passed through.
async fn login_from(app: &TestApp, address: &str, body: serde_json::Value) -> crate::helpers::Resp {
    let forwarded = format!("198.51.100.250, {address}");
    let headers = [("x-forwarded-for", forwarded.as_str()), ("forwarded", "for=192.0.2.200")];
    app.send("POST", "/api/v1/oauth/token", None, Some(body), &headers).await
}

/// The addresses the audit log holds for failed logins, in order.
async fn failed_login_addresses(app: &TestApp) -> Vec<Option<String>> {
    app.state.audit.flush().await.expect("audit entries written");
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        address: Option<String>,
    }
    let db = app.state.db.clone();
    web_block(move || {
        use diesel::RunQueryDsl;
        let mut conn = db.conn().map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT address FROM audit_log WHERE action = 'login_failed' ORDER BY at, id")
            .load::<Row>(&mut *conn)
            .map(|rows| rows.into_iter().map(|r| r.address).collect())
            .map_err(|e| e.to_string())
    })
    .await
    .expect("audit addresses")
}

async fn a_trusted_proxy_names_the_client(app: TestApp) {
    // Twenty failures from one client behind the proxy: that client is throttled...
    for i in 0..20 {
        let r = login_from(&app, "203.0.113.9", login(&format!("nobody.{i}"), "whatever-it-is")).await;
        assert_eq!(r.body["error"], "invalid_grant", "{}", r.body);
    }
    let r = login_from(&app, "203.0.113.9", login("admin", ADMIN_PASSWORD)).await;
    assert_eq!(r.status, 429, "{}", r.body);
    // ...and another client behind the same proxy is not: the proxy's own address was never
    // the one counted.
    let r = login_from(&app, "192.0.2.77", login("admin", ADMIN_PASSWORD)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The audit log records the client's address, not the proxy's, not the first hop the client
    // could have written itself, and not the `Forwarded` it wrote (the proxies write
    // X-Forwarded-For, the one header read).
    let addresses = failed_login_addresses(&app).await;
    assert!(addresses.len() >= 20, "{addresses:?}");
    assert!(addresses.iter().all(|a| a.as_deref() == Some("203.0.113.9")), "{addresses:?}");
}

async fn forwarded_addresses_from_anyone_else_are_ignored(app: TestApp) {
    // No proxy is trusted (the default): a client cannot choose the address it is counted under.
    for i in 0..20 {
        let forged = format!("203.0.113.{i}");
        let r = app
            .send(
                "POST",
                "/api/v1/oauth/token",
                None,
                Some(login(&format!("nobody.{i}"), "whatever-it-is")),
                &[("x-forwarded-for", &forged), ("forwarded", &format!("for={forged}"))],
            )
            .await;
        assert_eq!(r.body["error"], "invalid_grant", "{}", r.body);
    }
    let r = login_from(&app, "192.0.2.77", login("admin", ADMIN_PASSWORD)).await;
    assert_eq!(r.status, 429, "every failure counted against the connection's address: {}", r.body);
    let addresses = failed_login_addresses(&app).await;
    assert!(addresses.iter().all(|a| a.as_deref() == Some("127.0.0.1")), "{addresses:?}");
}

async fn the_login_throttle_holds_across_nodes(a: TestApp) {
    // Failures spread over two nodes count once, together: N nodes are not N times the limit.
    let b = a.another_instance().await;
    for i in 0..20 {
        let node = if i % 2 == 0 { &a } else { &b };
        let r = node.post("/api/v1/oauth/token", login(&format!("nobody.{i}"), "whatever-it-is")).await;
        assert_eq!(r.body["error"], "invalid_grant", "{}", r.body);
    }
    for node in [&a, &b] {
        let r = node.post("/api/v1/oauth/token", login("admin", ADMIN_PASSWORD)).await;
        assert_eq!(r.status, 429, "{}", r.body);
    }
}

/// A signing key added through one node: the other verifies the tokens it signs at once, and
/// publishes it; tokens signed before go on working on both.
async fn a_key_rotated_on_one_node_reaches_the_other(a: TestApp) {
    let b = a.another_instance().await;
    let before = a.token.clone();
    let r = a.post("/api/v1/signing-keys", json!(null)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let kid = r.body["kid"].as_str().expect("kid").to_owned();
    let after = a.login("admin", ADMIN_PASSWORD).await;
    use base64::Engine;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(after.split('.').next().expect("a JWT"))
        .expect("base64url");
    let header: serde_json::Value = serde_json::from_slice(&header).expect("JSON");
    assert_eq!(header["kid"], kid.as_str());
    for node in [&a, &b] {
        for token in [&before, &after] {
            let r = node.send("GET", "/api/v1/me", Some(token), None, &[("accept-language", "en")]).await;
            assert_eq!(r.status, 200, "{} {}: {}", node.base, &token[..20], r.body);
        }
    }
    let jwks = b.send("GET", "/.well-known/jwks.json", Some(""), None, &[]).await;
    let kids: Vec<_> = jwks.body["keys"].as_array().expect("keys").iter().map(|k| k["kid"].clone()).collect();
    assert!(kids.contains(&json!(kid)), "{kids:?}");
}

async fn a_partner_quota_holds_across_nodes(a: TestApp) {
    let b = a.another_instance().await;
    let org =
        a.post("/api/v1/organisations", json!({"name": "希望之家", "kind": "social_organisation"})).await;
    let client = a
        .post(
            "/api/v1/api-clients",
            json!({"organisation_id": org.id(), "name": "希望之家系统", "scopes": ["cases:read"]}),
        )
        .await;
    assert_eq!(client.status, 201, "{}", client.body);
    let form = json!({"grant_type": "client_credentials", "client_id": client.body["client"]["id"], "client_secret": client.body["client_secret"]});
    let token = a.post("/api/v1/oauth/token", form).await.body["access_token"].as_str().unwrap().to_owned();
    // Four a minute in all, whichever node answers: the second node does not start afresh.
    for (i, node) in [&a, &b, &a, &b].into_iter().enumerate() {
        let r = node.send("GET", "/api/v1/children", Some(&token), None, &[]).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.body);
        let left = r.header("ratelimit").unwrap_or_default();
        assert!(left.starts_with(&format!("\"client\";r={};", 3 - i)), "request {i}: {left}");
    }
    for node in [&a, &b] {
        let r = node.send("GET", "/api/v1/children", Some(&token), None, &[]).await;
        r.assert_problem(429, "rate_limited");
        assert!(
            r.header("ratelimit").is_some_and(|h| h.starts_with("\"client\";r=0;")),
            "{:?}",
            r.header("ratelimit")
        );
    }
}

/// Three nodes started together on an empty database: each waits its turn to set it up, and the
/// migrations, reference data and signing key are there once.
fn nodes_starting_together_set_the_database_up_once(backend: crate::helpers::Backend) {
    let Some((url, _guard)) = crate::helpers::empty_database(backend) else { return };
    let started: Vec<Result<tongxing_api::AppState, String>> = std::thread::scope(|s| {
        let nodes: Vec<_> =
            (0..3).map(|_| s.spawn(|| tongxing::prepare(&url, &tongxing::Options::default()))).collect();
        nodes.into_iter().map(|n| n.join().expect("a node panicked")).collect()
    });
    let states: Vec<tongxing_api::AppState> =
        started.into_iter().map(|s| s.expect("every node starts")).collect();
    let mut conn = states[0].db.conn().expect("a connection");
    let count = |conn: &mut tongxing_store::DbConnection, sql: &str| -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        use diesel::RunQueryDsl;
        diesel::sql_query(sql).get_result::<N>(conn).expect(sql).n
    };
    let migrations = count(&mut conn, "SELECT COUNT(*) AS n FROM __diesel_schema_migrations");
    let distinct = count(&mut conn, "SELECT COUNT(DISTINCT version) AS n FROM __diesel_schema_migrations");
    assert_eq!(migrations, distinct, "each migration applied once");
    assert!(tongxing_store::conn::pending_migrations(&mut conn).expect("pending").is_empty());
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM signing_keys"), 1, "one signing key");
    let regions = count(&mut conn, "SELECT COUNT(*) AS n FROM regions");
    let holidays = count(&mut conn, "SELECT COUNT(*) AS n FROM holidays");
    // A fourth node later finds nothing to do, and adds nothing.
    drop(tongxing::prepare(&url, &tongxing::Options::default()).expect("a later node"));
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM regions"), regions);
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM holidays"), holidays);
}

#[test]
fn nodes_starting_together_set_the_database_up_once_on_sqlite() {
    nodes_starting_together_set_the_database_up_once(crate::helpers::Backend::Sqlite);
}

#[test]
fn nodes_starting_together_set_the_database_up_once_on_postgres() {
    nodes_starting_together_set_the_database_up_once(crate::helpers::Backend::Postgres);
}

/// A node told not to migrate refuses a database that lacks migrations, and names the command.
#[test]
fn a_node_that_does_not_migrate_refuses_an_old_database() {
    let Some((url, _guard)) = crate::helpers::empty_database(crate::helpers::Backend::Sqlite) else { return };
    let options = tongxing::Options { migrate_on_start: false, ..tongxing::Options::default() };
    let refused = tongxing::prepare(&url, &options).err().expect("refused");
    assert!(refused.contains("tongxing migrate"), "{refused}");
    // The migration job's work, alone (no service threads left behind to hold the file).
    let db = tongxing_store::Db::connect(&url, 1).expect("connect");
    db.migrate().expect("migrated");
    drop(db);
    drop(tongxing::prepare(&url, &options).expect("now it starts"));
}

#[actix_web::test]
async fn a_backup_taken_under_writes_restores_on_sqlite() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await.expect("sqlite app");
    a_backup_taken_under_writes_restores(app).await;
}

/// PostgreSQL is backed up with its own tools, which the refusal names.
#[actix_web::test]
async fn a_backup_of_postgres_points_at_its_tools() {
    let Some(app) = TestApp::spawn(crate::helpers::Backend::Postgres).await else { return };
    let to = std::env::temp_dir().join(format!("tongxing-backup-{}.db", uuid::Uuid::new_v4()));
    let refused = app.state.db.backup_to(&to).expect_err("refused");
    assert!(refused.contains("pg_basebackup") && !to.exists(), "{refused}");
}

/// `tongxing backup` (SQLite) while writes go on: the copy opens as a database of its own, holds
/// every write acknowledged before the backup began, and each record in it has its audit entry.
async fn a_backup_taken_under_writes_restores(app: TestApp) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let create = |i: usize| {
        let app = &app;
        async move {
            let r = app
                .post(
                    "/api/v1/organisations",
                    json!({"name": format!("志愿服务队{i}"), "kind": "social_organisation"}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.body);
            r.id()
        }
    };
    let mut before = Vec::new();
    for i in 0..30 {
        before.push(create(i).await);
    }
    let to = std::env::temp_dir().join(format!("tongxing-backup-{}.db", uuid::Uuid::new_v4()));
    let done = AtomicBool::new(false);
    let writes = async {
        let mut n = 0;
        while !done.load(Ordering::Relaxed) {
            create(1000 + n).await;
            n += 1;
        }
        n
    };
    let backup = async {
        let (db, target) = (app.state.db.clone(), to.clone());
        let result = web_block(move || db.backup_to(&target)).await;
        done.store(true, Ordering::Relaxed);
        result
    };
    let (during, backed_up) = futures_util::future::join(writes, backup).await;
    backed_up.expect("backed up");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&to).expect("the copy").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the copy of children's records is its owner's alone");
    }
    // The copy is a database the service starts on.
    let url = tongxing_store::conn::DatabaseUrl::Sqlite(to.display().to_string());
    let restored =
        web_block(move || tongxing::prepare(&url, &tongxing::Options::default())).await.expect("starts");
    let db = restored.db.clone();
    let (ids, audited) = web_block(move || {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        let mut conn = db.conn().map_err(|e| e.to_string())?;
        let ids: Vec<String> = diesel::sql_query("SELECT id FROM organisations")
            .load::<Id>(&mut *conn)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let audited: Vec<String> = diesel::sql_query(
            "SELECT resource_id AS id FROM audit_log WHERE action = 'create' AND resource_id IS NOT NULL",
        )
        .load::<Id>(&mut *conn)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|r| r.id)
        .collect();
        Ok::<_, String>((ids, audited))
    })
    .await
    .expect("read the copy");
    drop(restored);
    for suffix in ["", "-wal", "-shm", ".setup-lock"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", to.display()));
    }
    assert!(during > 0, "writes went on during the backup");
    let missing: Vec<&String> = before.iter().filter(|id| !ids.contains(id)).collect();
    assert!(missing.is_empty(), "acknowledged before the backup, missing from it: {missing:?}");
    let unaudited: Vec<&String> = ids.iter().filter(|id| !audited.contains(id)).collect();
    assert!(unaudited.is_empty(), "in the copy without their audit entry: {unaudited:?}");
}
