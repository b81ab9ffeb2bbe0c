//! Who may act in Tongxing, and what they did: users and their lifecycle, partner API clients,
//! refresh tokens, the keys that sign access tokens, the login policy (throttle, hashing), the
//! audit log (its writer and its queries) and the storage behind `Idempotency-Key`.
//!
//! No HTTP here: `tongxing-api` turns these into endpoints, extractors and the guard. Domain
//! crates that need a fact about a user (its role, whether it exists) ask [`users`].

pub mod archive;
pub mod audit;
pub mod clients;
pub mod idempotency;
pub mod keys;
pub mod login;
pub mod password;
pub mod quota;
pub mod refresh;
pub mod throttle;
pub mod tokens;
pub mod users;

/// Runs blocking work (a database call) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> tongxing_core::Result<T> + Send + 'static,
) -> tongxing_core::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| tongxing_core::Error::internal(format!("blocking task failed: {e}")))?
}

/// An account or client belongs to an organisation that exists. (Accounts sit below the domain
/// crates, which ask them about users, so this reads the reference table itself.)
pub(crate) fn require_organisation(
    conn: &mut tongxing_store::DbConnection,
    id: uuid::Uuid,
    field: &str,
) -> tongxing_core::Result<()> {
    use diesel::prelude::*;
    use tongxing_store::schema::organisations;
    let n: i64 = organisations::table
        .filter(organisations::id.eq(tongxing_store::DbId(id)))
        .count()
        .get_result(conn)
        .map_err(tongxing_store::map_db_error)?;
    if n == 0 {
        Err(tongxing_core::Error::field(field, "not_found", "no organisation with this id"))
    } else {
        Ok(())
    }
}
