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
    period: Duration,
    per_second: f64,
    map: Mutex<HashMap<String, Bucket>>,
}

impl Buckets {
    pub fn new(capacity: u32, period: Duration) -> Buckets {
        let capacity = f64::from(capacity.max(1));
        Buckets {
            capacity,
            period,
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

    /// Takes a token: the quota left after it, or `Err` with the quota when there is none
    /// (`reset` is then the seconds to wait for one).
    pub fn take(&self, key: &str) -> Result<Quota, Quota> {
        self.with(key, |b| {
            let taken = b.tokens >= 1.0;
            if taken {
                b.tokens -= 1.0;
            }
            let quota = Quota {
                limit: self.capacity as u32,
                window: self.period.as_secs(),
                remaining: b.tokens.floor() as u32,
                // Seconds until the bucket is full again, or until one token is back.
                reset: if taken {
                    ((self.capacity - b.tokens) / self.per_second).ceil() as u32
                } else {
                    self.wait(b.tokens)
                },
            };
            if taken { Ok(quota) } else { Err(quota) }
        })
    }
}

/// A client's request quota as the IETF draft `RateLimit` header fields state it
/// (draft-ietf-httpapi-ratelimit-headers): the policy (`q` requests per `w` seconds, refilled
/// evenly) and what is left of it (`r` requests, `t` seconds until it is whole again, or until
/// the next request is admitted when none is left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub window: u64,
    pub remaining: u32,
    pub reset: u32,
}

impl Quota {
    /// `RateLimit-Policy` and `RateLimit`.
    pub fn headers(&self) -> [(&'static str, String); 2] {
        [
            ("ratelimit-policy", format!("\"client\";q={};w={}", self.limit, self.window)),
            ("ratelimit", format!("\"client\";r={};t={}", self.remaining, self.reset)),
        ]
    }

    /// Adds `RateLimit-Policy` and `RateLimit` to an answer.
    pub fn state(&self, headers: &mut actix_web::http::header::HeaderMap) {
        use actix_web::http::header::{HeaderName, HeaderValue};
        for (name, value) in self.headers() {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        }
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
        let first = b.take("a").unwrap();
        assert_eq!((first.limit, first.window, first.remaining), (3, 60, 2));
        assert!((19..=21).contains(&first.reset), "{first:?}");
        assert!(b.take("a").is_ok() && b.take("a").is_ok());
        let refused = b.take("a").unwrap_err();
        assert_eq!(refused.remaining, 0);
        assert!((1..=20).contains(&refused.reset), "{refused:?}");
        assert_eq!(refused.headers()[1].1, format!("\"client\";r=0;t={}", refused.reset));
        assert_eq!(refused.headers()[0].1, "\"client\";q=3;w=60");
        assert!(b.take("b").is_ok(), "buckets are per key");
    }
}
