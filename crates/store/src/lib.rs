//! Storage: the diesel schema, one connection type over SQLite and PostgreSQL, the pool, the
//! embedded migrations, the transaction helper and the mapping of database errors.

pub mod conn;
pub mod counter;
pub mod error;
pub mod schema;
pub mod settings;
pub mod sql;

pub use conn::{Backend, Db, DbConnection, PooledConn, transaction};
pub use error::{map_db_error, not_found_as};
