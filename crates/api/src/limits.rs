//! Rate limits: API clients' requests, kept in memory per node (token buckets: a bucket holds
//! `capacity` tokens and refills evenly over `period`), and the settings of the login throttle,
//! whose state is in the database and shared by every node ([`crate::auth::throttle`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::throttle::Policy;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Buckets {
    capacity: f64,
    per_second: f64,
    map: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    pub fn new(capacity: u32, period: Duration) -> Buckets {
        let capacity = f64::from(capacity.max(1));
        Buckets {
            capacity,
            per_second: capacity / period.as_secs_f64().max(1.0),
            map: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, key: &str, f: impl FnOnce(&mut Bucket) -> T) -> T {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Forget the buckets that have refilled; they hold nothing.
            let (cap, rate) = (self.capacity, self.per_second);
            map.retain(|_, b| b.tokens + b.at.elapsed().as_secs_f64() * rate < cap);
        }
        let now = Instant::now();
        let b = map.entry(key.to_owned()).or_insert(Bucket { tokens: self.capacity, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * self.per_second).min(self.capacity);
        b.at = now;
        f(b)
    }

    fn wait(&self, tokens: f64) -> u32 {
        // Seconds until one token is back, rounded up.
        let secs = ((1.0 - tokens) / self.per_second).ceil().max(1.0);
        if secs >= f64::from(u32::MAX) { u32::MAX } else { secs as u32 }
    }

    /// Takes a token; `Err(seconds to wait)` when there is none.
    pub fn take(&self, key: &str) -> Result<(), u32> {
        self.with(key, |b| {
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                Ok(())
            } else {
                Err(self.wait(b.tokens))
            }
        })
    }
}

pub struct Limits {
    /// Requests per API client.
    pub clients: Buckets,
    /// Failed logins per network address and per username.
    pub login: Policy,
}

impl Limits {
    pub fn new(client_requests_per_minute: u32, login_failures_per_address: u32) -> Limits {
        Limits {
            clients: Buckets::new(client_requests_per_minute, Duration::from_secs(60)),
            login: Policy { failures_per_address: login_failures_per_address },
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::new(600, 20)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_says_how_long_to_wait() {
        let b = Buckets::new(3, Duration::from_secs(60));
        assert!(b.take("a").is_ok() && b.take("a").is_ok() && b.take("a").is_ok());
        let wait = b.take("a").unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(b.take("b").is_ok(), "buckets are per key");
    }
}
