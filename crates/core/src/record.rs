//! Helpers every record type shares: versions for `ETag`/`If-Match`, stored ids, text.

use uuid::Uuid;

use crate::{Error, Result};

/// A record with the version that its `ETag` carries.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub record: T,
    pub version: i32,
}

impl<T> Versioned<T> {
    /// The same version of a changed view of the record (a masked one, say).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Versioned<U> {
        Versioned { record: f(self.record), version: self.version }
    }
}

/// Checks `If-Match` against the stored version; the update itself re-checks it atomically.
pub fn check_version(stored: i32, expected: i32) -> Result<()> {
    if stored == expected { Ok(()) } else { Err(Error::PreconditionFailed) }
}

/// Reads an id stored as text; a bad one is a storage fault.
pub fn parse_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|e| Error::internal(format!("bad id `{raw}` in the database: {e}")))
}

pub fn parse_opt_id(raw: Option<&str>) -> Result<Option<Uuid>> {
    raw.map(parse_id).transpose()
}

/// A `LIKE` pattern matching `text` anywhere, with the wildcards in `text` escaped by `\`.
pub fn contains_pattern(text: &str) -> String {
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

/// Whether a phone number holds only what people dial: digits, spaces, `+` and `-`.
/// What [`is_dialable`] accepts, for the contract.
pub const PHONE_PATTERN: &str = "^[-+ 0-9]*$";

pub fn is_dialable(phone: &str) -> bool {
    phone.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' '))
}

/// Trims optional text; blank becomes absent.
pub fn clean(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("王_100%"), "%王\\_100\\%%");
    }

    #[test]
    fn phone_numbers_hold_only_dialable_characters() {
        assert!(is_dialable("+86 138-0000-0000"));
        assert!(!is_dialable("138'; DROP"));
    }

    #[test]
    fn blank_text_is_absent() {
        assert_eq!(clean(Some("  ".into())), None);
        assert_eq!(clean(Some(" 王 ".into())).as_deref(), Some("王"));
    }
}
