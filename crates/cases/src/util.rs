pub(crate) use tongxing_core::record::{
    Versioned, check_version, clean, contains_pattern, parse_id, parse_opt_id,
};
pub(crate) use tongxing_store::not_found_as;

use diesel::prelude::*;
use tongxing_core::{Error, Result};
use tongxing_store::schema::organisations;
use tongxing_store::{DbConnection, DbId, map_db_error};
use uuid::Uuid;

/// Checks that the organisation a body names in `field` exists (422 naming the field if not).
/// Organisations are reference data every admitted caller reads; case records name them (a
/// case's organisation, a sharing consent's), and so do the events crate's records.
pub fn require_organisation(conn: &mut DbConnection, id: Uuid, field: &str) -> Result<()> {
    let n: i64 = organisations::table
        .filter(organisations::id.eq(DbId(id)))
        .count()
        .get_result(conn)
        .map_err(map_db_error)?;
    if n == 0 { Err(Error::field(field, "not_found", "no organisation with this id")) } else { Ok(()) }
}
