//! Raw SQL shared by both backends: queries are written with `?` placeholders.

use chrono::{NaiveDate, NaiveDateTime};
use tongxing_core::time;

use crate::Backend;

/// Rewrites `?` placeholders as `$1, $2, ...` for PostgreSQL. The SQL must hold no `?` in
/// literals or identifiers.
pub fn numbered(backend: Backend, sql: &str) -> String {
    match backend {
        Backend::Sqlite => sql.to_owned(),
        Backend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 16);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(ch);
                }
            }
            out
        }
    }
}

/// A day as a SQL literal, for a query whose plan should see the value. The bundled SQLite
/// keeps a statement's plan independent of bound values (the query planner stability guarantee,
/// `.cargo/config.toml`), so a period bound as a parameter leaves it guessing how much of a table
/// the period holds. Aggregating queries over a period write its bounds as literals; they are
/// dates and instants computed by the service, never text from a request.
pub fn date_literal(backend: Backend, day: NaiveDate) -> String {
    match backend {
        Backend::Sqlite => format!("'{day}'"),
        Backend::Postgres => format!("DATE '{day}'"),
    }
}

/// The instant a Shanghai day starts, as the database stores it, as a SQL literal; see
/// [`date_literal`].
pub fn day_start_literal(backend: Backend, day: NaiveDate) -> String {
    timestamp_literal(backend, time::to_db(time::start_of_local_day(day)))
}

/// A stored instant (UTC, as the database holds it) as a SQL literal.
pub fn timestamp_literal(backend: Backend, at: NaiveDateTime) -> String {
    let t = at.format("%Y-%m-%d %H:%M:%S%.f");
    match backend {
        Backend::Sqlite => format!("'{t}'"),
        Backend::Postgres => format!("TIMESTAMP '{t}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(numbered(Backend::Postgres, "a = ? AND b IN (?, ?)"), "a = $1 AND b IN ($2, $3)");
        assert_eq!(numbered(Backend::Sqlite, "a = ?"), "a = ?");
    }

    #[test]
    fn literals_are_written_as_each_backend_reads_them() {
        let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(date_literal(Backend::Sqlite, day), "'2024-02-29'");
        assert_eq!(date_literal(Backend::Postgres, day), "DATE '2024-02-29'");
        let at = day.and_hms_opt(16, 0, 0).unwrap();
        assert_eq!(timestamp_literal(Backend::Sqlite, at), "'2024-02-29 16:00:00'");
        assert_eq!(timestamp_literal(Backend::Postgres, at), "TIMESTAMP '2024-02-29 16:00:00'");
        // Shanghai is eight hours ahead of UTC.
        let next = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        assert_eq!(day_start_literal(Backend::Sqlite, next), "'2024-02-29 16:00:00'");
    }
}
