//! Request extraction with problem+json errors: JSON bodies (content type, size, syntax, unknown
//! fields, validation), conditional-request and idempotency headers, query strings and paths.

use std::future::Future;
use std::pin::Pin;
use tongxing_core::Code;

use actix_web::dev::Payload;
use actix_web::error::{PathError, PayloadError};
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tongxing_core::Error;
use validator::Validate;

use crate::problem::ApiError;
use crate::validation::flatten;

/// A JSON body, parsed strictly and validated, with the digest of its canonical form (for
/// idempotency).
pub struct JsonBody<T> {
    pub value: T,
    pub digest: String,
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let media = media_type(req);
        let is_json =
            media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"));
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Code::UnsupportedMediaType,
                    "send the body as application/json",
                ));
            }
            let bytes = bytes.await.map_err(|e| payload_error(e.as_error::<PayloadError>()))?;
            let mut raw = serde_json::from_slice::<Strict>(&bytes).map_err(json_error)?.0;
            whole_numbers_as_integers(&mut raw);
            let mut bad = Vec::new();
            find_control_characters("", &raw, &mut bad);
            if !bad.is_empty() {
                return Err(ApiError::validation(bad));
            }
            // The request's identity for idempotency: its canonical JSON (object keys in order,
            // whole numbers as integers), so key order and number spelling do not matter.
            let digest = format!("{:x}", Sha256::digest(raw.to_string()));
            let value: T = serde_path_to_error::deserialize(raw).map_err(|e| {
                let field = field_path(e.path());
                json_error_at(e.into_inner(), field)
            })?;
            value.validate().map_err(|e| ApiError::validation(flatten(&e)))?;
            Ok(JsonBody { value, digest })
        })
    }
}

/// A body as bytes, whatever its type, within the size and time limits [`JsonBody`] has.
pub struct RawBody(pub web::Bytes);

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(
            async move { bytes.await.map(RawBody).map_err(|e| payload_error(e.as_error::<PayloadError>())) },
        )
    }
}

/// A JSON document read as [`JsonBody`] reads it: an object with the same key twice is refused.
pub(crate) fn strict_json(bytes: &[u8]) -> serde_json::Result<serde_json::Value> {
    serde_json::from_slice::<Strict>(bytes).map(|s| s.0)
}

/// A JSON value that refuses an object with the same key twice: parsers disagree on which one
/// wins, so a duplicate could mean one thing to a gateway and another here.
struct Strict(serde_json::Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(items.into())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!("the key `{key}` appears twice")));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(out.into())
    }
}

/// JSON has one number type: `2.0` is the integer 2 (as JSON Schema's `integer` says), so a
/// whole number written with a fraction is read as an integer field would read `2`.
fn whole_numbers_as_integers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15) {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(map) => map.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// The request's media type, lower-case, without parameters; empty when it sent none.
pub(crate) fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Text may hold tabs and line breaks, but no other control characters: NUL cannot be stored
/// by PostgreSQL, and the rest are never meant.
pub(crate) fn holds_control_characters(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn find_control_characters(path: &str, v: &serde_json::Value, out: &mut Vec<tongxing_core::FieldError>) {
    use serde_json::Value;
    match v {
        Value::String(s) if holds_control_characters(s) => {
            out.push(tongxing_core::FieldError::new(
                path,
                "control_character",
                "text may not contain control characters",
            ));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_control_characters(&format!("{path}[{i}]"), item, out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                find_control_characters(&p, item, out);
            }
        }
        _ => {}
    }
}

pub(crate) fn payload_error(e: Option<&PayloadError>) -> ApiError {
    match e {
        Some(PayloadError::Overflow) => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, Code::BodyTooLarge, "the request body is too large")
        }
        Some(e) if crate::body::is_timeout(e) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            Code::BodyTimeout,
            "the request body stopped arriving; send it again",
        )
        .closing(),
        _ => {
            ApiError::new(StatusCode::BAD_REQUEST, Code::UnreadableBody, "the request body could not be read")
        }
    }
}

fn json_error(e: serde_json::Error) -> ApiError {
    json_error_at(e, String::new())
}

/// A body refused by serde: `field` is where, when a field's value was refused (then the detail
/// names it too, and the problem's `errors` has it with the code `invalid_value`).
fn json_error_at(e: serde_json::Error, field: String) -> ApiError {
    use serde_json::error::Category;
    let code = match e.classify() {
        Category::Syntax | Category::Eof => Code::MalformedJson,
        Category::Data => Code::InvalidBody,
        Category::Io => Code::UnreadableBody,
    };
    // serde's message names the expected type or the rule and the position; no data is echoed
    // beyond what the client sent.
    at_field(ApiError::new(StatusCode::BAD_REQUEST, code, "the JSON body is not acceptable"), field, e)
}

/// Completes a refusal's detail with serde's message, naming the field it concerns, if any.
fn at_field(e: ApiError, field: String, why: impl std::fmt::Display) -> ApiError {
    if field.is_empty() {
        return e.with_detail_suffix(&why.to_string());
    }
    e.with_detail_suffix(&format!("{field}: {why}")).with_fields(vec![tongxing_core::FieldError::new(
        field,
        "invalid_value",
        why.to_string(),
    )])
}

/// A serde path as the problem's `errors` name fields: `guardians[0].phone`; empty for the
/// body as a whole.
fn field_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// `If-Match: "<version>"`, required by updates.
pub struct IfMatch(pub Option<i32>);

impl IfMatch {
    pub fn required(&self) -> Result<i32, ApiError> {
        self.0.ok_or_else(|| Error::PreconditionRequired.into())
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_if_match(req.headers().get(header::IF_MATCH)))
    }
}

fn parse_if_match(value: Option<&header::HeaderValue>) -> Result<IfMatch, ApiError> {
    let Some(value) = value else { return Ok(IfMatch(None)) };
    // A value that is not one version's ETag matches no version, so the precondition fails
    // (RFC 9110 13.1.1); the code tells the client its header, not the record, is at fault.
    let bad = || {
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            Code::InvalidIfMatch,
            "If-Match must be one ETag as returned by a read",
        )
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    // If-Match compares strongly (RFC 9110 13.1.1): a weak ETag matches no version.
    if text.starts_with("W/") {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            Code::InvalidIfMatch,
            "If-Match compares strongly: a weak ETag (W/...) matches no version; send the ETag as read",
        ));
    }
    let inner = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).ok_or_else(bad)?;
    let version = inner.parse::<i32>().map_err(|_| bad())?;
    if version < 1 {
        return Err(bad());
    }
    Ok(IfMatch(Some(version)))
}

pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// `Idempotency-Key`: 1 to 200 visible ASCII characters, chosen by the client per operation.
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.headers().get("idempotency-key") {
            None => Ok(IdempotencyKey(None)),
            Some(v) => match v.to_str() {
                Ok(s) if !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| b.is_ascii_graphic()) => {
                    Ok(IdempotencyKey(Some(s.to_owned())))
                }
                _ => Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidIdempotencyKey,
                    "Idempotency-Key must be 1 to 200 visible ASCII characters",
                )),
            },
        };
        std::future::ready(result)
    }
}

pub fn path_error(e: PathError, _: &HttpRequest) -> actix_web::Error {
    let detail = match e {
        PathError::Deserialize(d) => format!("the path is not acceptable: {d}"),
        _ => "the path is not acceptable".to_owned(),
    };
    ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidPath, detail).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<IfMatch, ApiError> {
        parse_if_match(Some(&header::HeaderValue::from_str(s).unwrap()))
    }

    #[test]
    fn if_match_takes_one_version_etag() {
        assert_eq!(parse("\"3\"").unwrap().0, Some(3));
        for bad in ["W/\"3\"", "3", "\"x\"", "*", "\"0\"", "\"1\", \"2\"", "\"99999999999\""] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_if_match(None).unwrap().0, None);
    }
}

/// The longest value a query parameter may have, in characters (a search text, a cursor).
pub const MAX_QUERY_VALUE_CHARS: usize = 200;

/// A query string, parsed strictly: unknown parameters, control characters and values over
/// [`MAX_QUERY_VALUE_CHARS`] are refused.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()))
    }
}

fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<Query<T>, ApiError> {
    let bad = |detail: String| ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidQuery, detail);
    let pairs = web::Query::<Vec<(String, String)>>::from_query(raw)
        .map_err(|e| bad(format!("the query string is not acceptable: {e}")))?;
    if pairs.iter().any(|(n, v)| n.chars().chain(v.chars()).any(char::is_control)) {
        return Err(bad("the query string may not contain control characters".into()));
    }
    if let Some((name, _)) = pairs.iter().find(|(_, v)| v.chars().count() > MAX_QUERY_VALUE_CHARS) {
        return Err(bad(format!("`{name}` is longer than {MAX_QUERY_VALUE_CHARS} characters")));
    }
    let pairs = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(pairs).map(Query).map_err(|e| {
        let field = field_path(e.path());
        at_field(bad("the query string is not acceptable".into()), field, e.inner())
    })
}

#[cfg(test)]
mod query_tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Q {
        #[expect(dead_code, reason = "only parsed")]
        q: Option<String>,
    }

    #[test]
    fn control_characters_are_refused_encoded_or_not() {
        for raw in ["q=%00", "q=a%0Ab", "q=%7f", "q=%C2%85", "q=a\tb"] {
            assert!(parse_query::<Q>(raw).is_err(), "{raw}");
        }
        for raw in ["q=%E5%B0%8F", "q=100%25", ""] {
            assert!(parse_query::<Q>(raw).is_ok(), "{raw}");
        }
    }

    #[test]
    fn overlong_values_are_refused() {
        assert!(parse_query::<Q>(&format!("q={}", "小".repeat(200))).is_ok());
        assert!(parse_query::<Q>(&format!("q={}", "小".repeat(201))).is_err());
    }
}
