//! `tongxing audit archive`: months of the audit log exported into checked files and removed
//! from the database (a partition detached and dropped on PostgreSQL, a marked delete on
//! SQLite), the running month left alone, and the log append-only throughout.

use std::io::BufRead;

use chrono::{NaiveDate, TimeZone, Utc};
use diesel::RunQueryDsl;
use sha2::Digest;
use tongxing_accounts::archive;
use tongxing_accounts::audit::{self, ActorType, AuditAction, Entry};
use tongxing_store::DbConnection;

use crate::helpers::{TestApp, web_block};
use crate::on_both_backends;

on_both_backends!(old_months_are_archived_into_checked_files_and_leave_the_log);

fn entry(at: chrono::DateTime<Utc>, n: usize) -> Entry {
    Entry {
        at,
        actor_type: ActorType::User,
        actor_id: Some(uuid::Uuid::now_v7()),
        actor_role: Some("caseworker".into()),
        action: AuditAction::Read,
        resource: "/api/v1/children/{id}".into(),
        resource_id: Some(format!("record-{n}")),
        child_id: Some(uuid::Uuid::now_v7()),
        status: 200,
        changes: None,
        address: Some("192.0.2.7".into()),
        request_id: Some(format!("request-{n}")),
    }
}

async fn on_db<T: Send + 'static>(
    app: &TestApp,
    f: impl FnOnce(&mut DbConnection) -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let db = app.state.db.clone();
    web_block(move || {
        let mut conn = db.conn().map_err(|e| e.to_string())?;
        f(&mut conn)
    })
    .await
}

fn count_between(conn: &mut DbConnection, from: &str, to: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) AS n FROM audit_log WHERE at >= '{from}' AND at < '{to}'");
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    diesel::sql_query(sql).get_result::<N>(conn).expect("count").n
}

async fn old_months_are_archived_into_checked_files_and_leave_the_log(app: TestApp) {
    // 120 entries in January 2025 (some on its last second), 7 in February, and today's.
    let jan = Utc.with_ymd_and_hms(2025, 1, 3, 8, 0, 0).unwrap();
    let last_second = Utc.with_ymd_and_hms(2025, 1, 31, 23, 59, 59).unwrap();
    let feb = Utc.with_ymd_and_hms(2025, 2, 1, 0, 0, 0).unwrap();
    let mut old: Vec<Entry> = (0..118).map(|n| entry(jan + chrono::Duration::minutes(n as i64), n)).collect();
    old.push(entry(last_second, 118));
    old.push(entry(last_second, 119));
    old.extend((0..7).map(|n| entry(feb + chrono::Duration::hours(n as i64), 200 + n)));
    on_db(&app, move |c| audit::insert(c, old).map_err(|e| e.to_string())).await.expect("old entries");
    assert_eq!(app.get("/api/v1/regions").await.status, 200);
    app.state.audit.flush().await.expect("flushed");
    let dir = std::env::temp_dir().join(format!("tongxing-archive-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir(&dir).expect("dir");

    // A month still to come is refused; so is a directory that is not there.
    let (d, next) = (dir.clone(), NaiveDate::from_ymd_opt(2999, 1, 1).unwrap());
    let refused = on_db(&app, move |c| archive::archive(c, next, &d)).await.expect_err("future");
    assert!(refused.contains("still to come"), "{refused}");
    let missing = dir.join("missing");
    let march = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
    let refused = on_db(&app, move |c| archive::archive(c, march, &missing)).await.expect_err("no dir");
    assert!(refused.contains("not a directory"), "{refused}");

    let d = dir.clone();
    let done = on_db(&app, move |c| archive::archive(c, march, &d)).await.expect("archived");
    let months: Vec<(String, u64)> = done.iter().map(|a| (a.month.clone(), a.entries)).collect();
    assert_eq!(months, vec![("2025-01".to_owned(), 120), ("2025-02".to_owned(), 7)]);
    for a in &done {
        // The file reads back as the API's entries, and its checksum file says its SHA-256.
        let bytes = std::fs::read(&a.file).expect("the file");
        assert_eq!(format!("{:x}", sha2::Sha256::digest(&bytes)), a.sha256);
        let sums = std::fs::read_to_string(format!("{}.sha256", a.file.display())).expect("sums");
        let name = a.file.file_name().unwrap().to_str().unwrap();
        assert_eq!(sums, format!("{}  {name}\n", a.sha256));
        let lines: Vec<serde_json::Value> = std::io::BufReader::new(flate2::read::GzDecoder::new(&bytes[..]))
            .lines()
            .map(|l| serde_json::from_str(&l.expect("a line")).expect("JSON"))
            .collect();
        assert_eq!(lines.len() as u64, a.entries);
        assert!(lines.iter().all(|l| l["at"].as_str().unwrap().starts_with(&a.month)), "{}", a.month);
        assert!(lines.iter().all(|l| l["action"] == "read" && l["resource"] == "/api/v1/children/{id}"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&a.file).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
    let ids: Vec<String> = {
        let bytes = std::fs::read(&done[0].file).unwrap();
        std::io::BufReader::new(flate2::read::GzDecoder::new(&bytes[..]))
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(&l.unwrap()).unwrap()["request_id"].to_string()
            })
            .collect()
    };
    assert!(ids.contains(&"\"request-119\"".to_owned()), "the month's last second is in it");

    // The months are gone from the database; the running month's entries are not.
    let after = on_db(&app, |c| {
        Ok((
            count_between(c, "2025-01-01", "2025-03-01"),
            count_between(c, "2025-03-01", "2999-01-01"),
            c.backend(),
        ))
    })
    .await
    .unwrap();
    assert_eq!(after.0, 0);
    assert!(after.1 > 0, "the running month's entries stay");
    let r = app.get("/api/v1/audit-events?limit=200").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body["items"].as_array().unwrap().iter().all(|e| !e["at"].as_str().unwrap().starts_with("2025-0"))
    );
    if after.2 == tongxing_store::Backend::Postgres {
        // The months' partitions are detached and dropped; the running month's is there.
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let names = on_db(&app, |c| {
            diesel::sql_query(
                "SELECT tablename::text AS name FROM pg_tables WHERE tablename LIKE 'audit_log%'",
            )
            .load::<Name>(c)
            .map_err(|e| e.to_string())
        })
        .await
        .unwrap();
        let names: Vec<String> = names.into_iter().map(|n| n.name).collect();
        assert!(!names.iter().any(|t| t.starts_with("audit_log_p2025_0")), "{names:?}");
        let this_month = format!("audit_log_p{}", Utc::now().format("%Y_%m"));
        assert!(names.contains(&this_month) && names.contains(&"audit_log_default".to_owned()), "{names:?}");
    }

    // Still append-only: neither an archived month's mark nor any other lets a delete through.
    let refused =
        on_db(&app, |c| diesel::sql_query("DELETE FROM audit_log").execute(c).map_err(|e| e.to_string()))
            .await
            .expect_err("refused");
    assert!(refused.contains("append-only"), "{refused}");
    if after.2 == tongxing_store::Backend::Postgres {
        // Naming a partition as the moving's target lets nothing through that is not also kept
        // there: the entries of the running month's partition, and of the default one, stay.
        let target = format!("audit_log_p{}", Utc::now().format("%Y_%m"));
        let refused = on_db(&app, move |c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute(&format!(
                "BEGIN; SET LOCAL tongxing.audit_log_moving_to = '{target}'; DELETE FROM audit_log; COMMIT;"
            ))
            .map_err(|e| e.to_string())
        })
        .await
        .expect_err("refused");
        assert!(refused.contains("append-only"), "{refused}");
        let _ = on_db(&app, |c| {
            use diesel::connection::SimpleConnection;
            c.batch_execute("ROLLBACK").map_err(|e| e.to_string())
        })
        .await;
    }
    let refused = on_db(&app, |c| {
        diesel::sql_query("UPDATE audit_log SET status = 500").execute(c).map_err(|e| e.to_string())
    })
    .await
    .expect_err("refused");
    assert!(refused.contains("append-only"), "{refused}");

    // Nothing left before March; a late entry of an archived month goes into a second part, and
    // files already there are never touched.
    let d = dir.clone();
    assert!(on_db(&app, move |c| archive::archive(c, march, &d)).await.expect("again").is_empty());
    let late = vec![entry(Utc.with_ymd_and_hms(2025, 2, 14, 9, 0, 0).unwrap(), 900)];
    on_db(&app, move |c| audit::insert(c, late).map_err(|e| e.to_string())).await.expect("late entry");
    let squatter = dir.join("audit-2025-02.part2.jsonl.gz");
    std::fs::write(&squatter, b"not ours").unwrap();
    let d = dir.clone();
    let refused = on_db(&app, move |c| archive::archive(c, march, &d)).await.expect_err("file there");
    assert!(refused.contains("cannot create"), "{refused}");
    assert_eq!(std::fs::read(&squatter).unwrap(), b"not ours", "left as it was");
    assert_eq!(on_db(&app, |c| Ok(count_between(c, "2025-02-01", "2025-03-01"))).await.unwrap(), 1);
    std::fs::remove_file(&squatter).unwrap();
    let d = dir.clone();
    let done = on_db(&app, move |c| archive::archive(c, march, &d)).await.expect("a second part");
    assert_eq!(done.len(), 1);
    assert_eq!((done[0].month.as_str(), done[0].entries), ("2025-02", 1));
    assert!(done[0].file.ends_with("audit-2025-02.part2.jsonl.gz"), "{:?}", done[0].file);
    assert!(dir.join("audit-2025-02.jsonl.gz").exists(), "the first part stays");
    assert_eq!(on_db(&app, |c| Ok(count_between(c, "2025-02-01", "2025-03-01"))).await.unwrap(), 0);
    // The record of what was archived is append-only too.
    for sql in ["DELETE FROM audit_archives", "UPDATE audit_archives SET entries = 0"] {
        let refused = on_db(&app, move |c| diesel::sql_query(sql).execute(c).map_err(|e| e.to_string()))
            .await
            .expect_err("refused");
        assert!(refused.contains("append-only"), "{sql}: {refused}");
    }
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}
