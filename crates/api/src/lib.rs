//! The HTTP API: thin actix handlers over the domain crates, authentication, problem+json
//! errors, and the OpenAPI contract.

pub mod access;
pub mod api_v1;
pub use tongxing_accounts::audit;
pub mod auth;
pub mod body;
pub mod client_address;
pub mod deprecation;
pub mod doc;
mod examples;
pub mod extract;
pub mod guard;
pub mod i18n;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod problem;
pub mod routes;
pub mod security;
pub mod state;
mod validation;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tongxing_core::Code;
use utoipa_swagger_ui::SwaggerUi;

pub use doc::{ApiDoc, contract};
pub use state::AppState;

use crate::problem::ApiError;

/// Everything the service answers: the versioned API, operations endpoints, the spec and the
/// docs page. `max_body_bytes` bounds every request body.
pub fn configure(state: AppState, max_body_bytes: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(state))
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .app_data(web::PathConfig::default().error_handler(extract::path_error))
            .route("/docs/", web::get().to(docs_page))
            .route("/docs/index.html", web::get().to(docs_page))
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .url("/api/v1/openapi.json", doc::contract())
                    // No call to a validator elsewhere: the page asks nothing of a third party.
                    .config(utoipa_swagger_ui::Config::default().validator_url("none")),
            )
            .route("/docs", web::get().to(docs_redirect));
        endpoints(&mut utoipa_actix_web::service_config::ServiceConfig::new(cfg));
        cfg.default_service(web::to(not_found));
    }
}

/// Every endpoint, each registered once: the operations endpoints here, the versioned API behind
/// the guard in [`api_v1`], where each line gives the route, the entry in the contract (the
/// handler's `#[utoipa::path]`) and the access rule.
pub fn endpoints(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::ops::get_health)
        .service(routes::ops::get_readiness)
        .service(routes::ops::get_metrics)
        .service(routes::auth::get_jwks)
        .service(routes::oauth::get_oauth_metadata)
        .service(api_v1::register(
            utoipa_actix_web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(middleware::conditional))
                .wrap(actix_web::middleware::from_fn(guard::guard)),
        ));
}

/// The page's title in the browser: the service's, not the viewer's.
pub const DOCS_TITLE: &str = "Tongxing API";

/// The docs page: Swagger UI's own page (served from the binary), under the service's title.
async fn docs_page() -> HttpResponse {
    let config = std::sync::Arc::new(utoipa_swagger_ui::Config::from("/api/v1/openapi.json"));
    let page = utoipa_swagger_ui::serve("index.html", config).ok().flatten().map(|file| {
        String::from_utf8_lossy(&file.bytes)
            .replace("<title>Swagger UI</title>", &format!("<title>{DOCS_TITLE}</title>"))
    });
    match page {
        Some(page) => HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page),
        None => HttpResponse::NotFound().finish(),
    }
}

/// `/docs` is the docs page too: a permanent redirect to `/docs/`.
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((actix_web::http::header::LOCATION, "/docs/")).finish()
}

/// The paths outside `/api/v1`, each answering GET only.
const GET_ONLY: &[&str] =
    &["/healthz", "/readyz", "/metrics", "/.well-known/jwks.json", "/.well-known/oauth-authorization-server"];

/// No route matched: 405 for another method on a path that exists, 404 otherwise.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if GET_ONLY.contains(&path) {
        return Err(ApiError::method_not_allowed(path, req.method().as_str(), &["GET"]));
    }
    Err(ApiError::new(StatusCode::NOT_FOUND, Code::NoRoute, "no such endpoint"))
}
