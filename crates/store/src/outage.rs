//! Logging the causes of an outage at a bounded rate. While the database is down every request
//! meets the same cause; one line per request would flood the log (and the disk it may share
//! with the database) exactly when an operator reads it. A [`LogLimiter`] lets one line per
//! cause through per interval, and that line says how many of the same it stood for.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Causes remembered at most; beyond, the stalest are forgotten (a cause whose text varies
/// without end cannot grow the map).
const MAX_CAUSES: usize = 64;

pub struct LogLimiter {
    every: Duration,
    causes: Mutex<HashMap<String, Cause>>,
}

struct Cause {
    logged_at: Instant,
    /// Occurrences not logged since the last line.
    held: u64,
}

impl LogLimiter {
    /// At most one line per cause every `every`.
    pub fn new(every: Duration) -> LogLimiter {
        LogLimiter { every, causes: Mutex::new(HashMap::new()) }
    }

    /// Whether to log `cause` now; if so, how many occurrences of it the line stands for (this
    /// one and those held back since the last line).
    pub fn admit(&self, cause: &str) -> Option<u64> {
        self.admit_at(cause, Instant::now())
    }

    fn admit_at(&self, cause: &str, now: Instant) -> Option<u64> {
        let mut causes = self.causes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = causes.get_mut(cause) {
            if now.duration_since(c.logged_at) < self.every {
                c.held += 1;
                return None;
            }
            let count = c.held + 1;
            *c = Cause { logged_at: now, held: 0 };
            return Some(count);
        }
        if causes.len() >= MAX_CAUSES {
            let every = self.every;
            causes.retain(|_, c| now.duration_since(c.logged_at) < every);
            if causes.len() >= MAX_CAUSES
                && let Some(stalest) = causes.iter().min_by_key(|(_, c)| c.logged_at).map(|(k, _)| k.clone())
            {
                causes.remove(&stalest);
            }
        }
        causes.insert(cause.to_owned(), Cause { logged_at: now, held: 0 });
        Some(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_cause_per_interval_with_the_count_it_stands_for() {
        let limiter = LogLimiter::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(limiter.admit_at("down", t0), Some(1));
        for i in 1..=99 {
            assert_eq!(limiter.admit_at("down", t0 + Duration::from_millis(i * 5)), None);
        }
        // Another cause has its own line.
        assert_eq!(limiter.admit_at("disk full", t0 + Duration::from_millis(10)), Some(1));
        // A second later, one line for the 99 held back and this one.
        assert_eq!(limiter.admit_at("down", t0 + Duration::from_millis(1000)), Some(100));
        assert_eq!(limiter.admit_at("down", t0 + Duration::from_millis(1001)), None);
    }

    #[test]
    fn endless_distinct_causes_stay_bounded() {
        let limiter = LogLimiter::new(Duration::from_secs(1));
        let t0 = Instant::now();
        for i in 0..10_000 {
            assert_eq!(limiter.admit_at(&format!("cause {i}"), t0), Some(1));
        }
        assert!(limiter.causes.lock().unwrap().len() <= MAX_CAUSES);
    }
}
