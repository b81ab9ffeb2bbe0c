//! Rate limits: partner API clients' requests ([`tongxing_accounts::quota`]) and failed logins
//! ([`crate::auth::throttle`]), both kept in the database and shared by every node.

use tongxing_accounts::quota::{self, Counted};

use crate::auth::throttle::Policy;

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
    /// A request's count against `policy`, as the headers state it.
    pub fn of(policy: quota::Policy, counted: Counted) -> Quota {
        Quota {
            limit: policy.requests,
            window: u64::from(policy.period_seconds),
            remaining: counted.remaining,
            reset: counted.reset,
        }
    }

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
    pub clients: quota::Policy,
    /// Failed logins per network address and per username.
    pub login: Policy,
}

impl Limits {
    pub fn new(client_requests_per_minute: u32, login_failures_per_address: u32) -> Limits {
        Limits {
            clients: quota::Policy { requests: client_requests_per_minute.max(1), period_seconds: 60 },
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
    fn the_headers_state_the_policy_and_what_is_left() {
        let policy = quota::Policy { requests: 3, period_seconds: 60 };
        let q = Quota::of(policy, Counted { admitted: false, remaining: 0, reset: 20 });
        assert_eq!(q.headers()[0].1, "\"client\";q=3;w=60");
        assert_eq!(q.headers()[1].1, "\"client\";r=0;t=20");
    }
}
