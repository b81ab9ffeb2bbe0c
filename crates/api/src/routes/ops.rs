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
    let mut text = state.metrics.render();
    if let Some(replica) = &state.replica {
        use std::fmt::Write;
        let lag = replica.lag();
        text.push_str("# HELP tongxing_replica_up Whether the read replica answered its last probe.\n");
        text.push_str("# TYPE tongxing_replica_up gauge\n");
        let _ = writeln!(text, "tongxing_replica_up {}", u8::from(lag.is_some()));
        text.push_str("# HELP tongxing_replica_lag_seconds How far the read replica is behind the primary (NaN while it does not answer).\n");
        text.push_str("# TYPE tongxing_replica_lag_seconds gauge\n");
        let seconds = lag.map_or(f64::NAN, |l| l.num_milliseconds() as f64 / 1000.0);
        let _ = writeln!(text, "tongxing_replica_lag_seconds {seconds}");
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(text)
}
