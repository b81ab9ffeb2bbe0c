//! Partner API clients' request quotas, kept in the database so that every node behind a load
//! balancer draws on one budget per client (N nodes are not N times the quota): a leaky bucket
//! per client that holds at most `requests` and drains evenly over `period_seconds`. A request
//! is counted in one short transaction that locks the client's row (on SQLite the transaction
//! holds the write lock from its start), so concurrent requests through different nodes cannot
//! all slip through between a check and a count. The cost is a small write per admitted partner
//! request (a refused one writes nothing). Time never runs backwards for a bucket: a node whose
//! clock is behind another's counts from the later of the two.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use tongxing_core::{Result, time};
use tongxing_store::schema::client_quotas;
use tongxing_store::{DbConnection, DbId, map_db_error, transaction};
use uuid::Uuid;

/// How many requests a client may make in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub requests: u32,
    pub period_seconds: u32,
}

/// The outcome of one request against its client's quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    /// Whether the request is admitted.
    pub admitted: bool,
    /// Requests left after this one.
    pub remaining: u32,
    /// Seconds until the quota is whole again (admitted), or until the next request fits.
    pub reset: u32,
}

impl Policy {
    fn capacity(self) -> f64 {
        f64::from(self.requests.max(1))
    }

    fn per_second(self) -> f64 {
        self.capacity() / f64::from(self.period_seconds.max(1))
    }

    /// The bucket holding `spent` at `then`, drained to `now`, and this request counted in it.
    fn count(self, spent: f64, then: NaiveDateTime, now: NaiveDateTime) -> (f64, Counted) {
        let elapsed = (now - then).num_milliseconds().max(0) as f64 / 1000.0;
        let spent = (spent - elapsed * self.per_second()).max(0.0);
        let admitted = spent + 1.0 <= self.capacity();
        let spent = if admitted { spent + 1.0 } else { spent };
        let seconds = |x: f64| {
            let s = x.max(0.0).ceil();
            if s >= f64::from(u32::MAX) { u32::MAX } else { s as u32 }
        };
        let reset = if admitted {
            seconds(spent / self.per_second())
        } else {
            seconds((spent + 1.0 - self.capacity()) / self.per_second()).max(1)
        };
        let remaining = (self.capacity() - spent).floor().max(0.0) as u32;
        (spent, Counted { admitted, remaining, reset })
    }
}

/// Counts a request of `client` against its quota.
pub fn take(conn: &mut DbConnection, policy: Policy, client: Uuid) -> Result<Counted> {
    // A plain read first: a client over its quota is refused without taking a write lock, so
    // one that keeps knocking does not hold up everyone else's writes.
    let last: Option<(f64, NaiveDateTime)> = client_quotas::table
        .find(DbId(client))
        .select((client_quotas::spent, client_quotas::updated_at))
        .first(conn)
        .optional()
        .map_err(map_db_error)?;
    if let Some((spent, then)) = last {
        let now = time::to_db(time::now()).max(then);
        let (_, counted) = policy.count(spent, then, now);
        if !counted.admitted {
            return Ok(counted);
        }
    }
    transaction(conn, |conn| {
        let now = time::to_db(time::now());
        let key = DbId(client);
        let insert = diesel::insert_into(client_quotas::table)
            .values((
                client_quotas::client_id.eq(key),
                client_quotas::spent.eq(0.0),
                client_quotas::updated_at.eq(now),
            ))
            .on_conflict(client_quotas::client_id)
            .do_nothing();
        match conn {
            DbConnection::Postgres(c) => insert.execute(c),
            DbConnection::Sqlite(c) => insert.execute(c),
        }
        .map_err(map_db_error)?;
        let row = client_quotas::table.find(key).select((client_quotas::spent, client_quotas::updated_at));
        let (spent, then): (f64, NaiveDateTime) = match conn {
            DbConnection::Postgres(c) => row.for_update().first(c),
            DbConnection::Sqlite(c) => row.first(c),
        }
        .map_err(map_db_error)?;
        // Never back in time: a node whose clock is behind another's must not make the next
        // one see more time pass than did.
        let now = now.max(then);
        let (spent, counted) = policy.count(spent, then, now);
        // A refusal (a race lost since the read) changes nothing worth keeping: draining is the
        // same computed later.
        if counted.admitted {
            diesel::update(client_quotas::table.find(key))
                .set((client_quotas::spent.eq(spent), client_quotas::updated_at.eq(now)))
                .execute(conn)
                .map_err(map_db_error)?;
        }
        Ok(counted)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_fills_drains_and_says_how_long_to_wait() {
        let policy = Policy { requests: 3, period_seconds: 60 };
        let t0 = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap().naive_utc();
        let (mut spent, mut now) = (0.0, t0);
        let mut outcomes = Vec::new();
        for _ in 0..4 {
            let (s, c) = policy.count(spent, now, now);
            spent = s;
            outcomes.push(c);
        }
        assert_eq!(outcomes.iter().map(|c| c.admitted).collect::<Vec<_>>(), [true, true, true, false]);
        assert_eq!(outcomes.iter().map(|c| c.remaining).collect::<Vec<_>>(), [2, 1, 0, 0]);
        assert_eq!(outcomes[0].reset, 20, "one request drains in 20 s");
        assert_eq!(outcomes[2].reset, 60, "a full bucket in a minute");
        assert_eq!(outcomes[3].reset, 20, "the next request fits in 20 s");
        // Twenty seconds on, one request fits again.
        now += chrono::Duration::seconds(20);
        let (_, c) = policy.count(spent, t0, now);
        assert!(c.admitted && c.remaining == 0, "{c:?}");
    }
}
