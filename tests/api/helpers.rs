//! Spawns the real service on port 0 with a fresh database (a SQLite file, or a new PostgreSQL
//! database when TONGXING_TEST_POSTGRES_URL is set) and drives it over HTTP.

use std::net::TcpListener;

use awc::http::StatusCode;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{Value, json};
use tongxing_core::role::Role;
use tongxing_store::conn::DatabaseUrl;

/// The service under test signs with this Ed25519 seed (base64), so tests can forge tokens
/// with its key: `tongxing-test-signing-key-32-b!!`.
pub const TEST_SIGNING_KEY: &str = "dG9uZ3hpbmctdGVzdC1zaWduaW5nLWtleS0zMi1iISE=";
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
/// The one browser origin the service under test allows.
pub const CORS_ORIGIN: &str = "https://app.example.org";
pub const POSTGRES_ENV: &str = "TONGXING_TEST_POSTGRES_URL";
/// Set by CI so that a missing PostgreSQL fails the run instead of skipping half of it.
pub const REQUIRE_POSTGRES_ENV: &str = "TONGXING_TEST_REQUIRE_POSTGRES";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub(crate) enum DbGuard {
    Sqlite(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        match self {
            DbGuard::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm", ".setup-lock"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            DbGuard::Postgres { admin_url, name } => {
                if let Ok(mut c) = PgConnection::establish(admin_url) {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut c);
                }
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: awc::Client,
    pub token: String,
    pub state: tongxing_api::AppState,
    url: DatabaseUrl,
    setup: Setup,
    pub(crate) _db: std::sync::Arc<DbGuard>,
}

/// What a test may set in the service it starts; the rest is as configured by default.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Requests per minute per partner API client.
    pub client_rate_limit: u32,
    /// The longest pause while a request body is arriving.
    pub body_timeout: std::time::Duration,
    /// Seconds an `Idempotency-Key` holds.
    pub idempotency_window: i64,
    /// The proxies whose forwarded addresses are believed (`TONGXING_TRUSTED_PROXIES`).
    pub trusted_proxies: &'static str,
    /// A read replica for reports and the alert list (`TONGXING_REPLICA_URL`).
    pub replica: Option<DatabaseUrl>,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            client_rate_limit: 600,
            body_timeout: std::time::Duration::from_secs(10),
            idempotency_window: tongxing_api::state::IDEMPOTENCY_WINDOW_SECONDS,
            trusted_proxies: "",
            replica: None,
        }
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: awc::http::header::HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "body: {}",
            self.body
        );
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].as_str().is_some_and(|t| t.ends_with(code)));
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
    }

    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_else(|| panic!("no id in {}", self.body)).to_owned()
    }
}

/// A fresh database of the test's own on `backend`, with nothing in it (gone when the guard is
/// dropped); `None` for PostgreSQL when no test server is configured.
pub(crate) fn empty_database(backend: Backend) -> Option<(DatabaseUrl, DbGuard)> {
    Some(match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("tongxing-test-{}.db", uuid::Uuid::new_v4()));
            (DatabaseUrl::Sqlite(path.display().to_string()), DbGuard::Sqlite(path))
        }
        Backend::Postgres => {
            let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
                assert!(
                    std::env::var_os(REQUIRE_POSTGRES_ENV).is_none(),
                    "{REQUIRE_POSTGRES_ENV} is set but {POSTGRES_ENV} is not"
                );
                eprintln!("{POSTGRES_ENV} is not set: PostgreSQL test skipped");
                return None;
            };
            let admin_url = without_tls(admin_url);
            let name = format!("tongxing_test_{}", uuid::Uuid::new_v4().simple());
            let mut c = PgConnection::establish(&admin_url).expect("connect to the PostgreSQL test server");
            diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                .execute(&mut c)
                .expect("create test database");
            let (head, tail) = admin_url.rsplit_once('/').expect("the URL names a database");
            let query = tail.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
            let db_url = format!("{head}/{name}{query}");
            (DatabaseUrl::Postgres(db_url), DbGuard::Postgres { admin_url, name })
        }
    })
}

impl TestApp {
    /// A fresh service on `backend`, with an administrator signed in; `None` for PostgreSQL when
    /// no test server is configured.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, Setup::default()).await
    }

    /// The same, with `setup`.
    pub async fn spawn_with(backend: Backend, setup: Setup) -> Option<TestApp> {
        let (url, guard) = empty_database(backend)?;
        let mut app = Self::serve(url, std::sync::Arc::new(guard), setup).await;
        app.add_user("admin", Role::Admin, ADMIN_PASSWORD).await;
        app.token = app.login("admin", ADMIN_PASSWORD).await;
        Some(app)
    }

    /// A second instance of the service over the same database, with its own pool, caches and
    /// port, as a second node behind a load balancer; the administrator's token works on both.
    pub async fn another_instance(&self) -> TestApp {
        let mut other = Self::serve(self.url.clone(), self._db.clone(), self.setup.clone()).await;
        other.token = self.token.clone();
        other
    }

    async fn serve(url: DatabaseUrl, guard: std::sync::Arc<DbGuard>, setup: Setup) -> TestApp {
        let options = tongxing::Options {
            signing_key: Some(TEST_SIGNING_KEY.into()),
            client_rate_limit: setup.client_rate_limit,
            idempotency_window: setup.idempotency_window,
            trusted_proxies: tongxing_api::client_address::TrustedProxies::parse(setup.trusted_proxies)
                .expect("trusted proxies"),
            replica_url: setup.replica.clone(),
            ..tongxing::Options::default()
        };
        let prepared = url.clone();
        let state = web_block(move || tongxing::prepare(&prepared, &options)).await.expect("prepare");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let serving = tongxing::Serving {
            max_body_bytes: 64 * 1024,
            body_timeout: setup.body_timeout,
            workers: 2,
            cors_origins: vec![CORS_ORIGIN.into()],
        };
        let server = tongxing::start(listener, state.clone(), serving).expect("start");
        actix_web::rt::spawn(server);
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            client: awc::Client::builder().timeout(std::time::Duration::from_secs(30)).finish(),
            token: String::new(),
            state,
            url,
            setup,
            _db: guard,
        }
    }

    /// Creates a user directly in the store (the way `create-admin` does).
    pub async fn add_user(&self, username: &str, role: Role, password: &str) -> String {
        self.add_user_in(username, role, password, None, None).await
    }

    /// Creates a user of an organisation and, for coordinators, a region.
    pub async fn add_user_in(
        &self,
        username: &str,
        role: Role,
        password: &str,
        organisation: Option<&str>,
        region: Option<&str>,
    ) -> String {
        let db = self.state.db.clone();
        let input = tongxing_api::auth::users::UserInput {
            id: None,
            username: username.to_owned(),
            display_name: username.to_owned(),
            role,
            organisation_id: organisation.map(|o| o.parse().expect("organisation id")),
            region_id: region.map(|r| r.parse().expect("region id")),
            password: password.to_owned(),
        };
        web_block(move || {
            let mut conn = db.conn().map_err(|e| e.to_string())?;
            tongxing_api::auth::users::create(&mut conn, input)
                .map(|u| u.id.to_string())
                .map_err(|e| e.to_string())
        })
        .await
        .expect("create user")
    }
}

/// Signs `claims` with the test service's key, as a token of its own would be.
pub fn sign_test_token(claims: &Value) -> String {
    let key = tongxing_api::auth::keys::parse_configured(TEST_SIGNING_KEY).expect("test key");
    sign_with(&key, claims)
}

/// Signs `claims` with `key` (EdDSA, with its `kid`).
pub fn sign_with(key: &tongxing_api::auth::tokens::StoredKey, claims: &Value) -> String {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD.decode(&key.private_key).expect("der");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_ed_der(&der)).expect("sign")
}

impl TestApp {
    pub async fn login(&self, username: &str, password: &str) -> String {
        let r = self
            .send(
                "POST",
                "/api/v1/auth/token",
                None,
                Some(json!({"grant_type": "password", "username": username, "password": password})),
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "login failed: {}", r.body);
        r.body["access_token"].as_str().expect("access token").to_owned()
    }

    /// Sends a request. `token` None means the administrator's; pass `Some("")` for none.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let raw = body.map(|b| serde_json::to_vec(&b).expect("json"));
        self.send_raw(method, path, token, raw.map(|r| ("application/json", r)), headers).await
    }

    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let method_name = method;
        let method = awc::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        let token = token.unwrap_or(&self.token);
        if !token.is_empty() {
            req = req.insert_header(("authorization", format!("Bearer {token}")));
        }
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some((content_type, bytes)) => {
                req.insert_header(("content-type", content_type)).send_body(bytes).await
            }
            None => req.send().await,
        }
        .expect("request sent");
        let raw = res.body().limit(16 * 1024 * 1024).await.expect("body").to_vec();
        let content_type = res.headers().get("content-type").and_then(|v| v.to_str().ok());
        // Every answer is held against the contract before the test sees it.
        crate::contract::check(method_name, path, res.status().as_u16(), content_type, &raw);
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Resp { status: res.status(), headers: res.headers().clone(), body, raw }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send("POST", path, None, Some(body), &[]).await
    }

    /// The id of a reference region by its Chinese name.
    pub async fn region(&self, name: &str) -> String {
        let r = self.get(&format!("/api/v1/regions?q={}", urlencode(name))).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["name"] == name))
            .and_then(|i| i["id"].as_str())
            .unwrap_or_else(|| panic!("no region {name}"))
            .to_owned()
    }

    /// Counts the rows of a table, to prove that a refused request wrote nothing.
    /// Adds the National Day holiday of [`visit_year`] to the calendar (once): home visits are
    /// requested and approved before they happen, so tests plan them into a holiday ahead.
    pub async fn plan_visits_ahead(&self) {
        let y = visit_year();
        let r = self
            .post(
                "/api/v1/holidays",
                json!({"year": y, "holiday": "national_day", "first_day": format!("{y}-10-01"), "last_day": format!("{y}-10-07")}),
            )
            .await;
        assert!(r.status == 201 || r.status == 409, "holiday ahead: {} {}", r.status, r.body);
    }

    /// Lets time pass for a home visit planned ahead: its days become the same days and hours
    /// of the 2024 National Day holiday, as if the request had been made and decided before
    /// then. Nothing else of the request changes, just as nothing else would while waiting.
    pub async fn visit_took_place(&self, id: &str) {
        let db = self.state.db.clone();
        let (id, year) = (id.to_owned(), visit_year());
        web_block(move || {
            let mut conn = db.conn().map_err(|e| e.to_string())?;
            #[derive(diesel::QueryableByName)]
            struct Days {
                #[diesel(sql_type = diesel::sql_types::Timestamp)]
                leaves_at: chrono::NaiveDateTime,
                #[diesel(sql_type = diesel::sql_types::Timestamp)]
                returns_at: chrono::NaiveDateTime,
            }
            let d: Days = diesel::sql_query(format!(
                "SELECT leaves_at, returns_at FROM home_visit_requests WHERE id = '{id}'"
            ))
            .get_result(&mut *conn)
            .map_err(|e| e.to_string())?;
            let back = |t: chrono::NaiveDateTime| {
                use chrono::Datelike;
                t.with_year(t.year() - (year - 2024)).expect("a day of 2024").format("%Y-%m-%d %H:%M:%S").to_string()
            };
            diesel::sql_query(format!(
                "UPDATE home_visit_requests SET leaves_at = '{}', returns_at = '{}', \
                 holiday_id = (SELECT h.id FROM holidays h WHERE h.year = 2024 AND h.holiday = 'national_day') \
                 WHERE id = '{id}'",
                back(d.leaves_at),
                back(d.returns_at)
            ))
            .execute(&mut *conn)
            .map(|_| ())
            .map_err(|e| e.to_string())
        })
        .await
        .expect("visit took place")
    }

    pub async fn count(&self, table: &'static str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let db = self.state.db.clone();
        web_block(move || {
            let mut conn = db.conn().map_err(|e| e.to_string())?;
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
                .get_result::<N>(&mut *conn)
                .map(|r| r.n)
                .map_err(|e| e.to_string())
        })
        .await
        .expect("count")
    }

    pub async fn counts(&self) -> Vec<i64> {
        let mut out = Vec::new();
        for t in [
            "households",
            "guardians",
            "children",
            "assessments",
            "contacts",
            "consents",
            "idempotency_keys",
            "regions",
            "users",
        ] {
            out.push(self.count(t).await);
        }
        out
    }
}

impl TestApp {
    /// The content of every table but the audit log (and its partitions), one text per table (rows sorted), to prove
    /// that a refused request changed no row of any table, not only that it added none.
    pub async fn tables(&self) -> Vec<(String, String)> {
        #[derive(diesel::QueryableByName)]
        struct V {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        let db = self.state.db.clone();
        web_block(move || {
            let mut conn = db.conn().map_err(|e| e.to_string())?;
            let conn = &mut *conn;
            let texts = |conn: &mut tongxing_store::DbConnection, sql: &str| {
                diesel::sql_query(sql)
                    .load::<V>(conn)
                    .map(|rows| rows.into_iter().map(|r| r.v).collect::<Vec<_>>())
                    .map_err(|e| format!("{sql}: {e}"))
            };
            let postgres = conn.backend() == tongxing_store::conn::Backend::Postgres;
            let names = if postgres {
                texts(
                    conn,
                    "SELECT tablename::text AS v FROM pg_tables WHERE schemaname = 'public' \
                     AND tablename NOT LIKE '\\_\\_%' ESCAPE '\\' ORDER BY tablename",
                )?
            } else {
                texts(
                    conn,
                    "SELECT name AS v FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' \
                     ESCAPE '\\' AND name NOT LIKE '\\_\\_%' ESCAPE '\\' ORDER BY name",
                )?
            };
            let mut out = Vec::new();
            // The audit log, and on PostgreSQL its monthly partitions.
            for table in names.into_iter().filter(|t| !t.starts_with("audit_log")) {
                let sql = if postgres {
                    format!(
                        "SELECT COALESCE(string_agg(x::text, E'\\n' ORDER BY x::text), '') AS v FROM \"{table}\" x"
                    )
                } else {
                    let columns = texts(conn, &format!("SELECT name AS v FROM pragma_table_info('{table}')"))?;
                    let row: Vec<String> = columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
                    format!(
                        "SELECT COALESCE(group_concat(r, char(10)), '') AS v FROM \
                         (SELECT {} AS r FROM \"{table}\" ORDER BY r)",
                        row.join(" || '|' || ")
                    )
                };
                let content = texts(conn, &sql)?.pop().unwrap_or_default();
                out.push((table, content));
            }
            Ok(out)
        })
        .await
        .expect("table contents")
    }
}

/// The year whose National Day holiday home-visit tests plan into: two years on, so that a
/// request's departure is always ahead (see [`TestApp::plan_visits_ahead`]).
pub fn visit_year() -> i32 {
    use chrono::Datelike;
    chrono::Utc::now().year() + 2
}

/// A time of the 2024 National Day holiday moved to the same time of [`visit_year`]'s, e.g.
/// `ahead("2024-10-02T09:00:00+08:00")`.
pub fn ahead(at: &str) -> String {
    at.replacen("2024-", &format!("{}-", visit_year()), 1)
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The test server is on loopback, so its connections go without TLS unless the URL asks for
/// it: libpq then leaves OpenSSL alone, and no pool thread can be inside a TLS handshake when
/// the test process exits and OpenSSL cleans up behind it. (A SIGSEGV after all tests had
/// passed was seen once, while every test's pool was still kept alive, reconnecting to its
/// dropped database, by the hourly statistics thread; that thread now ends with the pool.)
fn without_tls(url: String) -> String {
    if url.contains("sslmode=") {
        return url;
    }
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}sslmode=disable")
}

pub async fn web_block<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    actix_web::web::block(f).await.map_err(|e| e.to_string())?
}

/// Runs an async test scenario on SQLite, and on PostgreSQL when configured; then scans the
/// audit log the scenario left for values it must never hold (`audit_scan`). With
/// `setup = function;` first, the service is started with that function's [`Setup`].
#[macro_export]
macro_rules! on_both_backends {
    (setup = $setup:ident; $($scenario:ident),+ $(,)?) => {
        $crate::on_both_backends!(@spawn super::$setup(); $($scenario),+);
    };
    ($($scenario:ident),+ $(,)?) => {
        $crate::on_both_backends!(@spawn $crate::helpers::Setup::default(); $($scenario),+);
    };
    (@spawn $setup:expr; $($scenario:ident),+) => {
        $(
            mod $scenario {
                #[actix_web::test]
                async fn sqlite() {
                    let backend = $crate::helpers::Backend::Sqlite;
                    let app = $crate::helpers::TestApp::spawn_with(backend, $setup).await.expect("sqlite app");
                    let audit = $crate::audit_scan::AuditScan::of(&app);
                    super::$scenario(app).await;
                    audit.assert_clean().await;
                }

                #[actix_web::test]
                async fn postgres() {
                    let backend = $crate::helpers::Backend::Postgres;
                    if let Some(app) = $crate::helpers::TestApp::spawn_with(backend, $setup).await {
                        let audit = $crate::audit_scan::AuditScan::of(&app);
                        super::$scenario(app).await;
                        audit.assert_clean().await;
                    }
                }
            }
        )+
    };
}
