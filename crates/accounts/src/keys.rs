//! The signing keys in the database, shared by every node. A node loads them at start, and again
//! when it meets a token signed by a key it does not know (another node rotated).

use chrono::Duration;
use diesel::prelude::*;
use tongxing_core::{Error, Result, time};
use tongxing_store::schema::signing_keys;
use tongxing_store::{DbConnection, map_db_error, transaction};

use crate::tokens::StoredKey;

type Row = (String, String, String, chrono::NaiveDateTime, Option<chrono::NaiveDateTime>);

/// The keys that still verify: the active ones, and retired ones whose tokens may not have
/// expired yet (retired less than `access_ttl_seconds` plus a minute ago).
pub fn load(conn: &mut DbConnection, access_ttl_seconds: i64) -> Result<Vec<StoredKey>> {
    let horizon = time::to_db(time::now() - Duration::seconds(access_ttl_seconds + 60));
    let rows: Vec<Row> = signing_keys::table
        .filter(signing_keys::retired_at.is_null().or(signing_keys::retired_at.gt(horizon)))
        .select((
            signing_keys::kid,
            signing_keys::private_key,
            signing_keys::public_key,
            signing_keys::created_at,
            signing_keys::retired_at,
        ))
        .order(signing_keys::created_at.asc())
        .load(conn)
        .map_err(map_db_error)?;
    Ok(rows
        .into_iter()
        .map(|(kid, private_key, public_key, created, retired)| StoredKey {
            kid,
            private_key,
            public_key,
            created_at: time::from_db(created),
            retired_at: retired.map(time::from_db),
        })
        .collect())
}

fn insert(conn: &mut DbConnection, key: &StoredKey) -> Result<()> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(&key.kid),
            signing_keys::private_key.eq(&key.private_key),
            signing_keys::public_key.eq(&key.public_key),
            signing_keys::created_at.eq(time::to_db(key.created_at)),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(())
}

fn retire_all_but(conn: &mut DbConnection, kid: &str) -> Result<()> {
    diesel::update(
        signing_keys::table.filter(signing_keys::retired_at.is_null()).filter(signing_keys::kid.ne(kid)),
    )
    .set(signing_keys::retired_at.eq(Some(time::to_db(time::now()))))
    .execute(conn)
    .map_err(map_db_error)?;
    Ok(())
}

/// Makes sure a key signs: the configured one (added and made active when new), or else the
/// newest active key, or else a generated one.
pub fn ensure(conn: &mut DbConnection, configured: Option<StoredKey>) -> Result<()> {
    transaction(conn, |conn| {
        if let Some(key) = configured {
            let known: i64 = signing_keys::table
                .filter(signing_keys::kid.eq(&key.kid))
                .filter(signing_keys::retired_at.is_null())
                .count()
                .get_result(conn)
                .map_err(map_db_error)?;
            if known == 0 {
                diesel::delete(signing_keys::table.filter(signing_keys::kid.eq(&key.kid)))
                    .execute(conn)
                    .map_err(map_db_error)?;
                insert(conn, &key)?;
            }
            return retire_all_but(conn, &key.kid);
        }
        let active: i64 = signing_keys::table
            .filter(signing_keys::retired_at.is_null())
            .count()
            .get_result(conn)
            .map_err(map_db_error)?;
        if active == 0 {
            insert(conn, &StoredKey::generate())?;
        }
        Ok(())
    })
}

/// Adds a new signing key and retires the others; returns the new `kid`. Tokens signed by the
/// retired keys stay valid until they expire.
pub fn rotate(conn: &mut DbConnection) -> Result<String> {
    let key = StoredKey::generate();
    transaction(conn, |conn| {
        insert(conn, &key)?;
        retire_all_but(conn, &key.kid)
    })?;
    Ok(key.kid)
}

/// A configured key: base64 of a 32-byte Ed25519 seed.
pub fn parse_configured(value: &str) -> Result<StoredKey> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .map_err(|_| Error::internal("the signing key is not base64"))?;
    let seed: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::internal(format!("the signing key must be 32 bytes, not {}", bytes.len())))?;
    Ok(StoredKey::from_seed(&seed))
}
