//! Refresh tokens: random, stored only as a SHA-256 digest, single use. Each use rotates it
//! within its family; presenting a used or revoked token again revokes the whole family, since
//! it means the token was copied.
//!
//! Each token carries its user's token epoch from when it was issued: once the epoch has moved
//! on (deactivation, a change of role, region or organisation, a new password), the token is
//! refused, however recently it was issued.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use tongxing_core::Code;
use tongxing_core::{Error, Result, id, time};
use tongxing_store::schema::refresh_tokens;
use tongxing_store::{DbConnection, DbId, map_db_error};
use uuid::Uuid;

#[derive(Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
struct TokenRow {
    id: String,
    family_id: String,
    user_id: String,
    expires_at: chrono::NaiveDateTime,
    used_at: Option<chrono::NaiveDateTime>,
    revoked_at: Option<chrono::NaiveDateTime>,
    token_epoch: i32,
}

/// A spent refresh token: whose it was, its family, and the token epoch it was issued in.
pub struct Spent {
    pub user: Uuid,
    pub family: String,
    pub epoch: i32,
}

fn digest(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// Issues a new refresh token in `family` (a new family when `None`), valid while the user's
/// token epoch is `epoch`.
pub fn issue(
    conn: &mut DbConnection,
    user: Uuid,
    epoch: i32,
    family: Option<String>,
    ttl_seconds: i64,
) -> Result<String> {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let now = time::now();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(id::new_id().to_string()),
            refresh_tokens::family_id.eq(family.unwrap_or_else(|| id::new_id().to_string())),
            refresh_tokens::user_id.eq(DbId(user)),
            refresh_tokens::token_hash.eq(digest(&token)),
            refresh_tokens::issued_at.eq(time::to_db(now)),
            refresh_tokens::expires_at.eq(time::to_db(now + chrono::Duration::seconds(ttl_seconds))),
            refresh_tokens::token_epoch.eq(epoch),
        ))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(token)
}

/// Spends a refresh token: returns its user, family and epoch, so the caller can check the
/// epoch and issue the successor.
pub fn spend(conn: &mut DbConnection, token: &str) -> Result<Spent> {
    let invalid =
        || Error::unauthenticated(Code::InvalidGrant, "the refresh token is invalid, expired or revoked");
    let row: Option<TokenRow> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(digest(token)))
        .select(TokenRow::as_select())
        .first(conn)
        .optional()
        .map_err(map_db_error)?;
    let TokenRow {
        id: row_id,
        family_id: family,
        user_id: user,
        expires_at,
        used_at,
        revoked_at,
        token_epoch,
    } = row.ok_or_else(invalid)?;
    let now = time::to_db(time::now());
    if used_at.is_some() || revoked_at.is_some() {
        revoke_family(conn, &family)?;
        tracing::warn!(family = %family, "refresh token reused; family revoked");
        return Err(invalid());
    }
    if expires_at <= now {
        return Err(invalid());
    }
    let spent = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::id.eq(&row_id))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(Some(now)))
    .execute(conn)
    .map_err(map_db_error)?;
    if spent == 0 {
        return Err(invalid());
    }
    let user = Uuid::parse_str(&user).map_err(|e| Error::internal(format!("bad user id: {e}")))?;
    Ok(Spent { user, family, epoch: token_epoch })
}

pub fn revoke_family(conn: &mut DbConnection, family: &str) -> Result<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(time::to_db(time::now()))))
    .execute(conn)
    .map_err(map_db_error)?;
    Ok(())
}

/// Revokes the family of a refresh token (RFC 7009): the token, those it was renewed from and
/// into. The family's user and id, or `None` when no refresh token has this value.
pub fn revoke(conn: &mut DbConnection, token: &str) -> Result<Option<(Uuid, String)>> {
    let row: Option<(String, String)> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(digest(token)))
        .select((refresh_tokens::family_id, refresh_tokens::user_id))
        .first(conn)
        .optional()
        .map_err(map_db_error)?;
    let Some((family, user)) = row else { return Ok(None) };
    revoke_family(conn, &family)?;
    let user = Uuid::parse_str(&user).map_err(|e| Error::internal(format!("bad user id: {e}")))?;
    Ok(Some((user, family)))
}

/// Revokes every refresh token of the user not yet revoked.
pub fn revoke_user(conn: &mut DbConnection, user: Uuid) -> Result<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(DbId(user)))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Some(time::to_db(time::now()))))
    .execute(conn)
    .map_err(map_db_error)?;
    Ok(())
}
