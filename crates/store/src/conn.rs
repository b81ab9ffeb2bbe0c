//! One connection type over both backends, its pool, migrations and the transaction helper.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tongxing_core::{Error, Result};

use crate::error::{failed_within, map_db_error, note_failure};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// A connection to either backend. Queries written once with the diesel DSL run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgres(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Where the database is: a `postgres://` URL, or a SQLite file (`sqlite://path`, `sqlite:path`
/// or a plain path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> std::result::Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("is empty".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(raw.to_owned()));
        }
        let path = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")).unwrap_or(raw);
        if path.is_empty() || path.contains("://") {
            // The scheme only: the rest may hold a password.
            let scheme = raw.split("://").next().unwrap_or_default();
            return Err(format!("a `{scheme}://` URL is neither a postgres:// URL nor a SQLite file path"));
        }
        if path == ":memory:" {
            return Err("an in-memory SQLite database cannot be shared by the pool; give a file path".into());
        }
        Ok(DatabaseUrl::Sqlite(path.to_owned()))
    }

    pub fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Postgres(_) => Backend::Postgres,
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Opens one connection to the backend the URL names (never trying the other one).
    pub fn connect(&self) -> std::result::Result<DbConnection, ConnectionError> {
        match self {
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Postgres(PgConnection::establish(url)?)),
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(path).map_err(|e| with_os_cause(path, e))?;
                // WAL lets readers run beside the one writer; the busy timeout makes a writer wait
                // for the lock instead of failing (set first: switching to WAL takes a lock too,
                // which another process closing the file may hold for a moment); foreign keys
                // are off by default in SQLite.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(|e| with_os_cause(path, ConnectionError::BadConnection(e.to_string())))?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// SQLite says only "unable to open database file" when it cannot create the journal beside an
/// existing database (a read-only file system, a directory without write permission): the
/// operating system's answer to opening the file for writing names the cause.
fn with_os_cause(path: &str, e: ConnectionError) -> ConnectionError {
    let written = std::fs::OpenOptions::new().read(true).write(true).open(path);
    match (e, written) {
        (ConnectionError::BadConnection(message), Err(os)) if std::path::Path::new(path).exists() => {
            ConnectionError::BadConnection(format!("{message} ({path} cannot be written: {os})"))
        }
        (e, _) => e,
    }
}

/// Opens connections for the pool, and remembers whether the last attempt failed: then the
/// database is down, and waiting for a connection is pointless.
pub struct Manager {
    url: DatabaseUrl,
    down: Arc<AtomicBool>,
    /// Whether a failed connect marks the database as failing (the primary's pool; not a
    /// replica's, whose outages must not make the primary's connections be probed).
    notes_failures: bool,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> std::result::Result<DbConnection, ConnectionError> {
        let result = self.url.connect();
        self.down.store(result.is_err(), Ordering::Relaxed);
        if result.is_err() && self.notes_failures {
            note_failure();
        }
        result
    }

    /// Runs before a connection is handed out. A server connection can be cut while it sits in
    /// the pool (a restart, a failover); it is probed with a round trip, but only within
    /// [`PROBE_WINDOW`] of a database failure, when the pool may hold dead connections and
    /// should drop them rather than hand them out. A probe on every checkout cost a round
    /// trip per request: 19% of the service's CPU time on a record read (perf). Outside the
    /// window, a connection cut without warning fails its next query, which opens the window.
    /// A SQLite connection is an open file of this process; it cannot be cut.
    fn is_valid(&self, conn: &mut DbConnection) -> std::result::Result<(), ConnectionError> {
        match conn {
            DbConnection::Postgres(_) if failed_within(PROBE_WINDOW) => {
                conn.batch_execute("SELECT 1").map_err(|e| ConnectionError::BadConnection(e.to_string()))
            }
            DbConnection::Postgres(_) | DbConnection::Sqlite(_) => Ok(()),
        }
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.is_broken()
    }
}

pub type PooledConn = r2d2::PooledConnection<Manager>;

/// The database: a pool of connections to one backend.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    down: Arc<AtomicBool>,
    /// Held by every clone; when the last one goes, the statistics thread stops
    /// ([`Db::keep_statistics`]).
    statistics: Option<Arc<mpsc::Sender<()>>>,
}

/// How long after a database failure pooled connections are probed before use.
const PROBE_WINDOW: Duration = Duration::from_secs(30);

/// How long a request waits for a free connection from a busy pool.
const POOL_WAIT: Duration = Duration::from_secs(5);
/// How often, while waiting, it looks whether the database has gone away.
const POOL_SLICE: Duration = Duration::from_millis(100);

impl Db {
    /// Connects once first so that a wrong URL or an unreachable server fails at once with the
    /// real error, then builds the pool.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> std::result::Result<Self, String> {
        url.connect()
            .map_err(|e| format!("cannot connect to the {} database: {e}", url.backend().as_str()))?;
        let down = Arc::new(AtomicBool::new(false));
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(POOL_WAIT)
            .error_handler(Box::new(r2d2::LoggingErrorHandler))
            .build(Manager { url: url.clone(), down: down.clone(), notes_failures: true })
            .map_err(|e| format!("cannot build the database pool: {e}"))?;
        Ok(Db { pool, backend: url.backend(), down, statistics: None })
    }

    /// A pool that opens its connections when first asked, for a database that may be down when
    /// the service starts (a read replica): no connection is kept idle, and failed connects are
    /// not logged here (the caller reports the database's state).
    pub fn connect_lazy(url: &DatabaseUrl, pool_size: u32) -> std::result::Result<Self, String> {
        let down = Arc::new(AtomicBool::new(false));
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            .connection_timeout(POOL_WAIT)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(Manager { url: url.clone(), down: down.clone(), notes_failures: false });
        Ok(Db { pool, backend: url.backend(), down, statistics: None })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The most connections the pool opens.
    pub fn pool_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// A connection from the pool. A busy pool is waited for up to [`POOL_WAIT`]; a database
    /// that refuses new connections fails the request at once (within [`POOL_SLICE`]), so that
    /// clients get their 503 and `Retry-After` instead of hanging through an outage. Either is
    /// `Unavailable`.
    pub fn conn(&self) -> Result<PooledConn> {
        let start = Instant::now();
        loop {
            match self.pool.get_timeout(POOL_SLICE) {
                Ok(conn) => return Ok(conn),
                Err(e) if self.down.load(Ordering::Relaxed) || start.elapsed() >= POOL_WAIT => {
                    return Err(Error::Unavailable { detail: format!("no database connection: {e}") });
                }
                Err(_) => {}
            }
        }
    }

    /// Applies every pending migration of this backend.
    pub fn migrate(&self) -> Result<Vec<String>> {
        let mut conn = self.conn()?;
        run_migrations(&mut conn)
    }

    /// Copies a SQLite database, online, into a new file at `to`: one consistent snapshot (a
    /// read transaction, so writes go on meanwhile and none after its start is in the copy),
    /// compacted, with every table, index and trigger. PostgreSQL has its own tools
    /// (`pg_basebackup` with WAL archiving, or `pg_dump`; see the README).
    pub fn backup_to(&self, to: &std::path::Path) -> std::result::Result<(), String> {
        if self.backend != Backend::Sqlite {
            return Err(
                "backup copies SQLite databases; back PostgreSQL up with pg_basebackup or pg_dump (README)"
                    .into(),
            );
        }
        let target = to.to_str().ok_or_else(|| format!("{} is not a UTF-8 path", to.display()))?;
        if target.starts_with("file:") {
            return Err(format!("{target}: give a plain path, not a URI"));
        }
        // Made here, new and readable by its owner only (it holds children's case files): no
        // existing file or link is followed or overwritten. VACUUM INTO writes into an empty file.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options.open(to).map_err(|e| format!("cannot create {target}: {e} (back up into a new file)"))?;
        let mut conn = self.conn().map_err(|e| e.to_string())?;
        let DbConnection::Sqlite(c) = &mut *conn else { unreachable!("the backend is SQLite") };
        let copied = diesel::sql_query("VACUUM INTO ?")
            .bind::<diesel::sql_types::Text, _>(target)
            .execute(c)
            .map(|_| ())
            .map_err(|e| format!("cannot back up into {target}: {e}"));
        if copied.is_err() {
            let _ = std::fs::remove_file(to);
        }
        copied
    }

    /// The migrations this database lacks.
    pub fn pending_migrations(&self) -> Result<Vec<String>> {
        pending_migrations(&mut *self.conn()?)
    }

    /// Keeps the query planner's statistics current. SQLite has none until `ANALYZE` has run,
    /// and without them it sorts every child of a town to page through them by id (50–70 ms at
    /// 120,000 children) instead of walking the primary key (about 1 ms). `PRAGMA optimize`
    /// analyses only the tables that need it (never analysed, or grown tenfold), in full: a
    /// sampled analysis (`analysis_limit`) misjudged the region index and kept the slow plan.
    /// PostgreSQL's autovacuum does this by itself.
    pub fn optimize(&self) -> Result<()> {
        analyse(&mut *self.conn()?)
    }

    /// Refreshes SQLite's statistics every `every` as the data grows, on a connection of its
    /// own (not the pool's, so that the thread never keeps the pool alive), until the last
    /// clone of this `Db` is dropped.
    pub fn keep_statistics(&mut self, url: &DatabaseUrl, every: Duration) -> std::result::Result<(), String> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let url = url.clone();
        std::thread::Builder::new()
            .name("db-statistics".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    let refreshed = url
                        .connect()
                        .map_err(|e| e.to_string())
                        .and_then(|mut c| analyse(&mut c).map_err(|e| e.to_string()));
                    if let Err(e) = refreshed {
                        tracing::warn!(error = %e, "could not refresh the query planner's statistics");
                    }
                }
            })
            .map_err(|e| format!("cannot start the statistics thread: {e}"))?;
        self.statistics = Some(Arc::new(stop));
        Ok(())
    }
}

fn analyse(conn: &mut DbConnection) -> Result<()> {
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute("PRAGMA optimize = 0x10002;").map_err(map_db_error)?;
    }
    Ok(())
}

/// The migrations this database lacks.
pub fn pending_migrations(conn: &mut DbConnection) -> Result<Vec<String>> {
    let pending = match conn {
        DbConnection::Postgres(c) => c
            .pending_migrations(POSTGRES_MIGRATIONS)
            .map(|list| list.iter().map(|m| m.name().version().to_string()).collect()),
        DbConnection::Sqlite(c) => c
            .pending_migrations(SQLITE_MIGRATIONS)
            .map(|list| list.iter().map(|m| m.name().version().to_string()).collect()),
    };
    pending.map_err(|e| Error::internal(format!("cannot read the applied migrations: {e}")))
}

/// The deployment-wide setup lock (migrations, reference data, signing keys), held until
/// dropped: nodes starting together, or `tongxing migrate` run from several places at once, set
/// the database up one after another, and each finds what the first did. On PostgreSQL it is a
/// session advisory lock on a connection of its own (not the pool's, which may have one
/// connection); on SQLite an exclusive lock on a file beside the database
/// (`<database>.setup-lock`), as processes sharing the file are on one machine.
pub enum SetupLock {
    Postgres(PgConnection),
    Sqlite(std::fs::File),
}

/// The advisory lock's key: "tongxing" in ASCII, as a number no other program is likely to use.
const SETUP_LOCK_KEY: i64 = 0x746f_6e67_7869_6e67;

impl SetupLock {
    pub fn acquire(url: &DatabaseUrl) -> std::result::Result<SetupLock, String> {
        match url {
            DatabaseUrl::Postgres(_) => {
                let mut c = match url.connect() {
                    Ok(DbConnection::Postgres(c)) => c,
                    Ok(DbConnection::Sqlite(_)) => unreachable!("a postgres:// URL"),
                    Err(e) => return Err(format!("cannot connect to take the setup lock: {e}")),
                };
                #[derive(QueryableByName)]
                struct Taken {
                    #[diesel(sql_type = diesel::sql_types::Bool)]
                    taken: bool,
                }
                let taken =
                    diesel::sql_query(format!("SELECT pg_try_advisory_lock({SETUP_LOCK_KEY}) AS taken"))
                        .get_result::<Taken>(&mut c)
                        .map_err(|e| format!("cannot take the setup lock: {e}"))?
                        .taken;
                if !taken {
                    // Said, so that a node held up by a long migration elsewhere is seen waiting.
                    tracing::info!("another node or job is setting the database up; waiting for it");
                    c.batch_execute(&format!("SELECT pg_advisory_lock({SETUP_LOCK_KEY})"))
                        .map_err(|e| format!("cannot take the setup lock: {e}"))?;
                }
                Ok(SetupLock::Postgres(c))
            }
            DatabaseUrl::Sqlite(path) => {
                let lock = format!("{path}.setup-lock");
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&lock)
                    .map_err(|e| format!("cannot open the setup lock {lock}: {e}"))?;
                file.lock().map_err(|e| format!("cannot take the setup lock {lock}: {e}"))?;
                Ok(SetupLock::Sqlite(file))
            }
        }
    }
}

impl Drop for SetupLock {
    fn drop(&mut self) {
        // Closing the session (or the file) releases it too; unlock at once all the same.
        let released = match self {
            SetupLock::Postgres(c) => c
                .batch_execute(&format!("SELECT pg_advisory_unlock({SETUP_LOCK_KEY})"))
                .map_err(|e| e.to_string()),
            SetupLock::Sqlite(file) => file.unlock().map_err(|e| e.to_string()),
        };
        if let Err(e) = released {
            tracing::warn!(error = %e, "could not release the setup lock; it goes with its connection");
        }
    }
}

pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>> {
    let applied = match conn {
        DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(versions),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(versions),
    };
    applied.map_err(|e| Error::internal(format!("migration failed: {e}")))
}

fn versions(v: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
    v.into_iter().map(|m| m.to_string()).collect()
}

/// Whether the database answers a trivial query (readiness).
pub fn ping(conn: &mut DbConnection) -> Result<()> {
    conn.batch_execute("SELECT 1")
        .map_err(|e| Error::Unavailable { detail: format!("the database does not answer: {e}") })
}

/// The one way to run a transaction. On SQLite it begins `IMMEDIATE`, taking the write lock at
/// once: a deferred transaction that reads and then writes could fail with `SQLITE_BUSY`
/// instead of waiting. Nested inside another transaction it is a savepoint. On any error
/// everything it did is rolled back.
pub fn transaction<T>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> Result<T>) -> Result<T> {
    let nested = <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .map_err(map_db_error)?
        .is_some();
    match conn {
        // Inside a transaction, diesel opens a savepoint.
        DbConnection::Sqlite(c) if !nested => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")
        }
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction(c),
        DbConnection::Postgres(c) => AnsiTransactionManager::begin_transaction(c),
    }
    .map_err(map_db_error)?;
    match f(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)
                .map_err(map_db_error)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) =
                <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)
            {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_name_their_backend() {
        assert_eq!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres("postgres://u@h/db".into())
        );
        assert_eq!(DatabaseUrl::parse("sqlite://a/b.db").unwrap(), DatabaseUrl::Sqlite("a/b.db".into()));
        assert_eq!(DatabaseUrl::parse("tongxing.db").unwrap(), DatabaseUrl::Sqlite("tongxing.db".into()));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("").is_err());
        assert!(DatabaseUrl::parse("sqlite::memory:").is_err());
    }
}
