//! Cursor pagination: lists are ordered by id (UUID v7, so by creation) and a cursor is the
//! opaque encoding of the last id of a page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::{Error, Result};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

const PREFIX: &str = "v1:";

/// A page of a list, and the cursor of the next page when there is one.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in id order: the extra row, when
    /// present, only proves that another page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> Uuid) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| encode_cursor(id_of(last)))
        } else {
            None
        };
        Page { items: rows, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: i64,
}

impl PageRequest {
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::of_field(
                crate::FieldError::new(
                    "limit",
                    "out_of_range",
                    format!("limit must be between 1 and {MAX_LIMIT}"),
                )
                .with("min", 1)
                .with("max", MAX_LIMIT),
            ));
        }
        let after = cursor.map(decode_cursor).transpose()?;
        Ok(Self { after, limit })
    }

    /// Rows to fetch: one more than the page holds.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

/// An opaque cursor over any sort key (`kind` tags what the key belongs to).
pub fn encode_key(kind: &str, key: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{key}"))
}

pub fn decode_key(kind: &str, cursor: &str) -> Result<String> {
    let bad = || Error::field("cursor", "invalid_cursor", "the cursor is not one this service issued");
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?).map_err(|_| bad())?;
    text.strip_prefix(kind).and_then(|t| t.strip_prefix(':')).map(str::to_owned).ok_or_else(bad)
}

pub fn encode_cursor(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{PREFIX}{id}"))
}

pub fn decode_cursor(cursor: &str) -> Result<Uuid> {
    let bad = || Error::field("cursor", "invalid_cursor", "the cursor is not one this service issued");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let id = text.strip_prefix(PREFIX).ok_or_else(bad)?;
    Uuid::parse_str(id).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_forgeries_are_refused() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("not-a-cursor!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("v1:1234")).is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode(id.to_string())).is_err());
    }

    #[test]
    fn limit_is_bounded() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(-5), None).is_err());
        assert!(PageRequest::parse(Some(MAX_LIMIT + 1), None).is_err());
    }

    #[test]
    fn extra_row_yields_a_cursor_to_the_last_item_kept() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_rows(ids.clone(), 2, |id| *id);
        assert_eq!(page.items.len(), 2);
        assert_eq!(decode_cursor(page.next_cursor.as_deref().unwrap()).unwrap(), ids[1]);
        let last = Page::from_rows(ids[..2].to_vec(), 2, |id| *id);
        assert!(last.next_cursor.is_none());
    }
}
