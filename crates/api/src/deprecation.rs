//! Deprecated operations and how they say so (the versioning policy in the README): each keeps
//! working until its sunset, at least 12 months after it was deprecated, and every answer to it
//! carries `Deprecation` (RFC 9745, the date it was deprecated), `Sunset` (RFC 8594, the date it
//! may stop answering) and a `Link` to the operation that replaces it. The contract marks it
//! `deprecated` and says the same in its description (`doc.rs`).

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use chrono::{NaiveDate, TimeZone, Utc};

/// A deprecated operation: when it was deprecated, its sunset, and its successor.
#[derive(Debug, Clone, Copy)]
pub struct Deprecated {
    pub operation: &'static str,
    /// `YYYY-MM-DD`.
    pub on: &'static str,
    /// `YYYY-MM-DD`: at least 12 months after `on`.
    pub sunset: &'static str,
    /// The path of the operation that replaces it.
    pub successor: &'static str,
    pub why: &'static str,
}

/// Every deprecated operation of `/api/v1`.
pub const DEPRECATED: &[Deprecated] = &[
    Deprecated {
        operation: "create_token",
        on: "2026-12-03",
        sunset: "2027-12-31",
        successor: "/api/v1/oauth/token",
        why: "the standard OAuth 2.0 token endpoint takes the same JSON (and forms), for every grant",
    },
    Deprecated {
        operation: "create_client_token",
        on: "2026-12-03",
        sunset: "2027-12-31",
        successor: "/api/v1/oauth/token",
        why: "the standard OAuth 2.0 token endpoint takes the same JSON (and forms, and HTTP Basic)",
    },
    Deprecated {
        operation: "list_duplicate_reviews",
        on: "2026-12-03",
        sunset: "2027-12-31",
        successor: "/api/v1/duplicate-candidates",
        why: "the candidates' queue lists the same pairs and those found by the similarity rule, with their scores",
    },
    Deprecated {
        operation: "resolve_duplicate_review",
        on: "2026-12-03",
        sunset: "2027-12-31",
        successor: "/api/v1/duplicate-candidates/{id}/dismiss",
        why: "two children are dismissed with a reason; one child recorded twice is merged (`merge_child`), which settles the pair",
    },
];

pub fn of(operation: &str) -> Option<&'static Deprecated> {
    DEPRECATED.iter().find(|d| d.operation == operation)
}

fn midnight(date: &str) -> Option<chrono::DateTime<Utc>> {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?))
}

impl Deprecated {
    /// `Deprecation`, `Sunset` and `Link` as the answers carry them.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(on) = midnight(self.on) {
            out.push(("deprecation", format!("@{}", on.timestamp())));
        }
        if let Some(sunset) = midnight(self.sunset) {
            out.push(("sunset", sunset.format("%a, %d %b %Y %H:%M:%S GMT").to_string()));
        }
        out.push(("link", format!("<{}>; rel=\"successor-version\"", self.successor)));
        out
    }

    /// Adds the headers to an answer.
    pub fn state(&self, headers: &mut HeaderMap) {
        for (name, value) in self.headers() {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(HeaderName::from_static(name), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_deprecation_lives_a_year_and_names_a_successor() {
        for d in DEPRECATED {
            let (on, sunset) = (midnight(d.on).unwrap(), midnight(d.sunset).unwrap());
            assert!(sunset - on >= chrono::Duration::days(365), "{}: sunset within a year", d.operation);
            assert!(crate::access::rule_of(d.operation).is_some(), "{}: no such operation", d.operation);
            assert!(d.successor.starts_with("/api/v1/"), "{}", d.operation);
        }
        let headers = DEPRECATED[0].headers();
        assert_eq!(headers[0], ("deprecation", "@1796256000".to_owned()));
        assert_eq!(headers[1], ("sunset", "Fri, 31 Dec 2027 00:00:00 GMT".to_owned()));
    }
}
