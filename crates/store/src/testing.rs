//! Fresh databases for tests of the domain crates, on both backends, without HTTP (feature
//! `testing`; domain crates take it as a dev-dependency).
//!
//! Each [`TestDb`] is a database of its own: a SQLite file in the temporary directory, or a new
//! PostgreSQL database beside the one `TONGXING_TEST_POSTGRES_URL` names. It is removed (or
//! dropped) when the `TestDb` is. [`backends`] lists the backends a test should run on:
//! SQLite always, PostgreSQL when the URL is set. With `TONGXING_TEST_REQUIRE_POSTGRES` set
//! and no URL, it panics, so that CI cannot silently skip half of the tests.
//!
//! ```ignore
//! for backend in tongxing_store::testing::backends() {
//!     let db = TestDb::migrated(backend);
//!     let mut conn = db.conn();
//!     // insert fixtures with diesel, call the domain, assert
//! }
//! ```

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::Backend;
use crate::conn::{DatabaseUrl, Db, DbConnection, PooledConn};

/// The PostgreSQL server tests may create databases on (`postgres://user@host:port/db`).
pub const POSTGRES_ENV: &str = "TONGXING_TEST_POSTGRES_URL";
/// Set (by CI) so that a missing PostgreSQL fails the run instead of skipping half of it.
pub const REQUIRE_POSTGRES_ENV: &str = "TONGXING_TEST_REQUIRE_POSTGRES";

/// The backends to test on: SQLite, and PostgreSQL when [`POSTGRES_ENV`] is set.
///
/// # Panics
/// When [`REQUIRE_POSTGRES_ENV`] is set and [`POSTGRES_ENV`] is not.
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    if postgres_server().is_some() {
        all.push(Backend::Postgres);
    } else {
        eprintln!("{POSTGRES_ENV} is not set: PostgreSQL tests skipped");
    }
    all
}

/// The URL of the PostgreSQL test server, with TLS off unless it says otherwise.
fn postgres_server() -> Option<String> {
    match std::env::var(POSTGRES_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(without_tls(url)),
        _ => {
            assert!(
                std::env::var_os(REQUIRE_POSTGRES_ENV).is_none(),
                "{REQUIRE_POSTGRES_ENV} is set but {POSTGRES_ENV} is not"
            );
            None
        }
    }
}

fn without_tls(url: String) -> String {
    if url.contains("sslmode=") {
        return url;
    }
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}sslmode=disable")
}

/// A database of one test's own; gone when dropped.
pub struct TestDb {
    url: DatabaseUrl,
    db: Db,
    place: Place,
}

enum Place {
    Sqlite(std::path::PathBuf),
    Postgres { server: String, name: String },
}

impl TestDb {
    /// A fresh database on `backend` with every migration applied.
    ///
    /// # Panics
    /// When the database cannot be created or migrated, or `backend` is PostgreSQL and no
    /// server is configured (ask [`backends`] first).
    pub fn migrated(backend: Backend) -> TestDb {
        let db = TestDb::empty(backend);
        db.db.migrate().expect("migrate the test database");
        db
    }

    /// A fresh database on `backend` with nothing in it, not even the migrations.
    ///
    /// # Panics
    /// As [`TestDb::migrated`].
    pub fn empty(backend: Backend) -> TestDb {
        let unique = uuid::Uuid::new_v4().simple();
        let (url, place) = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("tongxing-store-test-{unique}.db"));
                (DatabaseUrl::Sqlite(path.display().to_string()), Place::Sqlite(path))
            }
            Backend::Postgres => {
                let server = postgres_server().expect("PostgreSQL tests need TONGXING_TEST_POSTGRES_URL");
                let name = format!("tongxing_test_{unique}");
                let mut c = PgConnection::establish(&server).expect("connect to the PostgreSQL test server");
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut c)
                    .expect("create the test database");
                let (head, tail) = server.rsplit_once('/').expect("the URL names a database");
                let query = tail.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
                (DatabaseUrl::Postgres(format!("{head}/{name}{query}")), Place::Postgres { server, name })
            }
        };
        let db = Db::connect(&url, 2).expect("connect to the test database");
        TestDb { url, db, place }
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The pool over this database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A connection from the pool.
    ///
    /// # Panics
    /// When none can be had.
    pub fn conn(&self) -> PooledConn {
        self.db.conn().expect("a connection to the test database")
    }

    /// A connection of its own, outside the pool.
    ///
    /// # Panics
    /// When it cannot be opened.
    pub fn connect(&self) -> DbConnection {
        self.url.connect().expect("connect to the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.place {
            Place::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Place::Postgres { server, name } => {
                if let Ok(mut c) = PgConnection::establish(server) {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut c);
                }
            }
        }
    }
}
