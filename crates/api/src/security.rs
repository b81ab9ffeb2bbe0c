//! Browser-facing protections: CORS for the origins the configuration allows (no others), and
//! security headers on every answer.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

/// Which browser origins may call the API (exact `scheme://host[:port]` matches).
#[derive(Debug, Clone, Default)]
pub struct CorsOrigins(pub Vec<String>);

const ALLOW_METHODS: &str = "GET, POST, PUT, OPTIONS";
const ALLOW_HEADERS: &str = "authorization, content-type, if-match, idempotency-key, x-request-id";
const EXPOSE_HEADERS: &str =
    "etag, retry-after, x-request-id, idempotent-replayed, location, ratelimit, ratelimit-policy";

pub async fn protect(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let allowed = origin.filter(|o| {
        req.app_data::<web::Data<CorsOrigins>>().is_some_and(|list| list.0.iter().any(|a| a == o))
    });
    let docs = req.path().starts_with("/docs");
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = if preflight {
        // A preflight is answered here; an origin not on the list gets no CORS headers, so the
        // browser refuses the request.
        let status = if allowed.is_some() { StatusCode::NO_CONTENT } else { StatusCode::FORBIDDEN };
        req.into_response(HttpResponse::build(status).finish()).map_into_right_body()
    } else {
        next.call(req).await?.map_into_left_body()
    };
    let h = res.headers_mut();
    if let Some(origin) = allowed.and_then(|o| HeaderValue::from_str(&o).ok()) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
        h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    h.append(header::VARY, HeaderValue::from_static("origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    if !docs {
        // The API answers JSON only; the documentation page needs its scripts and styles.
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
