//! `DbId` binds and reads a UUID stored as text on both backends, as `to_string()` wrote it, so
//! typed and untyped code read each other's rows; a stored value that is not a UUID is an error.

use diesel::prelude::*;
use tongxing_store::DbId;
use tongxing_store::schema::regions;
use tongxing_store::testing::{TestDb, backends};
use uuid::Uuid;

#[test]
fn ids_round_trip_as_text_on_both_backends() {
    for backend in backends() {
        let db = TestDb::migrated(backend);
        let mut conn = db.connect();
        let id = Uuid::parse_str("0190f0a0-0000-7000-8000-00000000abcd").unwrap();
        let now = chrono::Utc::now().naive_utc();
        diesel::insert_into(regions::table)
            .values((
                regions::id.eq(DbId(id)),
                regions::level.eq("city"),
                regions::name.eq("测试市"),
                regions::path.eq(format!("/{id}/")),
                regions::created_at.eq(now),
                regions::updated_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        // Stored as the hyphenated lower-case text that untyped code writes and compares.
        let text: String = regions::table.find(id.to_string()).select(regions::id).first(&mut conn).unwrap();
        assert_eq!(text, id.to_string(), "{backend:?}");
        // Read back typed, and found by a typed filter.
        let typed: DbId =
            regions::table.filter(regions::id.eq(DbId(id))).select(regions::id).first(&mut conn).unwrap();
        assert_eq!(typed, DbId(id), "{backend:?}");
        // A stored value that is not a UUID is an error, not another id.
        diesel::update(regions::table.find(id.to_string()))
            .set(regions::path.eq("not-a-uuid"))
            .execute(&mut conn)
            .unwrap();
        let bad: Result<DbId, _> = regions::table.find(id.to_string()).select(regions::path).first(&mut conn);
        assert!(bad.is_err(), "{backend:?}: {bad:?}");
    }
}

/// A region's level, as a test enum stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    City,
    Village,
}

impl tongxing_core::TextEnum for Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::Village => "village",
        }
    }

    fn from_db(s: &str) -> tongxing_core::Result<Self> {
        match s {
            "city" => Ok(Level::City),
            "village" => Ok(Level::Village),
            other => Err(tongxing_core::Error::internal(format!("unknown level {other}"))),
        }
    }
}

#[test]
fn enums_round_trip_as_text_on_both_backends() {
    use tongxing_store::DbText;
    for backend in backends() {
        let db = TestDb::migrated(backend);
        let mut conn = db.connect();
        let id = Uuid::parse_str("0190f0a0-0000-7000-8000-00000000abce").unwrap();
        let now = chrono::Utc::now().naive_utc();
        diesel::insert_into(regions::table)
            .values((
                regions::id.eq(DbId(id)),
                regions::level.eq(DbText(Level::Village)),
                regions::name.eq("测试村"),
                regions::path.eq(format!("/{id}/")),
                regions::created_at.eq(now),
                regions::updated_at.eq(now),
            ))
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        let text: String =
            regions::table.find(id.to_string()).select(regions::level).first(&mut conn).unwrap();
        assert_eq!(text, "village", "{backend:?}");
        let typed: DbText<Level> = regions::table
            .filter(regions::level.eq(DbText(Level::Village)))
            .select(regions::level)
            .first(&mut conn)
            .unwrap();
        assert_eq!(typed, DbText(Level::Village), "{backend:?}");
        // A stored value the enum does not know is an error, not a default.
        let unknown: Result<DbText<Level>, _> =
            regions::table.find(id.to_string()).select(regions::name).first(&mut conn);
        assert!(unknown.is_err(), "{backend:?}: {unknown:?}");
    }
}
