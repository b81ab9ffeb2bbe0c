//! What every handler shares: the database, the token keys, the metrics.

use std::sync::Arc;

use actix_web::web;
use tongxing_core::{Error, Result};
use tongxing_store::{Db, DbConnection, transaction};

use crate::auth::tokens::TokenKeys;
use crate::metrics::Metrics;
use crate::problem::ApiError;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub keys: Arc<TokenKeys>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
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
