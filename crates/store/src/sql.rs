//! Raw SQL shared by both backends: queries are written with `?` placeholders.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(numbered(Backend::Postgres, "a = ? AND b IN (?, ?)"), "a = $1 AND b IN ($2, $3)");
        assert_eq!(numbered(Backend::Sqlite, "a = ?"), "a = ?");
    }
}
