//! What every handler shares: the database, the token keys, the audit log, the rate limits and
//! the metrics.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web;
use tongxing_core::{Error, Result};
use tongxing_store::{Db, DbConnection, transaction};

use crate::audit::AuditLog;
use crate::auth::keys;
use crate::auth::tokens::TokenKeys;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::problem::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub keys: Arc<TokenKeys>,
    pub audit: AuditLog,
    pub limits: Arc<Limits>,
    pub metrics: Arc<Metrics>,
    keys_loaded: Arc<Mutex<Instant>>,
}

impl AppState {
    pub fn new(db: Db, keys: TokenKeys, limits: Limits) -> AppState {
        AppState {
            audit: AuditLog::start(db.clone()),
            db,
            keys: Arc::new(keys),
            limits: Arc::new(limits),
            metrics: Arc::new(Metrics::default()),
            keys_loaded: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// Reloads the signing keys from the database unless they were loaded less than `max_age`
    /// ago: after meeting an unknown `kid` (another node rotated), and before signing (so a node
    /// does not go on signing with a key another node retired).
    pub async fn reload_keys(&self, max_age: Duration) -> Result<()> {
        {
            let mut at = self.keys_loaded.lock().unwrap_or_else(|p| p.into_inner());
            if at.elapsed() < max_age {
                return Ok(());
            }
            *at = Instant::now();
        }
        let ttl = self.keys.access_ttl_seconds;
        let loaded = self.run(move |conn| keys::load(conn, ttl)).await.map_err(|_| Error::Unavailable {
            detail: "the signing keys cannot be loaded right now".into(),
        })?;
        self.keys.replace(&loaded)
    }

    /// Runs blocking database work off the async workers, with a pooled connection.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        let joined = web::block(move || {
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await;
        match joined {
            Ok(result) => result.map_err(ApiError::from),
            Err(e) => Err(Error::internal(format!("blocking task failed: {e}")).into()),
        }
    }

    /// Like [`AppState::run`], inside one transaction: all of it is written, or none.
    pub async fn tx<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T> + Send + 'static,
    {
        self.run(move |conn| transaction(conn, f)).await
    }
}
