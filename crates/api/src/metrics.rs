//! Request metrics in the Prometheus text format: counts and latency histograms by method,
//! route pattern (never the raw path, so ids do not explode the series) and status.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::state::Source;
use tongxing_store::replica::Fallback;

const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
    /// Writes answered without their audit entry in their own transaction (a defect; the
    /// guard appended the entry after the answer instead).
    audit_outside_transaction: AtomicU64,
    /// Reports and alert lists by where they were read, and for the primary, why.
    heavy_reads: Mutex<BTreeMap<(Source, Option<Fallback>), u64>>,
}

impl Metrics {
    pub fn audit_outside_transaction(&self) {
        self.audit_outside_transaction.fetch_add(1, Ordering::Relaxed);
    }

    /// How many writes were answered without their audit entry in their own transaction.
    pub fn audits_outside_transaction(&self) -> u64 {
        self.audit_outside_transaction.load(Ordering::Relaxed)
    }

    /// Counts a report or alert list read from `source`; `why` the primary, when it was.
    pub fn heavy_read(&self, source: Source, why: Option<Fallback>) {
        let Ok(mut map) = self.heavy_reads.lock() else { return };
        *map.entry((source, why)).or_default() += 1;
    }

    /// How many reports and alert lists were read from `source` (for `why`).
    pub fn heavy_reads(&self, source: Source, why: Option<Fallback>) -> u64 {
        self.heavy_reads.lock().map(|m| m.get(&(source, why)).copied().unwrap_or(0)).unwrap_or(0)
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut map) = self.series.lock() else { return };
        let s = map.entry((method.to_owned(), route.to_owned(), status)).or_default();
        s.count += 1;
        s.sum += seconds;
        for (i, le) in BUCKETS.iter().enumerate() {
            if seconds <= *le {
                s.buckets[i] += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(map) = self.series.lock() else { return out };
        out.push_str("# HELP tongxing_http_requests_total HTTP requests answered.\n");
        out.push_str("# TYPE tongxing_http_requests_total counter\n");
        for ((method, route, status), s) in map.iter() {
            let _ = writeln!(
                out,
                "tongxing_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                s.count
            );
        }
        out.push_str(
            "# HELP tongxing_audit_outside_transaction_total Writes answered without their audit entry in their transaction.\n",
        );
        out.push_str("# TYPE tongxing_audit_outside_transaction_total counter\n");
        let _ =
            writeln!(out, "tongxing_audit_outside_transaction_total {}", self.audits_outside_transaction());
        out.push_str("# HELP tongxing_heavy_reads_total Reports and alert lists answered, by where they were read (and why the primary).\n");
        out.push_str("# TYPE tongxing_heavy_reads_total counter\n");
        if let Ok(reads) = self.heavy_reads.lock() {
            for ((source, why), n) in reads.iter() {
                let reason = why.map_or("", Fallback::as_str);
                let _ = writeln!(
                    out,
                    "tongxing_heavy_reads_total{{source=\"{}\",reason=\"{reason}\"}} {n}",
                    source.as_str()
                );
            }
        }
        out.push_str("# HELP tongxing_http_request_duration_seconds Time to answer HTTP requests.\n");
        out.push_str("# TYPE tongxing_http_request_duration_seconds histogram\n");
        for ((method, route, status), s) in map.iter() {
            let labels = format!("method=\"{method}\",route=\"{}\",status=\"{status}\"", escape(route));
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "tongxing_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "tongxing_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(out, "tongxing_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(out, "tongxing_http_request_duration_seconds_count{{{labels}}} {}", s.count);
        }
        out
    }
}

/// The metric label of a request method: the methods HTTP defines keep their names, and any
/// other is `OTHER`, so that invented methods cannot each add a series.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::TRACE, "TRACE"),
        (Method::CONNECT, "CONNECT"),
    ];
    KNOWN.iter().find(|(m, _)| m == method).map_or("OTHER", |(_, label)| label)
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe("GET", "/api/v1/children/{id}", 200, 0.003);
        m.observe("GET", "/api/v1/children/{id}", 200, 0.2);
        let text = m.render();
        assert!(text.contains(
            "tongxing_http_requests_total{method=\"GET\",route=\"/api/v1/children/{id}\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.25\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }

    #[test]
    fn invented_methods_share_one_label() {
        use actix_web::http::Method;
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for invented in ["FOO", "BREW", "get", "X-ANYTHING"] {
            assert_eq!(
                method_label(&Method::from_bytes(invented.as_bytes()).unwrap()),
                "OTHER",
                "{invented}"
            );
        }
    }
}
