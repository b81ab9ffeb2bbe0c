//! Storage behind `Idempotency-Key`: the first answer to a caller's key (its status, body and
//! headers), kept in the same transaction as the record it created, with a fingerprint of the
//! request that made it. A key lives for a window (24 h by default): after it, the key is free
//! again and its stored answer, which may name a child, is purged.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use tongxing_core::{Result, time};
use tongxing_store::schema::idempotency_keys;
use tongxing_store::{DbConnection, map_db_error};

/// The answer stored under a key, and the request it answered.
pub struct Stored {
    pub status: u16,
    pub body: String,
    /// The first answer's own headers (its `ETag`), to be sent again with the replay.
    pub headers: Vec<(String, String)>,
    /// The fingerprint of the request (method, path and the digest of its canonical body).
    pub request: String,
}

/// The answer stored under `actor`'s `key`, if any was stored at or after `not_before` (an
/// older one has expired: the key is free).
pub fn find(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    not_before: DateTime<Utc>,
) -> Result<Option<Stored>> {
    let row: Option<(i32, String, Option<String>, String)> = idempotency_keys::table
        .filter(idempotency_keys::actor_id.eq(actor))
        .filter(idempotency_keys::key.eq(key))
        .filter(idempotency_keys::created_at.ge(time::to_db(not_before)))
        .select((
            idempotency_keys::response_status,
            idempotency_keys::response_body,
            idempotency_keys::response_headers,
            idempotency_keys::request_hash,
        ))
        .first(conn)
        .optional()
        .map_err(map_db_error)?;
    Ok(row.map(|(status, body, headers, request)| Stored {
        status: u16::try_from(status).unwrap_or(500),
        body,
        headers: headers
            .and_then(|h| serde_json::from_str::<Vec<(String, String)>>(&h).ok())
            .unwrap_or_default(),
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

/// Keeps `body`, a 201 answer, and its `headers` under the key, in place of an answer stored
/// before `not_before` (expired). Run it in the transaction that created the record; a racing
/// request with the same key then waits, and fails on the primary key.
pub fn store(
    conn: &mut DbConnection,
    k: &Key<'_>,
    body: &str,
    headers: &[(String, String)],
    not_before: DateTime<Utc>,
) -> Result<()> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::actor_id.eq(k.actor))
            .filter(idempotency_keys::key.eq(k.key))
            .filter(idempotency_keys::created_at.lt(time::to_db(not_before))),
    )
    .execute(conn)
    .map_err(map_db_error)?;
    let headers =
        serde_json::to_string(headers).map_err(|e| tongxing_core::Error::internal(e.to_string()))?;
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::actor_id.eq(k.actor),
            idempotency_keys::key.eq(k.key),
            idempotency_keys::method.eq(k.method),
            idempotency_keys::path.eq(k.path),
            idempotency_keys::request_hash.eq(k.fingerprint),
            idempotency_keys::response_status.eq(201),
            idempotency_keys::response_body.eq(body),
            idempotency_keys::response_headers.eq(Some(headers)),
            idempotency_keys::created_at.eq(time::to_db(time::now())),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(())
}

/// Deletes every key stored before `not_before`, with its answer; how many.
pub fn purge(conn: &mut DbConnection, not_before: DateTime<Utc>) -> Result<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(time::to_db(not_before))))
        .execute(conn)
        .map_err(map_db_error)
}
