//! Storage: the diesel schema, one connection type over SQLite and PostgreSQL, the pool, the
//! embedded migrations, the transaction helper and the mapping of database errors.

pub mod conn;
pub mod counter;
pub mod error;
pub mod id;
pub mod outage;
pub mod replica;
pub mod schema;
pub mod settings;
pub mod sql;
#[cfg(feature = "testing")]
pub mod testing;

pub use conn::{Backend, Db, DbConnection, PooledConn, transaction};
pub use error::{map_db_error, not_found_as};
pub use id::{DbId, DbText};

/// A multi-row insert on the concrete backend (the two-backend connection type inserts one row
/// at a time): `insert_batch!(conn, table, &rows)` gives the rows written, errors mapped.
#[macro_export]
macro_rules! insert_batch {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::DbConnection::Sqlite(c) => {
                ::diesel::RunQueryDsl::execute(::diesel::insert_into($table).values($rows), c)
            }
            $crate::DbConnection::Postgres(c) => {
                ::diesel::RunQueryDsl::execute(::diesel::insert_into($table).values($rows), c)
            }
        }
        .map_err($crate::map_db_error)
    };
}
