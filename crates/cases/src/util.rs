use diesel::result::Error as DieselError;
use tongxing_core::{Error, Result};
use uuid::Uuid;

/// A record with the version that its `ETag` carries.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub record: T,
    pub version: i32,
}

pub(crate) fn parse_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|e| Error::internal(format!("bad id `{raw}` in the database: {e}")))
}

pub(crate) fn parse_opt_id(raw: Option<&str>) -> Result<Option<Uuid>> {
    raw.map(parse_id).transpose()
}

/// A `LIKE` pattern matching `text` anywhere, with the wildcards in `text` escaped by `\`.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// Trims optional text; blank becomes absent.
pub(crate) fn clean(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Maps a `NotFound` from a single-row query to the named resource.
pub(crate) fn not_found_as(resource: &'static str) -> impl Fn(DieselError) -> Error {
    move |e| match e {
        DieselError::NotFound => Error::not_found(resource),
        other => tongxing_store::map_db_error(other),
    }
}

/// Checks `If-Match` against the stored version; the update itself re-checks it atomically.
pub(crate) fn check_version(stored: i32, expected: i32) -> Result<()> {
    if stored == expected { Ok(()) } else { Err(Error::PreconditionFailed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("王_100%"), "%王\\_100\\%%");
    }
}
