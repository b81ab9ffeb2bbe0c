//! Counters kept in the database, so that several service nodes share them.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use tongxing_core::Result;

use crate::{DbConnection, map_db_error};

#[derive(QueryableByName)]
struct Value {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

/// Increments the named counter and returns its new value (1 the first time). Run it inside the
/// transaction that uses the value: the row lock serialises concurrent callers.
pub fn next(conn: &mut DbConnection, name: &str) -> Result<i64> {
    let sql = match conn.backend() {
        crate::Backend::Postgres => {
            "INSERT INTO counters (name, value) VALUES ($1, 1) \
             ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
        }
        crate::Backend::Sqlite => {
            "INSERT INTO counters (name, value) VALUES (?, 1) \
             ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
        }
    };
    let row: Value = diesel::sql_query(sql).bind::<Text, _>(name).get_result(conn).map_err(map_db_error)?;
    Ok(row.value)
}
