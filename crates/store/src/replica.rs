//! A streaming replica of the PostgreSQL primary for the heavy reads (reports, their exports and
//! the alert list), used only while it is fresh enough.
//!
//! How fresh it is comes from a heartbeat, not from the replica's own replay timestamp (which
//! grows on an idle primary, when the replica is in fact up to date): every second, the node
//! writes the primary's time into the one row of `replica_heartbeat` on the primary, and reads
//! that row back from the replica. The replica holds every commit made before the time it reads
//! there, so that time is what its answers are "as of", and the replica's lag is the primary's
//! time now less that one: both on the primary's clock, whatever the nodes' clocks say.
//! A replica whose lag is over the limit, or that does not answer, is not used until a probe
//! finds it fresh again; each change is logged once.

use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use tongxing_core::time;

use crate::conn::{DatabaseUrl, Db, DbConnection};
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
    /// The heartbeat the replica holds: it has replayed every commit made before it (the
    /// primary's clock).
    as_of: Option<DateTime<Utc>>,
    /// How far behind the primary the replica was at the probe (both times on the primary's
    /// clock), and when the probe was (this node's monotonic clock).
    lag: Option<(chrono::Duration, Instant)>,
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

/// The most a replica may lag and still be read: beyond a minute, a change of who may see a
/// child (a case moved, a pairing ended) would wait too long to reach the reports.
pub const MAX_LAG_LIMIT: Duration = Duration::from_secs(60);

/// libpq settings for the replica's connections, unless its URL sets them: a replica that is
/// gone without a word (no TCP reset) is found out in seconds, not in the system's quarter of
/// an hour, and a report never runs there for more than a minute.
const REPLICA_SETTINGS: [(&str, &str); 6] = [
    ("connect_timeout", "2"),
    ("keepalives", "1"),
    ("keepalives_idle", "5"),
    ("keepalives_interval", "2"),
    ("keepalives_count", "3"),
    ("options", "-c%20statement_timeout%3D60000"),
];

/// `url` with [`REPLICA_SETTINGS`] it does not set already.
fn with_settings(url: &str) -> String {
    let mut out = url.to_owned();
    for (key, value) in REPLICA_SETTINGS {
        let set = url.split(['?', '&']).skip(1).any(|p| p.split('=').next() == Some(key));
        if !set {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str(&format!("{key}={value}"));
        }
    }
    out
}

impl Replica {
    /// A replica at `url` of the `primary`, used while its lag is at most `max_lag` (at most
    /// [`MAX_LAG_LIMIT`]). Starting does not need the replica to be up: until a probe reaches
    /// it, reads go to the primary.
    pub fn start(
        primary: &DatabaseUrl,
        url: &DatabaseUrl,
        max_lag: Duration,
        pool_size: u32,
    ) -> std::result::Result<Replica, String> {
        let (DatabaseUrl::Postgres(_), DatabaseUrl::Postgres(replica)) = (primary, url) else {
            return Err("a read replica needs PostgreSQL, for the primary and the replica".into());
        };
        if max_lag > MAX_LAG_LIMIT || max_lag.is_zero() {
            return Err(format!("the replica's lag limit must be 1 to {} seconds", MAX_LAG_LIMIT.as_secs()));
        }
        let max_lag = chrono::Duration::from_std(max_lag).map_err(|e| e.to_string())?;
        let url = DatabaseUrl::Postgres(with_settings(replica));
        let db = Db::connect_lazy(&url, pool_size)?;
        let seen = Arc::new(Mutex::new(Seen { as_of: None, lag: None, up: false }));
        let (stop, stopped) = mpsc::channel::<()>();
        let mut probe = Probe {
            primary_url: primary.clone(),
            replica_url: url,
            primary: None,
            replica: None,
            max_lag,
            seen: seen.clone(),
        };
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

    /// When the replica is fresh now: the time its data is as of; otherwise why not. The lag is
    /// the last probe's, grown by the time since it (a probe that hangs does not keep a stale
    /// replica fresh).
    pub fn fresh(&self) -> std::result::Result<DateTime<Utc>, Fallback> {
        let seen = *self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen {
            Seen { up: false, .. } => Err(Fallback::Down),
            Seen { as_of: Some(at), lag: Some((lag, probed)), .. } => {
                let now_lag =
                    lag + chrono::Duration::from_std(probed.elapsed()).unwrap_or(chrono::Duration::MAX);
                if now_lag <= self.max_lag { Ok(at) } else { Err(Fallback::Lagging) }
            }
            _ => Err(Fallback::Lagging),
        }
    }

    /// The replica's lag as of its last probe; `None` while it does not answer.
    pub fn lag(&self) -> Option<chrono::Duration> {
        let seen = *self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match seen {
            Seen { up: true, lag: Some((lag, probed)), .. } => {
                Some(lag + chrono::Duration::from_std(probed.elapsed()).unwrap_or(chrono::Duration::MAX))
            }
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

/// The probe keeps connections of its own to both databases (not the pools', which busy
/// reports may hold): its heartbeat and its reading never wait behind the work it judges.
struct Probe {
    primary_url: DatabaseUrl,
    replica_url: DatabaseUrl,
    primary: Option<DbConnection>,
    replica: Option<DbConnection>,
    max_lag: chrono::Duration,
    seen: Arc<Mutex<Seen>>,
}

#[derive(QueryableByName)]
struct Beat {
    #[diesel(sql_type = diesel::sql_types::Timestamp)]
    at: chrono::NaiveDateTime,
}

/// Runs `query` on the connection in `slot`, opening it first when there is none; a failed
/// query drops the connection, to be opened afresh next time.
fn on<T>(
    slot: &mut Option<DbConnection>,
    url: &DatabaseUrl,
    query: impl FnOnce(&mut DbConnection) -> diesel::QueryResult<T>,
) -> std::result::Result<T, String> {
    if slot.is_none() {
        *slot = Some(url.connect().map_err(|e| e.to_string())?);
    }
    let conn = slot.as_mut().ok_or("no connection")?;
    let result = query(conn).map_err(|e| e.to_string());
    if result.is_err() {
        *slot = None;
    }
    result
}

impl Probe {
    /// Writes the heartbeat on the primary (its own clock's time), reads it back from the
    /// replica, measures the lag on the primary's clock, and logs a change of state (`last`,
    /// which it returns updated).
    fn once(&mut self, last: State) -> State {
        let beat = on(&mut self.primary, &self.primary_url, |c| {
            diesel::sql_query(
                "UPDATE replica_heartbeat SET at = now() AT TIME ZONE 'UTC' WHERE id = 1 RETURNING at",
            )
            .get_result::<Beat>(c)
        });
        let primary_now = match beat {
            Ok(b) => Some(time::from_db(b.at)),
            Err(e) => {
                if let Some(times) = HEARTBEAT_FAILURES.admit(&e) {
                    tracing::warn!(error = %e, times, "cannot write the replica heartbeat on the primary");
                }
                None
            }
        };
        let read = on(&mut self.replica, &self.replica_url, |c| {
            replica_heartbeat::table.find(1).select(replica_heartbeat::at).first::<chrono::NaiveDateTime>(c)
        });
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        match read {
            Ok(at) => {
                let at = time::from_db(at);
                // Without the primary's time (it is down), the last lag stands and grows.
                let lag = primary_now
                    .map(|now| ((now - at).max(chrono::Duration::zero()), Instant::now()))
                    .or(seen.lag);
                *seen = Seen { as_of: Some(at), lag, up: true };
                let lag = lag.map_or(chrono::Duration::MAX, |(l, _)| l);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_connections_give_up_on_a_silent_server() {
        let url = with_settings("postgres://u@replica/db");
        assert!(url.starts_with("postgres://u@replica/db?connect_timeout=2&keepalives=1&"), "{url}");
        assert!(url.contains("statement_timeout"), "{url}");
        // What the URL sets stays as it is.
        let url = with_settings("postgres://u@replica/db?sslmode=require&connect_timeout=9");
        assert!(url.contains("connect_timeout=9") && !url.contains("connect_timeout=2"), "{url}");
        assert!(url.contains("sslmode=require") && url.contains("&keepalives=1&"), "{url}");
    }
}
