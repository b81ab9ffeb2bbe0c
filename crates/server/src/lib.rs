//! The Tongxing service: configuration, start-up and the HTTP server. `main.rs` adds the
//! command line; the end-to-end tests start the same server on port 0.

pub mod config;
pub mod demo;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer};
use tongxing_api::AppState;
use tongxing_api::auth::tokens::{TokenKeys, generate_secret};
use tongxing_api::metrics::Metrics;
use tongxing_store::Db;
use tongxing_store::conn::DatabaseUrl;

pub use config::Config;

/// The reference region tree (Xianning and the places the programmes name), loaded at start-up.
pub const REFERENCE_REGIONS: &str = include_str!("../../../data/regions-xianning.csv");

/// The published statutory holiday arrangements, loaded at start-up (admins add later years).
pub const HOLIDAYS: &str = include_str!("../../../data/holidays-cn.csv");

/// Connects, migrates, loads the reference regions, and sets up the token keys.
pub fn prepare(
    url: &DatabaseUrl,
    pool_size: u32,
    jwt_secret: Option<&str>,
    access_ttl: i64,
    refresh_ttl: i64,
) -> Result<AppState, String> {
    let db = Db::connect(url, pool_size)?;
    let applied = db.migrate().map_err(|e| e.to_string())?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "migrations applied");
    }
    let mut conn = db.conn().map_err(|e| e.to_string())?;
    let added = tongxing_store::transaction(&mut conn, |c| {
        tongxing_cases::regions::seed_reference(c, REFERENCE_REGIONS)
    })
    .map_err(|e| format!("cannot load the reference regions: {e}"))?;
    if added > 0 {
        tracing::info!(added, "reference regions loaded");
    }
    let added = tongxing_store::transaction(&mut conn, |c| tongxing_pairing::holidays::seed(c, HOLIDAYS))
        .map_err(|e| format!("cannot load the holiday calendar: {e}"))?;
    if added > 0 {
        tracing::info!(added, "holiday periods loaded");
    }
    let secret = match jwt_secret {
        Some(s) => s.to_owned(),
        // No key configured: one is generated once and kept in the database, so restarts and
        // every node over the same database share it.
        None => tongxing_store::settings::get_or_insert(&mut conn, "jwt_secret", generate_secret)
            .map_err(|e| e.to_string())?,
    };
    let keys = TokenKeys::new(secret.as_bytes(), access_ttl, refresh_ttl).map_err(|e| e.to_string())?;
    Ok(AppState { db, keys: Arc::new(keys), metrics: Arc::new(Metrics::default()) })
}

/// Starts serving on `listener`. SIGTERM and SIGINT stop accepting connections and let
/// requests in flight finish (up to 30 seconds).
pub fn start(
    listener: TcpListener,
    state: AppState,
    max_body_bytes: usize,
    workers: usize,
) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(tongxing_api::middleware::observe))
            .wrap(
                DefaultHeaders::new()
                    .add(("x-content-type-options", "nosniff"))
                    .add(("referrer-policy", "no-referrer"))
                    .add(("cache-control", "no-store")),
            )
            .configure(tongxing_api::configure(state.clone(), max_body_bytes))
    })
    .workers(workers)
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}
