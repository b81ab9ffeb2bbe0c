//! Checking a password, for a login or before a password change: the throttle admits the
//! attempt and the account is read in one short transaction, the hash is verified with no
//! database connection held, and the caller writes the outcome in another short transaction
//! ([`settle`]).
//!
//! An unknown username takes the same path as a known one: the same throttle, the same queries,
//! and a hash verified against a decoy, so neither the answer nor its timing tells them apart.
//! A deactivated account answers as a wrong password does.

use tongxing_core::Code;
use tongxing_core::{Error, Result};
use tongxing_store::{Db, DbConnection, transaction};
use uuid::Uuid;

use crate::throttle::{self, Admission, Policy, Ticket};
use crate::tokens::Subject;
use crate::users::{self, UserRow};
use crate::{password, refresh};

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

/// Checks `given` as the password of `account`, attempted from `address`
/// ([`throttle::address_key`]).
pub async fn check(
    db: &Db,
    policy: Policy,
    address: String,
    account: Account,
    given: String,
) -> Result<Checked> {
    let db = db.clone();
    let (admission, row) = crate::blocking(move || {
        transaction(&mut *db.conn()?, |conn| {
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
    })
    .await?;
    let user = row.as_ref().and_then(|r| r.id().ok());
    let ticket = match admission {
        Admission::Admitted(ticket) => ticket,
        Admission::Refused { retry_after } => return Ok(Checked::Refused { user, retry_after }),
    };
    let stored = row.as_ref().map_or_else(|| password::decoy_hash().to_owned(), |r| r.password_hash.clone());
    let (ok, given) = crate::blocking(move || Ok((password::verify(&given, &stored), given))).await?;
    let Some(row) = row.filter(|r| ok && r.active) else { return Ok(Checked::Wrong { user }) };
    let upgraded = if password::is_current(&row.password_hash) {
        None
    } else {
        // A password accepted before today's rules (shorter than the minimum) keeps its hash.
        crate::blocking(move || Ok(password::hash(&given).ok())).await?
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

/// Who a token for this account is for.
pub fn subject_of(row: &UserRow) -> Result<Subject> {
    Ok(Subject {
        id: row.id()?,
        role: row.role()?,
        organisation_id: row.organisation_id()?,
        region_id: row.region_id()?,
        scope: None,
        epoch: row.token_epoch,
    })
}

/// The one answer to a wrong password, an unknown username and a deactivated account.
pub fn wrong_credentials() -> Error {
    Error::unauthenticated(Code::InvalidCredentials, "the username or password is wrong")
}

/// The answer while the throttle refuses to check a password.
pub fn too_many(retry_after: u32) -> Error {
    Error::TooManyRequests {
        code: Code::TooManyAttempts,
        detail: "too many failed logins; try again later".into(),
        retry_after,
    }
}

/// What a sign-in with a username and password came to.
pub enum SignIn {
    /// The password was right: who signed in, and their new refresh token.
    Granted { subject: Subject, refresh_token: String },
    /// Refused, with the error to answer ([`wrong_credentials`] or [`too_many`]) and the
    /// account it was for, if one exists.
    Refused { user: Option<Uuid>, error: Error },
}

/// The login policy: the throttle admits the attempt, the password is checked off any
/// connection, and a right one of an account unchanged meanwhile gets a refresh token (valid
/// `refresh_ttl` seconds) in one transaction with the throttle's release.
pub async fn sign_in(
    db: &Db,
    policy: Policy,
    address: String,
    username: String,
    given: String,
    refresh_ttl: i64,
) -> Result<SignIn> {
    let right = match check(db, policy, address, Account::Named(username), given).await? {
        Checked::Right(right) => right,
        Checked::Wrong { user } => return Ok(SignIn::Refused { user, error: wrong_credentials() }),
        Checked::Refused { user, retry_after } => {
            return Ok(SignIn::Refused { user, error: too_many(retry_after) });
        }
    };
    let user = right.row.id().ok();
    let db = db.clone();
    let issued = crate::blocking(move || {
        transaction(&mut *db.conn()?, |conn| {
            let Some(row) = settle(conn, &right)? else { return Ok(None) };
            let subject = subject_of(&row)?;
            let token = refresh::issue(conn, subject.id, row.token_epoch, None, refresh_ttl)?;
            Ok(Some((subject, token)))
        })
    })
    .await?;
    Ok(match issued {
        Some((subject, refresh_token)) => SignIn::Granted { subject, refresh_token },
        // The account changed while its password was being checked.
        None => SignIn::Refused { user, error: wrong_credentials() },
    })
}

/// Spends a refresh token for a new one of the same family, for an account still active at the
/// token's epoch. Not one transaction: revoking a reused token's family must stick even though
/// the request fails.
pub fn refresh_grant(conn: &mut DbConnection, token: &str, refresh_ttl: i64) -> Result<(Subject, String)> {
    let spent = refresh::spend(conn, token)?;
    let user =
        users::find(conn, spent.user)?.filter(|u| u.active && u.token_epoch == spent.epoch).ok_or_else(
            || Error::unauthenticated(Code::InvalidGrant, "the refresh token is invalid, expired or revoked"),
        )?;
    let token = refresh::issue(conn, spent.user, user.token_epoch, Some(spent.family), refresh_ttl)?;
    Ok((subject_of(&user)?, token))
}
