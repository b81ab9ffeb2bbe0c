//! Operations endpoints outside `/api/v1` and the guard: liveness, readiness (the database
//! answers) and Prometheus metrics.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use utoipa::ToSchema;

use crate::problem::ApiResult;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when healthy.
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(
    tag = "operations", operation_id = "get_health",
    responses((status = 200, description = "The process is alive", body = Health)),
    security(())
)]
#[get("/healthz")]
pub async fn get_health() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok".into() })
}

/// Readiness: the database answers.
#[utoipa::path(
    tag = "operations", operation_id = "get_readiness",
    responses((status = 200, description = "Ready to serve", body = Health)),
    security(())
)]
#[get("/readyz")]
pub async fn get_readiness(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state.run(tongxing_store::conn::ping).await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok".into() }))
}

/// Prometheus metrics: request counts and latency histograms by route and status.
#[utoipa::path(
    tag = "operations", operation_id = "get_metrics",
    responses((status = 200, description = "Prometheus text exposition format", body = String, content_type = "text/plain")),
    security(())
)]
#[get("/metrics")]
pub async fn get_metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render())
}
