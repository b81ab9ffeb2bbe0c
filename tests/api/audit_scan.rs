//! The audit log never receives a sensitive value (README, "The audit log"). After every test
//! scenario (`on_both_backends!` calls [`AuditScan::assert_clean`]), its database is read:
//! every personal value the scenario stored in the records (each column named as identity
//! numbers, notes, addresses, phone numbers, e-mail addresses, names and free-text reasons
//! are) is looked for in every audit entry's copied values, and every field of that kind in an
//! entry must read `[redacted]`. So each test of the suite, on both backends, checks the
//! promise for whatever it wrote.
//!
//! It cannot pass by reading nothing: the entries the log holds and those read must agree, a
//! scenario whose writes were audited must have left the fields they wrote to scan, and
//! `a_planted_value_is_found` plants values and expects them found.

use std::collections::BTreeSet;
use std::sync::Arc;

use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::helpers::{Backend, DbGuard, TestApp, web_block};
use crate::on_both_backends;

on_both_backends!(nested_personal_values_never_reach_the_log, a_write_and_its_audit_entry_commit_together);

/// Fields and columns whose values the audit log never copies: a name is one of these or ends
/// or begins with one after `_` (`emergency_contact_phone`, `health_notes`, `given_by_name`).
pub const NEVER_AUDITED: &[&str] =
    &["national_id", "notes", "note", "address", "phone", "email", "name", "reason"];

/// Tables whose columns are no one's personal data (reference data, the service's own
/// bookkeeping, staff accounts) or are the audit log itself.
const NOT_PERSONAL: &[&str] = &[
    "audit_log",
    "regions",
    "counters",
    "settings",
    "signing_keys",
    "idempotency_keys",
    "holidays",
    "users",
];

pub fn is_never_audited(field: &str) -> bool {
    NEVER_AUDITED
        .iter()
        .any(|p| field == *p || field.ends_with(&format!("_{p}")) || field.starts_with(&format!("{p}_")))
}

/// Writes whose entries name a record but copy none of its fields (a new client's secret, a
/// signing key): every other audited create or update copies the fields it wrote.
const WRITES_WITHOUT_FIELDS: &[&str] = &["/api/v1/api-clients", "/api/v1/signing-keys"];

/// What a scan read.
#[derive(Debug, Default, Clone, Copy)]
pub struct Scanned {
    /// Audit entries read.
    pub entries: usize,
    /// Of them, entries that copied a record's fields (`changes`).
    pub with_changes: usize,
    /// Entries recording a create or an update of a record's fields.
    pub writes: usize,
    /// Personal values the scenario stored, each looked for.
    pub samples: usize,
}

/// The database of one test's service, kept until the scan has run.
pub struct AuditScan {
    state: tongxing_api::AppState,
    _db: Arc<DbGuard>,
}

impl AuditScan {
    pub fn of(app: &TestApp) -> AuditScan {
        AuditScan { state: app.state.clone(), _db: app._db.clone() }
    }

    /// Fails the test on any sensitive value in the audit log.
    pub async fn assert_clean(&self) -> Scanned {
        let (found, scanned) = self.findings().await;
        assert!(
            found.is_empty(),
            "the audit log holds values it must never copy ({} findings):\n{}",
            found.len(),
            found.join("\n")
        );
        // Every write the scenario made wrote its entry in its own transaction.
        assert_eq!(
            self.state.metrics.audits_outside_transaction(),
            0,
            "a write was answered without its audit entry in its transaction (see the error log)"
        );
        // A scenario that wrote records left their fields to scan (a replay of a create is
        // entered as a create without them, so this is not asked of each entry).
        if scanned.writes > 0 {
            assert!(scanned.with_changes > 0, "audited writes, but no fields to scan: {scanned:?}");
        }
        scanned
    }

    /// Each sensitive value found, where; and what was read.
    pub async fn findings(&self) -> (Vec<String>, Scanned) {
        self.state.audit.flush().await.expect("audit entries written");
        let db = self.state.db.clone();
        let (entries, total, samples) = web_block(move || {
            let mut conn = db.conn().map_err(|e| e.to_string())?;
            // One snapshot for both reads: another instance of a scenario may still be writing
            // its entries.
            let (entries, total) = tongxing_store::transaction(&mut conn, |c| {
                if c.backend() == tongxing_store::Backend::Postgres {
                    diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        .execute(c)
                        .map_err(tongxing_store::map_db_error)?;
                }
                let entries: Vec<Entry> = diesel::sql_query(
                    "SELECT CAST(id AS TEXT) AS id, resource, action, changes FROM audit_log ORDER BY id",
                )
                .load(c)
                .map_err(tongxing_store::map_db_error)?;
                let total: Count = diesel::sql_query("SELECT COUNT(*) AS n FROM audit_log")
                    .get_result(c)
                    .map_err(tongxing_store::map_db_error)?;
                Ok((entries, total))
            })
            .map_err(|e| e.to_string())?;
            let samples = personal_values(&mut conn, db.backend())?;
            Ok((entries, total.n, samples))
        })
        .await
        .expect("read the audit log and the records");
        assert_eq!(i64::try_from(entries.len()).unwrap(), total, "every entry is read");
        let mut found = Vec::new();
        let mut scanned = Scanned { entries: entries.len(), samples: samples.len(), ..Scanned::default() };
        for e in &entries {
            if matches!(e.action.as_str(), "create" | "update")
                && !WRITES_WITHOUT_FIELDS.contains(&e.resource.as_str())
            {
                scanned.writes += 1;
            }
            let Some(text) = &e.changes else { continue };
            scanned.with_changes += 1;
            let changes: Value = serde_json::from_str(text).expect("changes are JSON");
            let place = format!("{} {} {}", e.action, e.resource, e.id);
            check(&changes, "", false, &samples, &place, &mut found);
        }
        (found, scanned)
    }
}

/// Walks copied values: under a never-audited field every string must be `[redacted]`, and no
/// string anywhere may hold a personal value the scenario stored.
fn check(
    v: &Value,
    path: &str,
    sensitive: bool,
    samples: &BTreeSet<String>,
    at: &str,
    out: &mut Vec<String>,
) {
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                // `old` and `new` are the audit's own keys, not a record's.
                let named = !matches!(k.as_str(), "old" | "new") && is_never_audited(k);
                check(item, &p, sensitive || named, samples, at, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check(item, &format!("{path}[{i}]"), sensitive, samples, at, out);
            }
        }
        Value::String(s) => {
            if sensitive && s != "[redacted]" {
                out.push(format!("{at}: {path} holds {s:?}, not [redacted]"));
            }
            for sample in samples.iter().filter(|sample| s.contains(sample.as_str())) {
                out.push(format!("{at}: {path} holds the stored value {sample:?}"));
            }
        }
        Value::Number(_) | Value::Bool(_) if sensitive => {
            out.push(format!("{at}: {path} holds {v}, not [redacted]"));
        }
        _ => {}
    }
}

#[derive(diesel::QueryableByName)]
struct Entry {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    resource: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    action: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    changes: Option<String>,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    c: String,
}

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

/// Every value of a never-audited column of the records, found by the columns' names, so that
/// a new table's notes or phone numbers are covered without a word here.
fn personal_values(
    conn: &mut tongxing_store::DbConnection,
    backend: tongxing_store::Backend,
) -> Result<BTreeSet<String>, String> {
    let columns_sql = match backend {
        tongxing_store::Backend::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table'"
        }
        tongxing_store::Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS t, CAST(column_name AS TEXT) AS c \
             FROM information_schema.columns WHERE table_schema = 'public'"
        }
    };
    let columns: Vec<Column> = diesel::sql_query(columns_sql).load(conn).map_err(|e| e.to_string())?;
    let mut out = BTreeSet::new();
    for col in columns.iter().filter(|c| is_never_audited(&c.c) && !NOT_PERSONAL.contains(&c.t.as_str())) {
        let sql =
            format!("SELECT CAST({c} AS TEXT) AS v FROM {t} WHERE {c} IS NOT NULL", c = col.c, t = col.t);
        let values: Vec<Text> = diesel::sql_query(sql).load(conn).map_err(|e| e.to_string())?;
        out.extend(values.into_iter().map(|v| v.v).filter(|v| meaningful(v)));
    }
    Ok(out)
}

/// Long enough to mean something when found among ids, codes and dates: two characters of
/// Chinese (a name), four of ASCII (`note`, not `ok`), seven digits (a phone number, not a year).
fn meaningful(v: &str) -> bool {
    let chars = v.chars().count();
    if !v.is_ascii() {
        return chars >= 2;
    }
    chars >= 4 && (chars >= 7 || !v.chars().all(|c| c.is_ascii_digit()))
}

/// The scan finds what it looks for: values planted in the audit log, as a copy of a stored
/// phone number and as a note under a field that must read `[redacted]`, are reported; the
/// same log without them is clean.
#[actix_web::test]
async fn a_planted_value_is_found() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    let village = app.region("柏墩村").await;
    let phone = "13907150042";
    let r = app
        .post(
            "/api/v1/households",
            json!({"region_id": village, "address": "桂花镇幸福路18号", "guardians": [{"name": "王秀英", "relation": "grandmother", "phone": phone, "is_primary": true}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let scan = AuditScan::of(&app);
    let (found, scanned) = scan.findings().await;
    assert!(found.is_empty(), "{found:?}");
    assert!(scanned.with_changes >= 1 && scanned.samples >= 3, "{scanned:?}");

    let db = app.state.db.clone();
    web_block(move || {
        let mut conn = db.conn().map_err(|e| e.to_string())?;
        for changes in [
            json!({"guardians": {"old": null, "new": [{"relation": "grandmother", "contact": "call 13907150042"}]}}),
            json!({"items": {"old": null, "new": [{"child_id": "x", "notes": "[redacted]"}, {"notes": "哭了"}]}}),
        ] {
            diesel::sql_query(
                "INSERT INTO audit_log (id, at, actor_kind, action, resource, status, changes) \
                 VALUES ($1, CURRENT_TIMESTAMP, 'user', 'update', '/planted', 200, $2)",
            )
            .bind::<diesel::sql_types::Text, _>(uuid::Uuid::now_v7().to_string())
            .bind::<diesel::sql_types::Text, _>(changes.to_string())
            .execute(&mut *conn)
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
    .await
    .expect("plant");
    let (found, _) = scan.findings().await;
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("guardians.new[0].contact holds the stored value \"13907150042\""),
        "{found:#?}"
    );
    assert!(found[1].contains("items.new[1].notes holds \"哭了\", not [redacted]"), "{found:#?}");
}

/// The review's findings: an assessment's notes inside its dimensions, attendance notes inside
/// `items`, guardians' phones inside a household, an identity number; each write is audited
/// with its fields named, references copied, and nothing personal at any depth.
async fn nested_personal_values_never_reach_the_log(app: TestApp) {
    let village = app.region("柏墩村").await;
    let created = |r: crate::helpers::Resp, what: &str| {
        assert_eq!(r.status, 201, "{what}: {}", r.body);
        r.id()
    };
    let household = created(
        app.post("/api/v1/households", json!({"region_id": village, "address": "桂花镇幸福路18号", "guardians": [{"name": "王秀英", "relation": "grandmother", "phone": "13907150042", "is_primary": true}]})).await,
        "household",
    );
    let child = created(
        app.post("/api/v1/children", json!({"region_id": village, "household_id": household, "name": "周小雨", "sex": "female", "birth_date": "2014-03-02", "national_id": "421202201403020043", "categories": ["left_behind"], "health_notes": "哮喘，随身带药"})).await,
        "child",
    );
    created(
        app.post(
            &format!("/api/v1/children/{child}/assessments"),
            json!({
                "assessed_on": "2024-03-01",
                "living_conditions": {"score": 2, "notes": "屋顶漏雨"},
                "psychological_state": {"score": 1, "notes": "夜里常哭，想妈妈"},
                "study": {"score": 3, "notes": "数学跟不上"},
                "social_development": {"score": 3},
            }),
        )
        .await,
        "assessment",
    );
    let org = created(
        app.post(
            "/api/v1/organisations",
            json!({"name": "咸安区社工站", "kind": "social_organisation", "contact_phone": "0715-8123456"}),
        )
        .await,
        "organisation",
    );
    let event = created(
        app.post("/api/v1/events", json!({"title": "读书会", "event_type": "care", "programme": "five_plus_n", "starts_at": "2024-03-02T09:00:00+08:00", "ends_at": "2024-03-02T11:00:00+08:00", "region_id": village, "organiser_id": org})).await,
        "event",
    );
    let r = app
        .post(
            &format!("/api/v1/events/{event}/attendance"),
            json!({"items": [{"child_id": child, "guardian_present": false, "notes": "发烧了，提前回家"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let scanned = AuditScan::of(&app).assert_clean().await;
    assert!(scanned.entries >= 6 && scanned.with_changes >= 5 && scanned.samples >= 8, "{scanned:?}");

    // The entries name the fields and copy only references, kinds and dates.
    let r = app.get("/api/v1/audit-events?limit=200").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let entry = |resource: &str| {
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"] == resource && !e["changes"].is_null())
            .unwrap_or_else(|| panic!("no entry for {resource} in {}", r.body))
            .clone()
    };
    let assessment = entry("/api/v1/children/{id}/assessments");
    assert_eq!(assessment["changes"]["assessed_on"]["new"], "2024-03-01");
    for dimension in ["living_conditions", "psychological_state", "study"] {
        assert_eq!(assessment["changes"][dimension]["new"], "[redacted]", "{dimension}");
    }
    let attendance = entry("/api/v1/events/{id}/attendance");
    let items = &attendance["changes"]["items"]["new"];
    assert_eq!(items[0]["child_id"], child.as_str(), "{attendance}");
    assert_eq!(items[0]["notes"], "[redacted]", "{attendance}");
    let created_child = entry("/api/v1/children");
    for field in ["national_id", "name", "health_notes", "birth_date"] {
        assert_eq!(created_child["changes"][field]["new"], "[redacted]", "{field}");
    }
    assert_eq!(created_child["changes"]["household_id"]["new"], household.as_str());
}

/// Runs one statement of SQL on the app's database.
async fn execute(app: &TestApp, sql: &'static str) {
    let db = app.state.db.clone();
    web_block(move || {
        let mut conn = db.conn().map_err(|e| e.to_string())?;
        diesel::sql_query(sql).execute(&mut *conn).map(drop).map_err(|e| e.to_string())
    })
    .await
    .expect(sql);
}

/// The audit entries naming `resource_id`, read straight from the table (no flush: what a
/// crash at this moment would leave).
async fn entries_naming(app: &TestApp, resource_id: &str) -> Vec<(String, i32)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        action: String,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        status: i32,
    }
    let (db, id) = (app.state.db.clone(), resource_id.to_owned());
    web_block(move || {
        let mut conn = db.conn().map_err(|e| e.to_string())?;
        let sql = format!("SELECT action, status FROM audit_log WHERE resource_id = '{id}' ORDER BY at");
        let rows: Vec<Row> = diesel::sql_query(sql).load(&mut *conn).map_err(|e| e.to_string())?;
        Ok(rows.into_iter().map(|r| (r.action, r.status)).collect())
    })
    .await
    .expect("audit entries")
}

/// A write's audit entry is written in the write's own transaction (README, "The audit log"):
/// it is in the table the moment the write is answered, with nothing flushed; and when the
/// entry cannot be written, the write is not either, on both backends.
async fn a_write_and_its_audit_entry_commit_together(app: TestApp) {
    let village = app.region("柏墩村").await;
    let household = json!({"region_id": village, "address": "幸福路9号", "guardians": []});
    let r = app.post("/api/v1/households", household.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.id();
    assert_eq!(entries_naming(&app, &id).await, [("create".to_owned(), 201)]);
    let etag = r.header("etag").unwrap();
    let path = format!("/api/v1/households/{id}");
    let changed = json!({"region_id": village, "address": "幸福路10号", "guardians": []});
    let r = app.send("PUT", &path, None, Some(changed.clone()), &[("if-match", &etag)]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let etag = r.header("etag").unwrap();
    assert_eq!(entries_naming(&app, &id).await, [("create".to_owned(), 201), ("update".to_owned(), 200)]);

    // The log refuses the households' entries: the writes are refused, and nothing is written.
    if app.state.db.backend() == tongxing_store::Backend::Postgres {
        execute(
            &app,
            "CREATE FUNCTION refuse_entry() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
            IF NEW.resource LIKE '/api/v1/households%' THEN RAISE EXCEPTION 'entry refused'; END IF; \
            RETURN NEW; END $$",
        )
        .await;
        execute(&app, "CREATE TRIGGER refuse_entry BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_entry()").await;
    } else {
        execute(
            &app,
            "CREATE TRIGGER refuse_entry BEFORE INSERT ON audit_log \
            WHEN NEW.resource LIKE '/api/v1/households%' BEGIN SELECT RAISE(ABORT, 'entry refused'); END",
        )
        .await;
    }
    let households = app.count("households").await;
    let r = app.post("/api/v1/households", household).await;
    assert!(r.status.is_server_error(), "{} {}", r.status, r.body);
    assert_eq!(app.count("households").await, households, "a household was created without its entry");
    let moved = json!({"region_id": village, "address": "幸福路11号", "guardians": []});
    let r = app.send("PUT", &path, None, Some(moved), &[("if-match", &etag)]).await;
    assert!(r.status.is_server_error(), "{} {}", r.status, r.body);
    let r = app.get(&path).await;
    assert_eq!((r.body["address"].as_str(), r.header("etag")), (Some("幸福路10号"), Some(etag.clone())));
    if app.state.db.backend() == tongxing_store::Backend::Postgres {
        execute(&app, "DROP TRIGGER refuse_entry ON audit_log").await;
        execute(&app, "DROP FUNCTION refuse_entry").await;
    } else {
        execute(&app, "DROP TRIGGER refuse_entry").await;
    }
    // Reads are appended after the answer; the two reads above and their entries are flushed.
    app.state.audit.flush().await.unwrap();
    assert_eq!(entries_naming(&app, &id).await.len(), 3);
}
