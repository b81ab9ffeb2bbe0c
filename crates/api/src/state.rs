//! What every handler shares: the database, the token keys, the audit log, the rate limits and
//! the metrics.

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::web;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tongxing_core::{Error, Result};
use tongxing_store::replica::{Fallback, Replica};
use tongxing_store::{Db, DbConnection, transaction};

use crate::audit::{AuditLog, AuditNote};
use crate::auth::extractor::Caller;
use crate::auth::keys;
use crate::auth::tokens::TokenKeys;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::problem::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub keys: Arc<TokenKeys>,
    pub audit: AuditLog,
    pub limits: Arc<Limits>,
    pub metrics: Arc<Metrics>,
    /// When the last completed load of the signing keys began; loads go one at a time.
    keys_loaded: Arc<Mutex<Instant>>,
    keys_loading: Arc<tokio::sync::Mutex<()>>,
    /// Turns for reports and the alert list: half the pool's connections ([`AppState::run_heavy`]).
    heavy: Arc<Semaphore>,
    /// Below how many children a report withholds a figure from callers who may not read them.
    pub small_cells: tongxing_reporting::suppression::Threshold,
    /// How long an `Idempotency-Key` and the answer it keeps live (24 h by default).
    pub idempotency_window: chrono::Duration,
    /// The language of problem answers to a request whose `Accept-Language` names none served
    /// (`TONGXING_DEFAULT_LANGUAGE`; Simplified Chinese unless configured).
    pub default_language: crate::i18n::Lang,
    /// The proxies whose forwarded client addresses are believed (`TONGXING_TRUSTED_PROXIES`).
    pub trusted_proxies: Arc<crate::client_address::TrustedProxies>,
    /// The read replica for reports and the alert list (`TONGXING_REPLICA_URL`), if any.
    pub replica: Option<Replica>,
    /// How large a register may be uploaded (`TONGXING_IMPORT_MAX_BYTES`, `_MAX_ROWS`).
    pub import_limits: tongxing_registers::sheet::Limits,
    /// Stops the thread that purges expired keys when the last clone of the state goes.
    _purger: Arc<mpsc::Sender<()>>,
}

/// How long an `Idempotency-Key` lives unless configured: a day, as clients retrying a request
/// across a bad network need, and no longer than the stored answer (which may name a child)
/// must be kept.
pub const IDEMPOTENCY_WINDOW_SECONDS: i64 = 86_400;

/// Deletes, now and then, the keys older than `window` and the answers they kept, and makes the
/// audit log's partitions of the coming months; stops when the sender `stop` returns is dropped.
fn start_purger(db: Db, window: chrono::Duration) -> mpsc::Sender<()> {
    let (stop, stopped) = mpsc::channel::<()>();
    // A quarter of the window, from a second to ten minutes.
    let every = window.to_std().map_or(Duration::from_secs(600), |w| {
        (w / 4).clamp(Duration::from_secs(1), Duration::from_secs(600))
    });
    let started = std::thread::Builder::new().name("idempotency-purge".into()).spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
            let purged = db.conn().and_then(|mut c| {
                tongxing_accounts::idempotency::purge(&mut c, tongxing_core::time::now() - window)
            });
            match purged {
                Ok(0) => {}
                Ok(n) => tracing::debug!(keys = n, "expired idempotency keys purged"),
                Err(e) => tracing::warn!(error = %e, "could not purge expired idempotency keys"),
            }
            // And the audit log's coming months have their partitions (PostgreSQL).
            if let Err(e) = db.conn().and_then(|mut c| tongxing_accounts::archive::prepare_partitions(&mut c))
            {
                tracing::warn!(error = %e, "could not make the audit log's coming partitions");
            }
            // Imports whose node stopped while checking or committing them (an hour without a
            // step; a check writes its progress every 250 rows).
            match db
                .conn()
                .and_then(|mut c| tongxing_registers::imports::recover(&mut c, chrono::Duration::hours(1)))
            {
                Ok(0) => {}
                Ok(n) => {
                    tracing::warn!(imports = n, "imports left unfinished by a stopped node were released")
                }
                Err(e) => tracing::warn!(error = %e, "could not release unfinished imports"),
            }
        }
    });
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the idempotency purge");
    }
    stop
}

/// Reads on the replica that failed, logged at a bounded rate.
static REPLICA_FAILURES: std::sync::LazyLock<tongxing_store::outage::LogLimiter> =
    std::sync::LazyLock::new(|| tongxing_store::outage::LogLimiter::new(Duration::from_secs(5)));

/// Where a heavy read was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    Primary,
    Replica,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Primary => "primary",
            Source::Replica => "replica",
        }
    }
}

/// What a heavy read found, where, and as of when: the primary's answers are as of the read's
/// start; the replica's as of the heartbeat it had replayed (see `tongxing_store::replica`).
#[derive(Debug)]
pub struct Served<T> {
    pub value: T,
    pub source: Source,
    pub as_of: chrono::DateTime<chrono::Utc>,
}

/// The headers that say where an answer was read and how fresh it is.
pub const DATA_SOURCE: &str = "x-data-source";
pub const DATA_AS_OF: &str = "x-data-as-of";

impl<T> Served<T> {
    /// Adds [`DATA_SOURCE`] and [`DATA_AS_OF`] to an answer.
    pub fn headers(&self, answer: &mut actix_web::HttpResponseBuilder) {
        answer
            .insert_header((DATA_SOURCE, self.source.as_str()))
            .insert_header((DATA_AS_OF, self.as_of.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)));
    }
}

/// How long a report or the alert list waits for its turn before it is refused.
const HEAVY_WAIT: Duration = Duration::from_secs(30);

/// A turn from `gate`, waiting at most `wait`; past that, 503 `busy` with Retry-After.
async fn turn(gate: &Arc<Semaphore>, wait: Duration) -> Result<OwnedSemaphorePermit, ApiError> {
    match tokio::time::timeout(wait, gate.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(ApiError::busy("too many reports are being computed; retry shortly", 5)),
    }
}

impl AppState {
    pub fn new(db: Db, keys: TokenKeys, limits: Limits) -> AppState {
        // Made now, so that the first login at an unknown username takes no longer than others.
        crate::auth::password::decoy_hash();
        let turns = usize::try_from(db.pool_size() / 2).unwrap_or(1).max(1);
        let db_for_purge = db.clone();
        AppState {
            audit: AuditLog::start(db.clone()),
            heavy: Arc::new(Semaphore::new(turns)),
            db,
            keys: Arc::new(keys),
            limits: Arc::new(limits),
            metrics: Arc::new(Metrics::default()),
            keys_loaded: Arc::new(Mutex::new(Instant::now())),
            keys_loading: Arc::default(),
            small_cells: tongxing_reporting::suppression::Threshold::default(),
            idempotency_window: chrono::Duration::seconds(IDEMPOTENCY_WINDOW_SECONDS),
            default_language: crate::i18n::Lang::ZhCn,
            trusted_proxies: Arc::default(),
            replica: None,
            import_limits: tongxing_registers::sheet::Limits::default(),
            _purger: Arc::new(start_purger(
                db_for_purge,
                chrono::Duration::seconds(IDEMPOTENCY_WINDOW_SECONDS),
            )),
        }
    }

    /// Sets how long an `Idempotency-Key` lives (`TONGXING_IDEMPOTENCY_WINDOW`, seconds).
    pub fn with_idempotency_window(mut self, seconds: i64) -> AppState {
        self.idempotency_window = chrono::Duration::seconds(seconds);
        // The purge of the default window stops as its sender is replaced.
        self._purger = Arc::new(start_purger(self.db.clone(), self.idempotency_window));
        self
    }

    /// Sets the language of problem answers when `Accept-Language` names none served.
    pub fn with_default_language(mut self, lang: crate::i18n::Lang) -> AppState {
        self.default_language = lang;
        self
    }

    /// Sets the proxies whose forwarded client addresses are believed.
    pub fn with_trusted_proxies(mut self, proxies: crate::client_address::TrustedProxies) -> AppState {
        self.trusted_proxies = Arc::new(proxies);
        self
    }

    /// Sends reports and the alert list to a read replica while it is fresh.
    pub fn with_import_limits(mut self, limits: tongxing_registers::sheet::Limits) -> AppState {
        self.import_limits = limits;
        self
    }

    pub fn with_replica(mut self, replica: Replica) -> AppState {
        self.replica = Some(replica);
        self
    }

    /// Sets the small-cell threshold of reports (`TONGXING_SMALL_CELL_THRESHOLD`).
    pub fn with_small_cell_threshold(mut self, n: u32) -> Result<AppState, String> {
        use tongxing_reporting::suppression::Threshold;
        self.small_cells = Threshold::new(n).ok_or_else(|| {
            format!("the small-cell threshold must be {} to {}", Threshold::MIN, Threshold::MAX)
        })?;
        Ok(self)
    }

    /// When the last completed load of the signing keys began.
    fn keys_loaded_at(&self) -> Instant {
        *self.keys_loaded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads the signing keys (the caller holds `keys_loading`: one load at a time).
    async fn load_keys(&self) -> Result<()> {
        let started = Instant::now();
        let ttl = self.keys.access_ttl_seconds;
        let loaded = self.run(move |conn| keys::load(conn, ttl)).await.map_err(|_| Error::Unavailable {
            detail: "the signing keys cannot be loaded right now".into(),
        })?;
        self.keys.replace(&loaded)?;
        *self.keys_loaded.lock().unwrap_or_else(|p| p.into_inner()) = started;
        Ok(())
    }

    /// Reloads the signing keys from the database unless they were loaded less than `max_age`
    /// ago: before signing (so a node does not go on signing with a key another node retired).
    pub async fn reload_keys(&self, max_age: Duration) -> Result<()> {
        if self.keys_loaded_at().elapsed() < max_age {
            return Ok(());
        }
        let _one = self.keys_loading.lock().await;
        if self.keys_loaded_at().elapsed() < max_age {
            return Ok(());
        }
        self.load_keys().await
    }

    /// After meeting a token whose key is unknown (another node may have rotated): makes sure a
    /// load that began after now completes, at most one every `interval` (tokens with invented
    /// key ids cannot make every request a query), waiting for it rather than refusing a token
    /// signed by a key made since the last one.
    pub async fn reload_keys_after(&self, interval: Duration) -> Result<()> {
        let arrived = Instant::now();
        if let Some(wait) = interval.checked_sub(self.keys_loaded_at().elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let _one = self.keys_loading.lock().await;
        if self.keys_loaded_at() >= arrived {
            return Ok(());
        }
        self.load_keys().await
    }

    /// Runs blocking database work off the async workers, with a pooled connection.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        let joined = web::block(move || {
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await;
        match joined {
            Ok(result) => result.map_err(ApiError::from),
            Err(e) => Err(Error::internal(format!("blocking task failed: {e}")).into()),
        }
    }

    /// Like [`AppState::run`], for a report or the alert list, which read a period's records:
    /// at most half the pool's connections compute them at once, so that a burst of them leaves
    /// the other half to ordinary requests. The others queue for their turn, up to
    /// [`HEAVY_WAIT`], and are then refused with 503 `busy`. A turn is held until the work ends,
    /// even if the client has gone.
    ///
    /// With a read replica configured, the work reads from the replica while it is fresh (its
    /// lag at most `TONGXING_REPLICA_MAX_LAG`), unless the caller wrote something in the last
    /// `TONGXING_REPLICA_MAX_LAG` before the replica's time (a transaction may commit after a
    /// later heartbeat): a caller sees their own writes. Otherwise, or when the work fails on
    /// the replica, it reads from the primary. The answer says which, and as of when.
    pub async fn run_heavy<T, F>(&self, caller: &Caller, f: F) -> Result<Served<T>, ApiError>
    where
        T: Send + 'static,
        F: Fn(&mut DbConnection) -> Result<T> + Send + Sync + 'static,
    {
        let permit = Arc::new(turn(&self.heavy, HEAVY_WAIT).await?);
        let f = Arc::new(f);
        let route = match &self.replica {
            None => Err(Fallback::None),
            Some(replica) => match replica.fresh() {
                Ok(as_of) => {
                    let (actor, since) = (caller.user_id, as_of - replica.max_lag());
                    match self.run(move |c| tongxing_accounts::audit::wrote_since(c, actor, since)).await {
                        Ok(false) => Ok((replica.db().clone(), as_of)),
                        Ok(true) => Err(Fallback::OwnWrite),
                        // Whether the caller wrote is not known: the primary answers.
                        Err(_) => Err(Fallback::Failed),
                    }
                }
                Err(why) => Err(why),
            },
        };
        let fallback = match route {
            Ok((db, as_of)) => {
                let (work, turn) = (f.clone(), permit.clone());
                let read = web::block(move || {
                    let _turn = turn;
                    let mut conn = db.conn()?;
                    work(&mut conn)
                })
                .await;
                match read {
                    Ok(Ok(value)) => {
                        self.metrics.heavy_read(Source::Replica, None);
                        return Ok(Served { value, source: Source::Replica, as_of });
                    }
                    // Done again on the primary: a database failure, or a record the replica
                    // may not hold yet (the primary answers the same when it is the caller's).
                    Ok(Err(e)) => {
                        if matches!(e, Error::Unavailable { .. } | Error::Internal(_))
                            && let Some(times) = REPLICA_FAILURES.admit(&e.to_string())
                        {
                            tracing::warn!(error = %e, times, "a read failed on the replica; done on the primary");
                        }
                        Fallback::Failed
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "a read on the replica did not finish; done on the primary");
                        Fallback::Failed
                    }
                }
            }
            Err(why) => why,
        };
        let as_of = tongxing_core::time::now();
        let value = self
            .run(move |conn| {
                let _turn = permit;
                f(conn)
            })
            .await?;
        self.metrics.heavy_read(Source::Primary, Some(fallback));
        Ok(Served { value, source: Source::Primary, as_of })
    }

    /// A write: like [`AppState::run`], inside one transaction, where `f` does the work and
    /// answers with what the audit log records of it. The caller's entries for the answer it
    /// will give (`status`) are inserted in the same transaction: the change and the trace of
    /// who made it commit together, or neither does.
    pub async fn write<T, F>(&self, caller: &Caller, status: StatusCode, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<(T, AuditNote)> + Send + 'static,
    {
        let who = caller.clone();
        let value = self
            .run(move |conn| {
                transaction(conn, |c| {
                    let (value, note) = f(c)?;
                    who.audit_in(c, note, status)?;
                    Ok(value)
                })
            })
            .await?;
        caller.audited();
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;
    use actix_web::http::StatusCode;

    use super::*;

    #[actix_web::test]
    async fn a_report_waits_for_its_turn_and_is_refused_when_none_comes() {
        let gate = Arc::new(Semaphore::new(1));
        let held = turn(&gate, Duration::from_millis(10)).await.expect("a free turn is taken");
        let refused = turn(&gate, Duration::from_millis(50)).await.expect_err("no turn comes");
        let answer = refused.error_response();
        assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("5"));
        let body = actix_web::body::to_bytes(answer.into_body()).await.expect("a body");
        let problem: serde_json::Value = serde_json::from_slice(&body).expect("problem+json");
        assert_eq!(problem["code"], "busy");
        // A turn freed while waiting is taken.
        let waiting = turn(&gate, Duration::from_secs(5));
        let release = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(held);
        };
        let (taken, ()) = tokio::join!(waiting, release);
        assert!(taken.is_ok());
    }
}
