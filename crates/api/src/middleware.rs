//! Per-request plumbing: a request id (taken from `X-Request-Id` when the client sends a sane
//! one, else generated) returned in the response, one log line per request, and metrics; and
//! conditional and header-only reads (`If-None-Match`, `HEAD`).

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

pub const REQUEST_ID: &str = "x-request-id";

/// The request's id, in the request's extensions for the audit log.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The matched route, left in the request by the guard so that it is matched only once.
#[derive(Debug, Clone)]
pub struct RoutePattern(pub String);

/// The request id of `req`, as `observe` assigned it.
pub fn request_id(req: &actix_web::HttpRequest) -> Option<String> {
    use actix_web::HttpMessage;
    req.extensions().get::<RequestId>().map(|r| r.0.clone())
}

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    actix_web::HttpMessage::extensions_mut(&req).insert(RequestId(request_id.clone()));
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let method = req.method().to_string();
    let method_label = crate::metrics::method_label(req.method());
    let path = req.path().to_owned();
    let client = crate::client_address::of(req.request()).map(|a| a.to_string()).unwrap_or_default();
    let mut res = next.call(req).await?;
    let known = actix_web::HttpMessage::extensions(res.request()).get::<RoutePattern>().map(|r| r.0.clone());
    let route = known.or_else(|| res.request().match_pattern()).unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(HeaderName::from_static(REQUEST_ID), v);
    }
    if let Some(m) = metrics {
        m.observe(method_label, &route, status, elapsed.as_secs_f64());
    }
    tracing::info!(
        request_id = %request_id,
        method = %method,
        path = %path,
        route = %route,
        client = %client,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    Ok(res)
}

/// Header-only reads, for every route: `HEAD` is answered as the `GET` of the same route
/// (RFC 9110 9.3.2), with the same status and headers and no body (the connection leaves out the
/// body of an answer to `HEAD`).
pub async fn head(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Conditional reads, inside the guard (a request without credentials is 401 whatever its
/// `If-None-Match`): on a `GET` whose answer carries an `ETag`, when one of the client's tags
/// matches it (weak comparison, RFC 9110 13.1.2; `*` matches any), the answer is 304 Not
/// Modified with the `ETag` and the caching headers, and no body. An `If-None-Match` that is no
/// entity-tag list is 400 `invalid_if_none_match`, before the read.
pub async fn conditional<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let mut wanted = None;
    if req.method() == Method::GET
        && let Some(value) = req.headers().get(header::IF_NONE_MATCH)
    {
        match value.to_str().ok().and_then(entity_tags) {
            Some(tags) => wanted = Some(tags),
            None => {
                let refusal = crate::problem::ApiError::new(
                    StatusCode::BAD_REQUEST,
                    tongxing_core::Code::InvalidIfNoneMatch,
                    "If-None-Match must be `*` or a list of ETags as returned by reads, at most 200 characters",
                );
                return Ok(req.error_response(refusal).map_into_right_body());
            }
        }
    }
    let res = next.call(req).await?;
    let current = res.headers().get(header::ETAG).and_then(|v| v.to_str().ok()).and_then(entity_tags);
    if let (Some(wanted), Some(current)) = (wanted, current)
        && res.status() == StatusCode::OK
        && wanted.iter().any(|t| t == "*" || current.contains(t))
    {
        let mut not_modified = HttpResponse::NotModified();
        for name in
            [header::ETAG, header::CACHE_CONTROL, header::CONTENT_LOCATION, header::EXPIRES, header::VARY]
        {
            if let Some(v) = res.headers().get(&name) {
                not_modified.insert_header((name, v.clone()));
            }
        }
        let (req, _) = res.into_parts();
        return Ok(ServiceResponse::new(req, not_modified.finish()).map_into_right_body());
    }
    Ok(res.map_into_left_body())
}

/// The pattern of an entity-tag list, as the contract states it for `If-None-Match` and
/// [`entity_tags`] reads it: `*`, or `"…"` and `W/"…"` separated by commas, spaces around them.
pub const ENTITY_TAGS_PATTERN: &str = r#"^ *(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*) *$"#;

/// The opaque tags of an entity-tag list (RFC 9110 8.8.3), exactly as
/// [`ENTITY_TAGS_PATTERN`] describes it, at most 200 characters; `W/` set aside, since
/// `If-None-Match` compares weakly. An opaque tag may hold commas. `None` when it is not one.
fn entity_tags(value: &str) -> Option<Vec<String>> {
    if value.len() > 200 {
        return None;
    }
    let rest = value.trim_start_matches(' ');
    if rest.trim_end_matches(' ') == "*" {
        return Some(vec!["*".to_owned()]);
    }
    let mut tags = Vec::new();
    let mut rest = rest;
    loop {
        let quoted = rest.strip_prefix("W/").unwrap_or(rest).strip_prefix('"')?;
        // etagc: visible ASCII but the double quote.
        let end = quoted.find(|c: char| !(c == '!' || ('#'..='~').contains(&c)))?;
        if !quoted[end..].starts_with('"') {
            return None;
        }
        tags.push(quoted[..end].to_owned());
        rest = quoted[end + 1..].trim_start_matches(' ');
        if rest.is_empty() {
            return Some(tags);
        }
        rest = rest.strip_prefix(',')?.trim_start_matches(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::{ENTITY_TAGS_PATTERN, entity_tags};

    #[test]
    fn entity_tag_lists_are_read_weakly_and_checked() {
        let tags = |v: &str| entity_tags(v).map(|t| t.join("|"));
        assert_eq!(tags("\"3\"").as_deref(), Some("3"));
        assert_eq!(tags("W/\"3\"").as_deref(), Some("3"));
        assert_eq!(tags("\"1\", W/\"3\"").as_deref(), Some("1|3"));
        assert_eq!(tags(" * ").as_deref(), Some("*"));
        assert_eq!(tags("\"a,b\" ,W/\"c\"  ").as_deref(), Some("a,b|c"));
        assert_eq!(tags("\"\"").as_deref(), Some(""));
        for bad in
            ["3", "\"3", "\"a\"b\"", "*, \"3\"", "", "\"1\",", "\u{e9}", "\"1\"\"2\"", "\t\"1\"", "w/\"1\""]
        {
            assert_eq!(tags(bad), None, "{bad}");
        }
        assert_eq!(tags(&format!("\"{}\"", "1".repeat(199))), None);
    }

    /// The contract's pattern and the parser accept the same values: every string of up to six
    /// characters over an alphabet of the grammar's parts and its near misses.
    #[test]
    fn the_parser_reads_what_the_pattern_states() {
        let pattern = regex::Regex::new(ENTITY_TAGS_PATTERN).unwrap();
        let alphabet = [' ', '*', '"', 'W', '/', ',', 'a', '!', '\t'];
        let mut words = vec![String::new()];
        let mut checked = 0;
        for _ in 0..6 {
            words = words.iter().flat_map(|w| alphabet.iter().map(move |c| format!("{w}{c}"))).collect();
            for w in &words {
                assert_eq!(pattern.is_match(w), entity_tags(w).is_some(), "{w:?}");
                checked += 1;
            }
        }
        assert!(checked > 500_000);
    }
}
