//! Checking a password, for a login or before a password change: the throttle admits the
//! attempt and the account is read in one short transaction, the hash is verified with no
//! database connection held, and the caller writes the outcome in another short transaction
//! ([`settle`]).
//!
//! An unknown username takes the same path as a known one: the same throttle, the same queries,
//! and a hash verified against a decoy, so neither the answer nor its timing tells them apart.
//! A deactivated account answers as a wrong password does.

use actix_web::web;
use tongxing_core::{Error, Result};
use tongxing_store::DbConnection;
use uuid::Uuid;

use super::password;
use super::throttle::{self, Admission, Ticket};
use super::users::{self, UserRow};
use crate::problem::ApiError;
use crate::state::AppState;

/// Whose password is checked.
#[derive(Debug, Clone)]
pub enum Account {
    /// By the username given at login.
    Named(String),
    /// The signed-in user, by id (a password change).
    Id(Uuid),
}

/// The outcome of [`check`].
pub enum Checked {
    /// The right password of an active account. Settle it with [`settle`].
    Right(Box<Right>),
    /// A wrong password, an unknown username or a deactivated account: one answer for all.
    Wrong { user: Option<Uuid> },
    /// Not checked: too many failures from this address or for this username.
    Refused { user: Option<Uuid>, retry_after: u32 },
}

pub struct Right {
    pub row: UserRow,
    ticket: Ticket,
    /// A hash with today's parameters, when the stored one is older.
    upgraded: Option<String>,
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    web::block(f).await.map_err(|e| Error::internal(format!("blocking task failed: {e}")).into())
}

/// Checks `given` as the password of `account`, attempted from `address`
/// ([`throttle::address_key`]).
pub async fn check(
    state: &AppState,
    address: String,
    account: Account,
    given: String,
) -> Result<Checked, ApiError> {
    let policy = state.limits.login;
    let (admission, row) = state
        .tx(move |conn| {
            let row = match &account {
                Account::Named(name) => users::find_by_username(conn, name)?,
                Account::Id(id) => users::find(conn, *id)?,
            };
            let name = match (&account, &row) {
                (Account::Named(name), _) => name.clone(),
                (Account::Id(_), Some(row)) => row.username.clone(),
                (Account::Id(_), None) => return Err(Error::not_found("user")),
            };
            Ok((throttle::admit(conn, policy, &address, &name)?, row))
        })
        .await?;
    let user = row.as_ref().and_then(|r| r.id().ok());
    let ticket = match admission {
        Admission::Admitted(ticket) => ticket,
        Admission::Refused { retry_after } => return Ok(Checked::Refused { user, retry_after }),
    };
    let stored = row.as_ref().map_or_else(|| password::decoy_hash().to_owned(), |r| r.password_hash.clone());
    let (ok, given) = blocking(move || (password::verify(&given, &stored), given)).await?;
    let Some(row) = row.filter(|r| ok && r.active) else { return Ok(Checked::Wrong { user }) };
    let upgraded = if password::is_current(&row.password_hash) {
        None
    } else {
        // A password accepted before today's rules (shorter than the minimum) keeps its hash.
        blocking(move || password::hash(&given).ok()).await?
    };
    Ok(Checked::Right(Box::new(Right { row, ticket, upgraded })))
}

/// Inside the transaction that acts on a right password: gives the throttle's tokens back and
/// stores an upgraded hash. Returns the account as it is now, or `None` if it changed since
/// the password was checked (deactivated, or given another password or token epoch): the
/// attempt then counts as a wrong password.
pub fn settle(conn: &mut DbConnection, right: &Right) -> Result<Option<UserRow>> {
    let id = right.row.id()?;
    let now = users::find(conn, id)?.filter(|r| {
        r.active && r.password_hash == right.row.password_hash && r.token_epoch == right.row.token_epoch
    });
    let Some(now) = now else { return Ok(None) };
    throttle::succeeded(conn, &right.ticket)?;
    if let Some(hash) = &right.upgraded {
        users::upgrade_hash(conn, &now, hash.clone())?;
    }
    Ok(Some(now))
}
