//! The contract check: every answer the API tests receive is held against the OpenAPI contract
//! the service publishes (`tongxing_api::contract()`, the document served at `/api/v1/openapi.json`).
//! `helpers::TestApp::send_raw`, through which every request of the suite goes, calls [`check`]
//! on each answer before a test sees it; a test that talks raw HTTP over a socket calls
//! [`check_raw_http`]. A mismatch panics, failing the test that received the answer.
//!
//! What is checked:
//! - The request (method, and its path without the query string) is matched to an operation of
//!   the contract: the path template whose segments match, literal segments preferred over
//!   `{parameters}` (`/users/me` before `/users/{id}`).
//! - The answer's status must be one the operation declares (exactly, or as `4XX`/`default`).
//!   The contract has to document every status the service really answers.
//! - Its media type must be one the declared response lists, and a JSON answer
//!   (`application/json`, `application/problem+json`, any `+json`) must parse and validate
//!   against that media type's schema: JSON Schema 2020-12 (what OpenAPI 3.1 schemas are), with
//!   `#/components/...` references resolved in the contract's own components, and `format`
//!   asserted (uuid, date, date-time, email), not only annotated.
//!
//! Statuses produced globally, outside any operation. The shared error responses (401, 403,
//! 408, 413, 415, 429, 503, ...) are already added to each operation by the contract's own
//! `doc::decorate`, wherever the guard, the extractors or the middleware can answer them for that
//! operation; so for a request that *is* an operation of the contract, there is no global
//! allowance: a status it does not list is a failure, and the fix belongs in the contract. The
//! allowance is only for requests that are no operation at all, which the router and the guard
//! answer before any handler: a path the contract does not have answers 404, and a path it has
//! with a method it does not answer 405 (any method: an unknown one, HEAD, OPTIONS that is not a
//! CORS preflight). Such a JSON answer must be `application/problem+json` and match the shared
//! `Problem` schema; any other status, or a success, fails. Non-JSON answers to such requests
//! (a CORS preflight's empty 204 or 403) are not checked.
//!
//! Deliberately outside the contract, and skipped (listed in [`OUTSIDE`]): the contract
//! document itself (`/api/v1/openapi.json`), and the interactive documentation under `/docs`
//! (HTML, scripts and its own configuration JSON). `/healthz`, `/readyz`, `/metrics` and
//! `/.well-known/jwks.json` are operations of the contract and are checked like any other.
//!
//! Each schema is compiled once per test process, the first time an answer needs it, and kept
//! by its place in the contract (the shared error responses share one validator).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

/// Paths deliberately outside the contract: exact paths, and prefixes ending in `/`.
const OUTSIDE: &[&str] = &[
    // The contract itself, served by the documentation page's router.
    "/api/v1/openapi.json",
    // The interactive documentation: HTML, scripts, styles and `swagger-initializer` JSON.
    "/docs",
    "/docs/",
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// How much of a mismatching body a failure quotes.
const QUOTED: usize = 1500;

struct Contract {
    doc: Value,
    /// Path templates, split into segments.
    templates: Vec<(String, Vec<String>)>,
    /// Compiled validators, by the JSON pointer of their schema in `doc`.
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let doc = serde_json::to_value(tongxing_api::contract()).expect("the contract as JSON");
        let templates = doc["paths"]
            .as_object()
            .expect("the contract has paths")
            .keys()
            .map(|t| (t.clone(), segments(t)))
            .collect();
        Contract { doc, templates, validators: Mutex::new(HashMap::new()) }
    })
}

fn segments(path: &str) -> Vec<String> {
    path.trim_start_matches('/').split('/').map(str::to_owned).collect()
}

impl Contract {
    /// The template `path` matches, literal segments preferred over parameters.
    fn template(&self, path: &str) -> Option<&str> {
        let wanted = segments(path);
        self.templates
            .iter()
            .filter(|(_, t)| {
                t.len() == wanted.len()
                    && t.iter().zip(&wanted).all(|(t, w)| {
                        if t.starts_with('{') && t.ends_with('}') { !w.is_empty() } else { t == w }
                    })
            })
            .max_by_key(|(_, t)| t.iter().filter(|s| !s.starts_with('{')).count())
            .map(|(name, _)| name.as_str())
    }

    /// Follows a local `$ref` (`#/components/...`) to the JSON pointer it names.
    fn deref(&self, pointer: String) -> String {
        let mut pointer = pointer;
        for _ in 0..8 {
            match self.doc.pointer(&pointer).and_then(|v| v.get("$ref")).and_then(Value::as_str) {
                Some(r) if r.starts_with("#/") => pointer = r.trim_start_matches('#').to_owned(),
                _ => break,
            }
        }
        pointer
    }

    /// The validator of the schema at `pointer`, compiled on first use.
    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = cache.get(pointer) {
            return v.clone();
        }
        let schema = self.doc.pointer(pointer).unwrap_or_else(|| panic!("contract: no schema at {pointer}"));
        // The schema as the root of a document that also holds the contract's components, so
        // that `#/components/schemas/...` resolves as it does in the contract.
        let mut root = match schema {
            Value::Object(map) => map.clone(),
            other => panic!("contract: the schema at {pointer} is not an object: {other}"),
        };
        root.insert("components".into(), self.doc["components"].clone());
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("contract: the schema at {pointer} does not compile: {e}"));
        let validator = Arc::new(validator);
        cache.insert(pointer.to_owned(), validator.clone());
        validator
    }
}

/// Escapes a key for a JSON pointer.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// Holds one answer against the contract; panics, naming the operation, on any mismatch.
#[track_caller]
pub fn check(method: &str, path: &str, status: u16, content_type: Option<&str>, raw: &[u8]) {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if OUTSIDE.iter().any(|o| path == *o || (o.ends_with('/') && path.starts_with(o))) {
        return;
    }
    let c = contract();
    let media = content_type
        .map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty());
    let json = media.as_deref().is_some_and(is_json);
    // HEAD is answered as the GET of the route, without the body.
    let head = method.eq_ignore_ascii_case("head");
    assert!(!head || raw.is_empty(), "contract: HEAD {path} answered with a body");
    let method_key = if head { "get".to_owned() } else { method.to_ascii_lowercase() };
    let template = c.template(path);
    let operation = template.filter(|_| METHODS.contains(&method_key.as_str())).and_then(|t| {
        let pointer = format!("/paths/{}/{method_key}", escape(t));
        c.doc.pointer(&pointer).map(|op| (t, pointer, op))
    });
    let body = || {
        let text = String::from_utf8_lossy(raw);
        let mut cut: String = text.chars().take(QUOTED).collect();
        if text.chars().count() > QUOTED {
            cut.push_str(" …");
        }
        cut
    };

    let Some((template, op_pointer, op)) = operation else {
        // No operation: the router's 404 or the guard's 405, as a problem.
        if !json || head {
            return;
        }
        let (expected, why) = match template {
            None => (404, "a path the contract does not have"),
            Some(_) => (405, "a method the contract's path does not answer"),
        };
        let what = format!("{method} {path} ({why})");
        assert!(status == expected, "contract: {what} answered {status}, not {expected}; body: {}", body());
        assert!(
            media.as_deref() == Some("application/problem+json"),
            "contract: {what} answered {status} as {media:?}, not application/problem+json; body: {}",
            body()
        );
        validate(c, &what, status, "/components/schemas/Problem", raw, &body);
        return;
    };

    let operation_id = op["operationId"].as_str().unwrap_or("?");
    let what = format!("{method} {template} ({operation_id})");
    let responses = &op["responses"];
    let declared = [status.to_string(), format!("{}XX", status / 100), "default".to_owned()]
        .into_iter()
        .find(|s| responses.get(s).is_some());
    let Some(declared) = declared else {
        let listed: Vec<&String> = responses.as_object().map(|r| r.keys().collect()).unwrap_or_default();
        panic!(
            "contract: {what} answered {status}, a status the contract does not declare for it \
             (it declares {listed:?}); content type {media:?}; body: {}",
            body()
        );
    };
    let response = c.deref(format!("{op_pointer}/responses/{}", escape(&declared)));
    if head {
        return;
    }
    let Some(media) = media else {
        // No content type: only an empty answer, and only where the contract promises no body.
        let promises: Vec<&String> = c
            .doc
            .pointer(&format!("{response}/content"))
            .and_then(Value::as_object)
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert!(
            raw.is_empty() && promises.is_empty(),
            "contract: {what} answered {status} without a content type (the contract promises {promises:?}); \
             body: {}",
            body()
        );
        return;
    };
    let content = format!("{response}/content/{}", escape(&media));
    if c.doc.pointer(&content).is_none() {
        let listed: Vec<&String> = c
            .doc
            .pointer(&format!("{response}/content"))
            .and_then(Value::as_object)
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        panic!(
            "contract: {what} answered {status} as {media}, a media type the contract does not declare \
             for that status (it declares {listed:?}); body: {}",
            body()
        );
    }
    if !json {
        return;
    }
    let schema = format!("{content}/schema");
    assert!(
        c.doc.pointer(&schema).is_some(),
        "contract: {what} declares {status} {media} without a schema; body: {}",
        body()
    );
    let schema = c.deref(schema);
    validate(c, &what, status, &schema, raw, &body);
}

fn validate(c: &Contract, what: &str, status: u16, schema: &str, raw: &[u8], body: &dyn Fn() -> String) {
    let instance: Value = serde_json::from_slice(raw).unwrap_or_else(|e| {
        panic!("contract: {what} answered {status} with JSON that does not parse ({e}); body: {}", body())
    });
    let validator = c.validator(schema);
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .take(10)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("  at `{}`: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    assert!(
        errors.is_empty(),
        "contract: {what} answered {status}, which does not match its schema {}:\n{}\nbody: {}",
        schema.trim_start_matches("/components/schemas/"),
        errors.join("\n"),
        body()
    );
}

/// Holds a raw HTTP/1.1 answer (status line, headers, body with a length or chunked) against
/// the contract, for tests that talk to the service over a bare socket.
#[track_caller]
pub fn check_raw_http(method: &str, path: &str, answer: &[u8]) {
    let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        panic!("contract: {method} {path}: no complete HTTP answer: {}", String::from_utf8_lossy(answer));
    };
    let head = String::from_utf8_lossy(&answer[..split]);
    let mut rest = &answer[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("contract: {method} {path}: no status line in {head}"));
    let mut content_type = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        match name.as_str() {
            "content-type" => content_type = Some(value.to_owned()),
            "content-length" => rest = &rest[..value.parse::<usize>().unwrap_or(rest.len()).min(rest.len())],
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let body = if chunked {
        let mut body = Vec::new();
        while let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..end]).trim(), 16).unwrap_or(0);
            if size == 0 || rest.len() < end + 2 + size {
                break;
            }
            body.extend_from_slice(&rest[end + 2..end + 2 + size]);
            rest = rest.get(end + 2 + size + 2..).unwrap_or_default();
        }
        body
    } else {
        rest.to_vec()
    };
    check(method, path, status, content_type.as_deref(), &body);
}

/// Every example in the contract (a schema's `example`, a response's) is valid for its schema,
/// and a problem's example has the status of the response that shows it.
fn examples_are_valid() -> usize {
    let c = contract();
    let mut checked = 0;
    let schemas = c.doc["components"]["schemas"].as_object().expect("schemas");
    for (name, schema) in schemas {
        if let Some(example) = schema.get("example") {
            let pointer = format!("/components/schemas/{}", escape(name));
            let errors: Vec<String> =
                c.validator(&pointer).iter_errors(example).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "the example of {name} does not match its schema: {errors:?}");
            checked += 1;
        }
    }
    let responses = c.doc["components"]["responses"].as_object().expect("responses");
    for (name, response) in responses {
        for (media, content) in response["content"].as_object().into_iter().flatten() {
            let Some(example) = content.get("example") else { continue };
            let pointer =
                c.deref(format!("/components/responses/{}/content/{}/schema", escape(name), escape(media)));
            let errors: Vec<String> =
                c.validator(&pointer).iter_errors(example).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "the example of {name} does not match its schema: {errors:?}");
            checked += 1;
        }
    }
    checked
}

/// The check itself: it must refuse what breaks the contract, or it proves nothing.
mod tests {
    use super::check;

    #[test]
    fn every_example_matches_its_schema() {
        // A child, a household, a pairing and the bodies creating them; one problem per shared
        // error status.
        assert!(super::examples_are_valid() >= 6 + 14);
    }

    const JSON: Option<&str> = Some("application/json");
    const PROBLEM: Option<&str> = Some("application/problem+json");
    const NOT_FOUND: &[u8] =
        br#"{"type":"https://tongxing.example/problems/no_route","title":"Not Found","status":404,"detail":"no such endpoint","code":"no_route"}"#;

    #[test]
    #[should_panic(expected = "does not match its schema")]
    fn a_body_missing_required_fields_fails() {
        check("GET", "/api/v1/regions/0190a6f0-0000-7000-8000-000000000000", 200, JSON, b"{}");
    }

    #[test]
    #[should_panic(expected = "a status the contract does not declare")]
    fn an_undeclared_status_fails() {
        check("GET", "/api/v1/children?limit=5", 404, PROBLEM, NOT_FOUND);
    }

    #[test]
    #[should_panic(expected = "a media type the contract does not declare")]
    fn an_undeclared_media_type_fails() {
        check("GET", "/api/v1/children", 500, JSON, NOT_FOUND);
    }

    #[test]
    fn the_routers_404_is_a_problem() {
        check("GET", "/api/v1/no-such-thing", 404, PROBLEM, NOT_FOUND);
    }

    #[test]
    #[should_panic(expected = "not 404")]
    fn a_success_outside_the_contract_fails() {
        check("GET", "/api/v1/no-such-thing", 200, JSON, b"{}");
    }
}
