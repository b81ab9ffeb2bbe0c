//! Service state kept in the database (e.g. a generated signing key shared by every node).

use diesel::prelude::*;
use tongxing_core::Result;

use crate::schema::settings;
use crate::{DbConnection, map_db_error, transaction};

pub fn get(conn: &mut DbConnection, key: &str) -> Result<Option<String>> {
    settings::table.find(key).select(settings::value).first(conn).optional().map_err(map_db_error)
}

/// Returns the stored value, or stores `make()` when there is none. When two nodes race, the
/// first write wins and both return it.
pub fn get_or_insert(conn: &mut DbConnection, key: &str, make: impl FnOnce() -> String) -> Result<String> {
    if let Some(v) = get(conn, key)? {
        return Ok(v);
    }
    let value = make();
    let inserted = transaction(conn, |c| {
        diesel::insert_into(settings::table)
            .values((settings::key.eq(key), settings::value.eq(&value)))
            .execute(c)
            .map_err(map_db_error)
    });
    match inserted {
        Ok(_) => Ok(value),
        Err(_) => get(conn, key)?.ok_or_else(|| tongxing_core::Error::internal("setting vanished")),
    }
}
