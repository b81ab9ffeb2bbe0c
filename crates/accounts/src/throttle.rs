//! The login throttle: how many password guesses are checked, per network address and per
//! username, whichever node receives them. Its state is in the database, so every node behind a
//! load balancer shares it.
//!
//! An attempt is admitted or refused *before* its password is checked, in one short transaction
//! that takes a token from both of its gates, so concurrent guesses cannot all slip through
//! between a check and a count. A successful login gives the tokens back.
//!
//! - **Per address**: at most `TONGXING_LOGIN_FAILURES_PER_ADDRESS` failed logins per fifteen
//!   minutes (a leaky bucket that drains evenly). IPv6 addresses count per /64, the block one
//!   subscriber is usually given.
//! - **Per username**, known or not, by the same rules (so neither the answers nor the delays
//!   tell which usernames exist): [`FREE_FAILURES`] failures in a row are checked at once; from
//!   then on each failure makes the name wait before its next attempt is checked, from
//!   [`FIRST_DELAY_SECONDS`] doubling up to [`MAX_DELAY_SECONDS`]. Attempts refused during the
//!   wait are not checked and do not lengthen it. There is no lock: once the wait is over, the
//!   right password signs in and clears the count.
//! - **Addresses an account has signed in from** keep a gate of their own for that username
//!   for [`TRUSTED_DAYS`], with the same rules. Someone guessing from elsewhere delays only the
//!   attempts that come from elsewhere, so they cannot keep the account's owner out by
//!   guessing wrong again whenever the wait ends. Only a right password makes an address
//!   trusted, so this too says nothing about which usernames exist.
//!
//! Usernames are kept as SHA-256 digests: a password typed into the name field is not stored.

use std::net::IpAddr;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};
use tongxing_core::{Result, time};
use tongxing_store::schema::{login_addresses, login_delays};
use tongxing_store::{DbConnection, map_db_error, transaction};

/// Failures in a row of one username that are checked without a wait.
pub const FREE_FAILURES: i32 = 5;
/// The wait after the [`FREE_FAILURES`]th failure; it doubles with each further one.
pub const FIRST_DELAY_SECONDS: i64 = 2;
/// The longest wait.
pub const MAX_DELAY_SECONDS: i64 = 900;
/// How long an address that an account signed in from keeps its own gate for that account.
pub const TRUSTED_DAYS: i64 = 30;
/// The period over which an address's budget of failures refills.
const ADDRESS_PERIOD_SECONDS: f64 = 900.0;
/// State untouched for this long is forgotten (trusted addresses are kept until they expire).
const FORGET_AFTER_HOURS: i64 = 24;

/// The throttle's settings.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failed logins per address per fifteen minutes.
    pub failures_per_address: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy { failures_per_address: 20 }
    }
}

/// An attempt that may be checked, holding a token of each of its gates.
#[derive(Debug, Clone)]
pub struct Ticket {
    address: String,
    name: String,
    /// The username gate it took from: `""` for the name everywhere, or its own address.
    gate: String,
    policy: Policy,
}

#[derive(Debug, Clone)]
pub enum Admission {
    Admitted(Ticket),
    /// Not checked; try again after this many seconds.
    Refused {
        retry_after: u32,
    },
}

/// The key of a network address: the address itself, or for IPv6 its /64.
pub fn address_key(ip: Option<IpAddr>) -> String {
    match ip {
        None => String::new(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

fn digest(username: &str) -> String {
    format!("{:x}", Sha256::digest(username.as_bytes()))
}

/// The wait after `failures` failures in a row, if any.
fn delay_after(failures: i32) -> Option<chrono::Duration> {
    let beyond = failures.checked_sub(FREE_FAILURES).filter(|b| *b >= 0)?;
    let seconds =
        if beyond >= 20 { MAX_DELAY_SECONDS } else { (FIRST_DELAY_SECONDS << beyond).min(MAX_DELAY_SECONDS) };
    Some(chrono::Duration::seconds(seconds))
}

/// Whole seconds from `now` until `until`, at least one.
fn seconds_until(until: NaiveDateTime, now: NaiveDateTime) -> u32 {
    let ms = (until - now).num_milliseconds().max(0);
    u32::try_from((ms + 999) / 1000).unwrap_or(u32::MAX).max(1)
}

struct AddressRow {
    spent: f64,
    updated_at: NaiveDateTime,
}

impl AddressRow {
    /// What is spent now, after draining since the last update.
    fn drained(&self, policy: Policy, now: NaiveDateTime) -> f64 {
        let rate = f64::from(policy.failures_per_address.max(1)) / ADDRESS_PERIOD_SECONDS;
        let elapsed = (now - self.updated_at).num_milliseconds().max(0) as f64 / 1000.0;
        (self.spent - elapsed * rate).max(0.0)
    }
}

#[derive(Queryable)]
struct GateRow {
    failures: i32,
    blocked_until: Option<NaiveDateTime>,
    trusted_until: Option<NaiveDateTime>,
}

/// Runs `$body` with `$c` bound to the concrete connection (for what the two-backend
/// connection type cannot express: upserts and row locks).
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            DbConnection::Postgres($c) => $body,
            DbConnection::Sqlite($c) => $body,
        }
    };
}

/// The address's row, created if new and locked until the transaction ends (on SQLite the
/// transaction holds the write lock from its start).
fn lock_address(conn: &mut DbConnection, address: &str, now: NaiveDateTime) -> Result<AddressRow> {
    let insert = diesel::insert_into(login_addresses::table)
        .values((
            login_addresses::address.eq(address),
            login_addresses::spent.eq(0.0),
            login_addresses::updated_at.eq(now),
        ))
        .on_conflict(login_addresses::address)
        .do_nothing();
    on_backend!(conn, c => insert.execute(c)).map_err(map_db_error)?;
    let q =
        login_addresses::table.find(address).select((login_addresses::spent, login_addresses::updated_at));
    let (spent, updated_at): (f64, NaiveDateTime) = match conn {
        DbConnection::Postgres(c) => q.for_update().first(c),
        DbConnection::Sqlite(c) => q.first(c),
    }
    .map_err(map_db_error)?;
    Ok(AddressRow { spent, updated_at })
}

fn save_address(conn: &mut DbConnection, address: &str, spent: f64, now: NaiveDateTime) -> Result<()> {
    diesel::update(login_addresses::table.find(address))
        .set((login_addresses::spent.eq(spent), login_addresses::updated_at.eq(now)))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(())
}

/// A username gate's row, locked; created (empty) when `create` is set.
fn lock_gate(
    conn: &mut DbConnection,
    name: &str,
    gate: &str,
    now: NaiveDateTime,
    create: bool,
) -> Result<Option<GateRow>> {
    if create {
        let insert = diesel::insert_into(login_delays::table)
            .values((
                login_delays::name_digest.eq(name),
                login_delays::address.eq(gate),
                login_delays::failures.eq(0),
                login_delays::updated_at.eq(now),
            ))
            .on_conflict((login_delays::name_digest, login_delays::address))
            .do_nothing();
        on_backend!(conn, c => insert.execute(c)).map_err(map_db_error)?;
    }
    let q = login_delays::table.find((name, gate)).select((
        login_delays::failures,
        login_delays::blocked_until,
        login_delays::trusted_until,
    ));
    match conn {
        DbConnection::Postgres(c) => q.for_update().first(c).optional(),
        DbConnection::Sqlite(c) => q.first(c).optional(),
    }
    .map_err(map_db_error)
}

/// Decides whether an attempt from `address` at `username` is checked, taking a token from
/// its address and from its username gate if so. Locks are taken in one order (address, the
/// name at this address, the name everywhere), so concurrent attempts wait for each other
/// instead of deadlocking.
pub fn admit(conn: &mut DbConnection, policy: Policy, address: &str, username: &str) -> Result<Admission> {
    transaction(conn, |conn| {
        let now = time::to_db(time::now());
        let capacity = f64::from(policy.failures_per_address.max(1));
        let bucket = lock_address(conn, address, now)?;
        let spent = bucket.drained(policy, now);
        if spent + 1.0 > capacity + 1e-9 {
            let rate = capacity / ADDRESS_PERIOD_SECONDS;
            let wait = ((spent + 1.0 - capacity) / rate).ceil().max(1.0);
            let retry_after = if wait >= f64::from(u32::MAX) { u32::MAX } else { wait as u32 };
            return Ok(Admission::Refused { retry_after });
        }
        let name = digest(username);
        let here = if address.is_empty() { None } else { lock_gate(conn, &name, address, now, false)? };
        let trusted = here.as_ref().is_some_and(|g| g.trusted_until.is_some_and(|t| t > now));
        let (gate, row) = if trusted {
            (address.to_owned(), here)
        } else {
            (String::new(), lock_gate(conn, &name, "", now, true)?)
        };
        let failures = row.as_ref().map_or(0, |r| r.failures);
        if let Some(until) = row.and_then(|r| r.blocked_until).filter(|u| *u > now) {
            return Ok(Admission::Refused { retry_after: seconds_until(until, now) });
        }
        // Counted as a failure until it succeeds: concurrent attempts see it at once.
        let failures = failures.saturating_add(1);
        let blocked_until = delay_after(failures).map(|d| now + d);
        diesel::update(login_delays::table.find((&name, &gate)))
            .set((
                login_delays::failures.eq(failures),
                login_delays::blocked_until.eq(blocked_until),
                login_delays::updated_at.eq(now),
            ))
            .execute(conn)
            .map_err(map_db_error)?;
        save_address(conn, address, spent + 1.0, now)?;
        // About one admitted attempt in 64 clears out what nobody has touched for a day.
        if OsRng.next_u32().is_multiple_of(64) {
            forget_stale(conn, now)?;
        }
        Ok(Admission::Admitted(Ticket { address: address.to_owned(), name, gate, policy }))
    })
}

/// The attempt's password was right: its tokens go back, its gate's count is cleared, and its
/// address becomes trusted for the account (for [`TRUSTED_DAYS`]).
pub fn succeeded(conn: &mut DbConnection, ticket: &Ticket) -> Result<()> {
    transaction(conn, |conn| {
        let now = time::to_db(time::now());
        let bucket = lock_address(conn, &ticket.address, now)?;
        let spent = (bucket.drained(ticket.policy, now) - 1.0).max(0.0);
        save_address(conn, &ticket.address, spent, now)?;
        if !ticket.address.is_empty() {
            lock_gate(conn, &ticket.name, &ticket.address, now, true)?;
            let trusted_until = now + chrono::Duration::days(TRUSTED_DAYS);
            diesel::update(login_delays::table.find((&ticket.name, &ticket.address)))
                .set((
                    login_delays::failures.eq(0),
                    login_delays::blocked_until.eq(None::<NaiveDateTime>),
                    login_delays::trusted_until.eq(Some(trusted_until)),
                    login_delays::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(map_db_error)?;
        }
        if ticket.gate.is_empty() {
            diesel::update(login_delays::table.find((&ticket.name, "")))
                .set((
                    login_delays::failures.eq(0),
                    login_delays::blocked_until.eq(None::<NaiveDateTime>),
                    login_delays::updated_at.eq(now),
                ))
                .execute(conn)
                .map_err(map_db_error)?;
        }
        Ok(())
    })
}

/// Forgets a username's delays and trusted addresses (after an administrator has reset its
/// password: the old password's owners are no longer trusted anywhere).
pub fn forget(conn: &mut DbConnection, username: &str) -> Result<()> {
    diesel::delete(login_delays::table.filter(login_delays::name_digest.eq(digest(username))))
        .execute(conn)
        .map_err(map_db_error)?;
    Ok(())
}

/// Forgets the state nobody has touched for a day (a name's count starts again), except
/// addresses still trusted.
fn forget_stale(conn: &mut DbConnection, now: NaiveDateTime) -> Result<()> {
    let before = now - chrono::Duration::hours(FORGET_AFTER_HOURS);
    diesel::delete(login_addresses::table.filter(login_addresses::updated_at.lt(before)))
        .execute(conn)
        .map_err(map_db_error)?;
    diesel::delete(
        login_delays::table
            .filter(login_delays::updated_at.lt(before))
            .filter(login_delays::trusted_until.is_null().or(login_delays::trusted_until.lt(now))),
    )
    .execute(conn)
    .map_err(map_db_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_start_after_the_free_failures_and_double_up_to_the_cap() {
        let secs = |f| delay_after(f).map(|d| d.num_seconds());
        assert_eq!(secs(FREE_FAILURES - 1), None);
        assert_eq!(secs(FREE_FAILURES), Some(FIRST_DELAY_SECONDS));
        assert_eq!(secs(FREE_FAILURES + 1), Some(2 * FIRST_DELAY_SECONDS));
        assert_eq!(secs(FREE_FAILURES + 3), Some(8 * FIRST_DELAY_SECONDS));
        assert_eq!(secs(FREE_FAILURES + 9), Some(MAX_DELAY_SECONDS));
        assert_eq!(secs(i32::MAX), Some(MAX_DELAY_SECONDS));
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        let key = |s: &str| address_key(Some(s.parse().unwrap()));
        assert_eq!(key("192.0.2.7"), "192.0.2.7");
        assert_eq!(key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::2"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(address_key(None), "");
    }

    #[test]
    fn waits_round_up_to_whole_seconds() {
        let now = time::to_db(time::now());
        assert_eq!(seconds_until(now + chrono::Duration::milliseconds(1), now), 1);
        assert_eq!(seconds_until(now + chrono::Duration::milliseconds(2001), now), 3);
        assert_eq!(seconds_until(now - chrono::Duration::seconds(5), now), 1);
    }
}
