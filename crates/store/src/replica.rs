//! A streaming replica of the PostgreSQL primary for the heavy reads (reports, their exports and
//! the alert list), used only while it is fresh enough.
//!
//! How fresh it is comes from a heartbeat, not from the replica's own replay timestamp (which
//! grows on an idle primary, when the replica is in fact up to date): every second, the node
//! writes the time into the one row of `replica_heartbeat` on the primary, and reads that row
//! back from the replica. The replica holds every commit made before the time it reads there,
//! so that time is what its answers are "as of", and the replica's lag is how long ago it was.
//! A replica whose lag is over the limit, or that does not answer, is not used until a probe
//! finds it fresh again; each change is logged once.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use tongxing_core::time;

use crate::conn::{Backend, DatabaseUrl, Db};
use crate::map_db_error;
use crate::schema::replica_heartbeat;

/// How often the heartbeat is written and read back.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

/// Why a heavy read went to the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fallback {
    /// No replica is configured.
    None,
    /// The replica's lag is over the limit.
    Lagging,
    /// The replica did not answer its last probe.
    Down,
    /// The caller wrote something the replica may not hold yet.
    OwnWrite,
    /// The read failed on the replica and was done again on the primary.
    Failed,
}

impl Fallback {
    pub fn as_str(self) -> &'static str {
        match self {
            Fallback::None => "not_configured",
            Fallback::Lagging => "lagging",
            Fallback::Down => "down",
            Fallback::OwnWrite => "own_write",
            Fallback::Failed => "failed",
        }
    }
}

/// What the last probe saw.
#[derive(Debug, Clone, Copy)]
struct Seen {
    /// The heartbeat the replica holds: it has replayed every commit made before it.
    as_of: Option<DateTime<Utc>>,
    /// Whether the replica answered.
    up: bool,
}

/// The replica, its pool, and the probe that keeps its freshness.
#[derive(Clone)]
pub struct Replica {
    db: Db,
    max_lag: chrono::Duration,
    seen: Arc<Mutex<Seen>>,
    /// Held by every clone; when the last one goes, the probe stops.
    _stop: Arc<mpsc::Sender<()>>,
}

impl Replica {
    /// A replica at `url` of the `primary`, used while its lag is at most `max_lag`. Starting does
    /// not need the replica to be up: until a probe reaches it, reads go to the primary.
    pub fn start(
        primary: Db,
        url: &DatabaseUrl,
        max_lag: Duration,
        pool_size: u32,
    ) -> std::result::Result<Replica, String> {
        if primary.backend() != Backend::Postgres || url.backend() != Backend::Postgres {
            return Err("a read replica needs PostgreSQL, for the primary and the replica".into());
        }
        let max_lag = chrono::Duration::from_std(max_lag).map_err(|e| e.to_string())?;
        let db = Db::connect_lazy(url, pool_size)?;
        let seen = Arc::new(Mutex::new(Seen { as_of: None, up: false }));
        let (stop, stopped) = mpsc::channel::<()>();
        let probe = Probe { primary, replica: db.clone(), max_lag, seen: seen.clone() };
        std::thread::Builder::new()
            .name("replica-probe".into())
            .spawn(move || {
                let mut last = State::Unknown;
                loop {
                    last = probe.once(last);
                    if !matches!(stopped.recv_timeout(PROBE_EVERY), Err(mpsc::RecvTimeoutError::Timeout)) {
                        return;
                    }
                }
            })
            .map_err(|e| format!("cannot start the replica probe: {e}"))?;
        Ok(Replica { db, max_lag, seen, _stop: Arc::new(stop) })
    }

    /// The replica's pool.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The longest lag at which the replica is used.
    pub fn max_lag(&self) -> chrono::Duration {
        self.max_lag
    }

    /// When the replica is fresh now: the time its data is as of; otherwise why not.
    pub fn fresh(&self) -> std::result::Result<DateTime<Utc>, Fallback> {
        let seen = *self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let now = time::now();
        match seen {
            Seen { up: false, .. } => Err(Fallback::Down),
            // Another node's clock may run a little ahead: never as of a time still to come.
            Seen { as_of: Some(at), .. } if now - at <= self.max_lag => Ok(at.min(now)),
            _ => Err(Fallback::Lagging),
        }
    }

    /// The replica's lag as of its last probe; `None` while it does not answer.
    pub fn lag(&self) -> Option<chrono::Duration> {
        let seen = *self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen {
            Seen { up: true, as_of: Some(at) } => Some((time::now() - at).max(chrono::Duration::zero())),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unknown,
    Fresh,
    Lagging,
    Down,
}

struct Probe {
    primary: Db,
    replica: Db,
    max_lag: chrono::Duration,
    seen: Arc<Mutex<Seen>>,
}

impl Probe {
    /// Writes the heartbeat on the primary, reads it back from the replica, and logs a change of
    /// state (`last`, which it returns updated).
    fn once(&self, last: State) -> State {
        let now = time::now();
        let beat = self.primary.conn().and_then(|mut c| {
            diesel::update(replica_heartbeat::table.find(1))
                .set(replica_heartbeat::at.eq(time::to_db(now)))
                .execute(&mut *c)
                .map_err(map_db_error)
        });
        if let Err(e) = beat
            && let Some(times) = HEARTBEAT_FAILURES.admit(&e.to_string())
        {
            tracing::warn!(error = %e, times, "cannot write the replica heartbeat on the primary");
        }
        let read = self.replica.conn().and_then(|mut c| {
            replica_heartbeat::table
                .find(1)
                .select(replica_heartbeat::at)
                .first::<chrono::NaiveDateTime>(&mut *c)
                // Not through `map_db_error`: a replica's failure is not the primary's.
                .map_err(|e| tongxing_core::Error::Unavailable { detail: e.to_string() })
        });
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match read {
            Ok(at) => {
                let at = time::from_db(at);
                *seen = Seen { as_of: Some(at), up: true };
                let lag = time::now() - at;
                let state = if lag <= self.max_lag { State::Fresh } else { State::Lagging };
                if state != last {
                    let lag_ms = lag.num_milliseconds();
                    match state {
                        State::Fresh => {
                            tracing::info!(lag_ms, "the read replica is fresh: heavy reads use it")
                        }
                        _ => tracing::warn!(
                            lag_ms,
                            max_lag_ms = self.max_lag.num_milliseconds(),
                            "the read replica lags: heavy reads use the primary"
                        ),
                    }
                }
                state
            }
            Err(e) => {
                seen.up = false;
                if last != State::Down {
                    tracing::warn!(error = %e, "the read replica does not answer: heavy reads use the primary");
                }
                State::Down
            }
        }
    }
}

/// Failed heartbeat writes (the primary is down: every request says so too), at a bounded rate.
static HEARTBEAT_FAILURES: std::sync::LazyLock<crate::outage::LogLimiter> =
    std::sync::LazyLock::new(|| crate::outage::LogLimiter::new(Duration::from_secs(60)));
