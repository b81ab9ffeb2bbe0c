//! Per-request plumbing: a request id (taken from `X-Request-Id` when the client sends a sane
//! one, else generated) returned in the response, one log line per request, and metrics.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

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
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        "request"
    );
    Ok(res)
}
