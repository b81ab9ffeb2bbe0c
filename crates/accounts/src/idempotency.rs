//! Storage behind `Idempotency-Key`: the first answer to a caller's key, kept in the same
//! transaction as the record it created, with a fingerprint of the request that made it.

use diesel::prelude::*;
use tongxing_core::{Result, time};
use tongxing_store::schema::idempotency_keys;
use tongxing_store::{DbConnection, map_db_error};

/// The answer stored under a key, and the request it answered.
pub struct Stored {
    pub status: u16,
    pub body: String,
    /// The fingerprint of the request (method, path and body digest).
    pub request: String,
}

/// The answer stored under `actor`'s `key`, if any.
pub fn find(conn: &mut DbConnection, actor: &str, key: &str) -> Result<Option<Stored>> {
    let row: Option<(i32, String, String)> = idempotency_keys::table
        .filter(idempotency_keys::actor_id.eq(actor))
        .filter(idempotency_keys::key.eq(key))
        .select((
            idempotency_keys::response_status,
            idempotency_keys::response_body,
            idempotency_keys::request_hash,
        ))
        .first(conn)
        .optional()
        .map_err(map_db_error)?;
    Ok(row.map(|(status, body, request)| Stored {
        status: u16::try_from(status).unwrap_or(500),
        body,
        request,
    }))
}

/// What a first answer is kept under.
pub struct Key<'a> {
    pub actor: &'a str,
    pub key: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub fingerprint: &'a str,
}

/// Keeps `body`, a 201 answer, under the key. Run it in the transaction that created the
/// record; a racing request with the same key then waits, and fails on the primary key.
pub fn store(conn: &mut DbConnection, k: &Key<'_>, body: &str) -> Result<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::actor_id.eq(k.actor),
            idempotency_keys::key.eq(k.key),
            idempotency_keys::method.eq(k.method),
            idempotency_keys::path.eq(k.path),
            idempotency_keys::request_hash.eq(k.fingerprint),
            idempotency_keys::response_status.eq(201),
            idempotency_keys::response_body.eq(body),
            idempotency_keys::created_at.eq(time::to_db(time::now())),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(())
}
