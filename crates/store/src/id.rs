//! Ids and enums at the store boundary. Every id column is text on both backends (a UUID in its hyphenated
//! lower-case form); [`DbId`] binds and reads one directly, so a query filters with
//! `table::id.eq(DbId(id))` and a row holds a `DbId`, with no `to_string()` and no parsing in
//! every converter. A stored value that is not a UUID is a deserialisation error (a bug or a
//! damaged row), never silently another id.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;
use diesel::sqlite::{Sqlite, SqliteValue};
use std::io::Write;
use tongxing_core::TextEnum;
use uuid::Uuid;

use crate::conn::{MultiBackend, MultiRawValue};

/// A UUID stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct DbId(pub Uuid);

impl From<Uuid> for DbId {
    fn from(id: Uuid) -> Self {
        DbId(id)
    }
}

impl From<DbId> for Uuid {
    fn from(id: DbId) -> Self {
        id.0
    }
}

fn parse(text: &str) -> deserialize::Result<DbId> {
    Uuid::parse_str(text).map(DbId).map_err(|e| format!("a stored id is not a UUID ({text:?}): {e}").into())
}

impl ToSql<Text, Pg> for DbId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        let mut buf = Uuid::encode_buffer();
        out.write_all(self.0.hyphenated().encode_lower(&mut buf).as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for DbId {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        parse(std::str::from_utf8(value.as_bytes())?)
    }
}

impl ToSql<Text, Sqlite> for DbId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Sqlite> for DbId {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        parse(&text)
    }
}

impl ToSql<Text, MultiBackend> for DbId {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

impl FromSql<Text, MultiBackend> for DbId {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Text>()
    }
}

/// An enum stored as text ([`TextEnum`]): a row holds the enum, and a filter binds it, with no
/// string in between. An unknown stored value is a deserialisation error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub struct DbText<T: TextEnum>(pub T);

fn read_text<T: TextEnum>(text: &str) -> deserialize::Result<DbText<T>> {
    T::from_db(text).map(DbText).map_err(|e| e.to_string().into())
}

impl<T: TextEnum> ToSql<Text, Pg> for DbText<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.0.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl<T: TextEnum> FromSql<Text, Pg> for DbText<T> {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        read_text(std::str::from_utf8(value.as_bytes())?)
    }
}

impl<T: TextEnum> ToSql<Text, Sqlite> for DbText<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.as_str());
        Ok(IsNull::No)
    }
}

impl<T: TextEnum> FromSql<Text, Sqlite> for DbText<T> {
    fn from_sql(value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        read_text(&text)
    }
}

impl<T: TextEnum> ToSql<Text, MultiBackend> for DbText<T> {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Text, self));
        Ok(IsNull::No)
    }
}

impl<T: TextEnum> FromSql<Text, MultiBackend> for DbText<T> {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Text>()
    }
}
