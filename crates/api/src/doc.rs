//! The OpenAPI contract. Paths and schemas come from the handlers' annotations, collected from
//! their one registration ([`crate::endpoints`]); the shared error responses, the bearer
//! security and each operation's access rule are added to every operation here, so no handler
//! can forget them.

use utoipa::openapi::path::{HttpMethod, Operation, ParameterIn};
use utoipa::openapi::response::{ResponseBuilder, Responses};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Spec, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::problem::{PROBLEM_JSON, Problem, ProblemField};
use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tongxing",
        description = "Case files, mentor pairings, volunteer events, counselling and reports for a city's child-welfare volunteer programmes.\n\nErrors are `application/problem+json` with a stable `code`; their `title`, `detail` and field messages are in Simplified Chinese or English as `Accept-Language` asks (q-values honoured; Simplified Chinese by default), said in `Content-Language`, while codes and field names stay English. Lists use cursor pagination. Creates accept `Idempotency-Key`; reads return `ETag` and updates require `If-Match`.\n\nEach operation says who may call it. A record outside the caller's scope answers 404. National ID numbers are masked, and health, disability and assessment notes, addresses and phone numbers are withheld, for everyone but admins, coordinators and caseworkers. Reports withhold the figures resting on fewer than five children (configurable) from callers who may not read those children. Every read of a child's record, every write, login and export is in the audit log.\n\nDates (`YYYY-MM-DD`) and timestamps (RFC 3339 with a zone) are taken from 1900-01-01 to 2200-12-31, as each one's `pattern` states; outside that range, 400 naming the field or parameter. A request body must keep arriving: after a pause longer than the service's body timeout (10 s unless configured otherwise) the answer is 408 `body_timeout` and the connection is closed.",
        version = "1.13.0",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    servers((url = "/", description = "This deployment (production, staging or development: the environment it is deployed as)")),
    components(schemas(Problem, ProblemField, routes::reports::ReportFormat, crate::audit::AuditAction)),
    tags(
        (name = "auth", description = "Tokens"),
        (name = "users", description = "User accounts"),
        (name = "api-clients", description = "Partner organisations' API clients (client credentials)"),
        (name = "audit", description = "The access audit log: who read or changed a child's record"),
        (name = "regions", description = "The region tree: city, district, town, village"),
        (name = "households", description = "Households and guardians"),
        (name = "children", description = "Children, their case files and assessments"),
        (name = "contacts", description = "Case-work phone and in-person visits"),
        (name = "consents", description = "Guardian consent"),
        (name = "pairings", description = "Mentors, their one-to-one pairings with children, and pair contacts (\"1+1\")"),
        (name = "counselling", description = "Home counselling enrolments, sessions and their weekly timeline (\"1+N\")"),
        (name = "events", description = "Organisations, volunteers and their clearance, teams, events, rosters and attendance (\"5+N\")"),
        (name = "reports", description = "The programmes' figures by their definitions, as JSON or CSV"),
        (name = "compliance", description = "Cadence rules, exemptions, and what is at risk or missed"),
        (name = "operations", description = "Liveness, readiness, metrics"),
    ),
)]
pub struct ApiDoc;

/// The contract: the base document ([`ApiDoc`]: info, shared components, tags), every endpoint
/// as [`crate::endpoints`] registers it, and the conventions each operation follows.
pub fn contract() -> Spec {
    use utoipa_actix_web::AppExt;
    let (_, endpoints) =
        actix_web::App::new().into_utoipa_app().configure(crate::endpoints).split_for_parts();
    let mut spec = ApiDoc::openapi();
    spec.merge(endpoints);
    Conventions.modify(&mut spec);
    spec
}

struct Conventions;

/// The shared error responses: (status, name, description).
pub(crate) const ERRORS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "The request does not match the contract: malformed JSON, unknown fields, wrong types, values \
         outside the stated formats, lengths or ranges, bad query or path values",
    ),
    ("401", "Unauthorized", "Missing, invalid or expired access token"),
    ("403", "Forbidden", "The caller's role may not do this"),
    (
        "404",
        "NotFound",
        "No such record, or none the caller reaches; for a create sent again with its Idempotency-Key, the \
         record it created is no longer one the caller reaches",
    ),
    (
        "408",
        "RequestTimeout",
        "The request body stopped arriving for longer than the service waits (`body_timeout`); the \
         connection is closed. Send the request again",
    ),
    ("409", "Conflict", "The request conflicts with the record's state"),
    (
        "410",
        "Gone",
        "The child's record was merged into another (`child_merged`); `merged_into` names the record that \
         survived, which the caller may read",
    ),
    (
        "412",
        "PreconditionFailed",
        "If-Match names a version that is no longer current, or is not an ETag at all",
    ),
    ("413", "PayloadTooLarge", "The body is over the size limit"),
    ("415", "UnsupportedMediaType", "The body is not application/json"),
    (
        "422",
        "Unprocessable",
        "The request matches the contract but breaks a rule of the domain (`validation_failed`, listing each \
         field: a referenced record that does not exist, dates out of order, a state that does not allow \
         it), or reuses an Idempotency-Key for a different request (`idempotency_key_reused`)",
    ),
    ("428", "PreconditionRequired", "The update needs an If-Match header"),
    ("429", "TooManyRequests", "Too many requests or failed logins; retry after the Retry-After seconds"),
    ("500", "InternalError", "An unexpected error; details are in the service's logs"),
    (
        "503",
        "Unavailable",
        "The database is unavailable (`unavailable`), or, for reports and the alert list, as many are being \
         computed as the service allows at once and this one waited 30 s for its turn (`busy`); retry after \
         the Retry-After seconds",
    ),
];

impl Modify for Conventions {
    fn modify(&self, spec: &mut Spec) {
        let components = spec.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT access token from `/api/v1/oauth/token` (or `/api/v1/auth/token`, `/api/v1/auth/client-token`), following \
                         RFC8725: signed with EdDSA only, naming its key in `kid` (public keys at \
                         `/.well-known/jwks.json`), with `iss`, `aud`, `exp` and `nbf` required and checked.",
                    ))
                    .build(),
            ),
        );
        for (_, name, description) in ERRORS {
            let response = ResponseBuilder::new()
                .description(*description)
                .content(
                    PROBLEM_JSON,
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                )
                .build();
            components.responses.insert((*name).to_owned(), RefOr::T(response));
        }
        state_what_is_enforced(spec);
        for (path, item) in spec.paths.paths.iter_mut() {
            let ops: [(HttpMethod, &mut Option<Operation>); 4] = [
                (HttpMethod::Get, &mut item.get),
                (HttpMethod::Post, &mut item.post),
                (HttpMethod::Put, &mut item.put),
                (HttpMethod::Delete, &mut item.delete),
            ];
            for (method, op) in ops {
                if let Some(op) = op.as_mut() {
                    decorate(path, method, op);
                }
            }
        }
    }
}

/// Every operation of a contract: (method, path, operation id).
pub fn operations(spec: &Spec) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    for (path, item) in &spec.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            if let Some(id) = op.as_ref().and_then(|o| o.operation_id.clone()) {
                out.push((method, path.clone(), id));
            }
        }
    }
    out
}

/// Adds the errors an operation can answer with, and bearer security unless it declared its own.
fn decorate(path: &str, method: HttpMethod, op: &mut Operation) {
    let public = op.security.as_ref().is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()));
    let api = path.starts_with("/api/");
    let has_body = op.request_body.is_some();
    let has_id = path.contains('{');
    let is_update = matches!(method, HttpMethod::Put);
    let has_param = |name: &str| {
        op.parameters.as_ref().is_some_and(|ps| ps.iter().any(|p| matches!(p, RefOr::T(p) if p.name == name)))
    };
    let replays = has_param("Idempotency-Key");
    let has_query = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query))
    });
    let conditional = has_param("If-Match");
    // The OAuth endpoints answer a body they cannot read with an OAuth error (400).
    let oauth = path.starts_with("/api/v1/oauth/");
    let wanted: Vec<&str> = ERRORS
        .iter()
        .map(|(status, _, _)| *status)
        .filter(|status| match *status {
            "400" => api,
            "401" => api,
            "403" => api && !public,
            // A record by its id; or the replay of a create whose record the caller no longer
            // reaches (`idempotency`: a replay shows no more than the caller's read).
            "404" => has_id || replays,
            "409" => api && !public && !matches!(method, HttpMethod::Get),
            // A child's record merged away (`tongxing_cases::merges`).
            "410" => path == "/api/v1/children/{id}" && matches!(method, HttpMethod::Get),
            "412" => conditional,
            "408" | "413" => has_body,
            "415" => has_body && !oauth,
            "422" => api && !oauth && (has_body || has_query || replays),
            "428" => is_update && conditional,
            "429" => api,
            "500" => true,
            "503" => !path.ends_with("healthz") && !path.ends_with("metrics"),
            _ => false,
        })
        .collect();
    let responses: &mut Responses = &mut op.responses;
    for (status, name, _) in ERRORS.iter().filter(|(s, _, _)| wanted.contains(s)) {
        responses
            .responses
            .entry((*status).to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
    }
    if let Some(rule) = op.operation_id.as_deref().and_then(crate::access::rule_of) {
        let who = who_may_call(rule);
        let text = op.description.get_or_insert_with(String::new);
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&who);
    }
    if public {
        op.security = None;
    } else if api && op.security.is_none() {
        op.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
    }
}

/// The access rule, in words, for the operation's description.
fn who_may_call(rule: &crate::access::Rule) -> String {
    use crate::access::Who;
    match rule.who {
        Who::Anyone => "**Who may call:** anyone (no token).".into(),
        Who::AnyUser => "**Who may call:** any signed-in user.".into(),
        Who::Roles(roles, scope) => {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            let mut text = format!("**Who may call:** {}", names.join(", "));
            if let Some(s) = scope {
                text.push_str(&format!("; partner API clients granted `{s}`"));
            }
            text.push('.');
            text
        }
    }
}

/// Text as the service takes it: tabs and line breaks, but no other control character
/// (`extract::JsonBody` refuses them).
const TEXT_PATTERN: &str = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$";

/// A query value: no control character at all (`extract::Query` refuses them).
const QUERY_PATTERN: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";

/// Formats the domain checks that the schema derive cannot state (a pattern from a constant,
/// items listed once): a phone number's characters (every property named `phone` or `*_phone`,
/// `record::is_dialable`), the shape of a national ID number (`national_id::NationalId::parse`)
/// and of an official division code (`regions::check`), and a child's categories each listed
/// once. The check characters, birth dates and code prefixes within them are checked too, and
/// answered 422 like any rule the schema cannot state.
fn state_domain_formats(value: &mut serde_json::Value) {
    let Some(schemas) = value.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()) else {
        return;
    };
    for (name, schema) in schemas.iter_mut() {
        let Some(properties) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) else { continue };
        for (property, field) in properties.iter_mut() {
            let Some(field) = field.as_object_mut() else { continue };
            let pattern = match (name.as_str(), property.as_str()) {
                (_, p) if p == "phone" || p.ends_with("_phone") => Some(tongxing_core::record::PHONE_PATTERN),
                ("ChildInput", "national_id") => Some(tongxing_core::national_id::PATTERN),
                ("RegionInput", "code") => Some(tongxing_cases::regions::CODE_PATTERN),
                _ => None,
            };
            if let Some(pattern) = pattern {
                field.insert("pattern".into(), pattern.into());
            }
            if (name.as_str(), property.as_str()) == ("ChildInput", "categories") {
                field.insert("uniqueItems".into(), true.into());
            }
        }
    }
}

/// States in the contract what the service enforces anyway, so that generators, fuzzers and
/// linters see it: every string of a fixed format gets the length that format implies (a UUID
/// is 36 characters, a date 10, a timestamp at most 40), dates and timestamps the pattern of
/// their shape and range (1900-01-01 to 2200-12-31), free text the control characters it
/// may not hold, every integer the range of its format, and the headers and parameters their
/// shapes; wherever the schema does not state something tighter. Then the links from creates
/// and the `ETag` headers are added.
fn state_what_is_enforced(spec: &mut Spec) {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                let ty = match map.get("type") {
                    Some(serde_json::Value::String(t)) => Some(t.clone()),
                    Some(serde_json::Value::Array(ts)) => {
                        ts.iter().filter_map(|t| t.as_str()).find(|t| *t != "null").map(str::to_owned)
                    }
                    _ => None,
                };
                let format = map.get("format").and_then(|f| f.as_str()).map(str::to_owned);
                // Dates and timestamps from 1900-01-01 to 2200-12-31 (`time::bounded`).
                let range = match format.as_deref() {
                    Some("date") => Some(tongxing_core::time::DATE_PATTERN),
                    Some("date-time") => Some(tongxing_core::time::TIMESTAMP_PATTERN),
                    _ => None,
                };
                if let (Some(pattern), Some("string")) = (range, ty.as_deref()) {
                    map.entry("pattern").or_insert(pattern.into());
                }
                match (ty.as_deref(), format.as_deref()) {
                    (Some("string"), None)
                        if !map.contains_key("pattern")
                            && !map.contains_key("enum")
                            && !map.contains_key("const") =>
                    {
                        map.insert("pattern".into(), TEXT_PATTERN.into());
                    }
                    (Some("string"), Some(f))
                        if !map.contains_key("maxLength") && !map.contains_key("enum") =>
                    {
                        let max = match f {
                            "uuid" => Some(36),
                            "date" => Some(10),
                            "date-time" => Some(40),
                            _ => None,
                        };
                        if let Some(max) = max {
                            map.insert("maxLength".into(), max.into());
                        }
                    }
                    (Some("integer"), Some(f)) => {
                        let (min, max): (i64, i64) = match f {
                            "int32" => (i32::MIN.into(), i32::MAX.into()),
                            "int64" => (i64::MIN, i64::MAX),
                            _ => (0, -1),
                        };
                        if min <= max {
                            map.entry("minimum").or_insert(min.into());
                            map.entry("maximum").or_insert(max.into());
                        }
                    }
                    _ => {}
                }
                for child in map.values_mut() {
                    walk(child);
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(&*spec) else { return };
    // Problems quote what the client sent, which may hold anything; everything else is text the
    // service accepted.
    let problems: Vec<(String, serde_json::Value)> = ["Problem", "ProblemField"]
        .iter()
        .filter_map(|name| {
            let pointer = format!("/components/schemas/{name}");
            value.pointer(&pointer).map(|v| (pointer, v.clone()))
        })
        .collect();
    state_domain_formats(&mut value);
    walk(&mut value);
    for (pointer, original) in problems {
        if let Some(slot) = value.pointer_mut(&pointer) {
            *slot = original;
        }
    }
    // Lists of short texts, each item checked by the domain (at most 100 characters).
    for (schema, property) in [
        ("CadenceRuleInput", "counted_kinds"),
        ("ServiceContractInput", "services"),
        ("SessionInput", "attended_by"),
    ] {
        let pointer = format!("/components/schemas/{schema}/properties/{property}/items");
        if let Some(items) = value.pointer_mut(&pointer).and_then(|i| i.as_object_mut()) {
            items.entry("maxLength").or_insert(100.into());
        }
    }
    // The one server is this deployment itself, public to its clients.
    if let Some(server) = value.pointer_mut("/servers/0").and_then(|s| s.as_object_mut()) {
        server.insert("x-internal".into(), false.into());
    }
    // Parameters: every query value is at most 200 characters (the `Query` extractor refuses
    // longer ones), an Idempotency-Key at most 200, an If-Match a quoted version number.
    if let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) {
        for op in paths.values_mut().filter_map(|i| i.as_object_mut()).flat_map(|i| i.values_mut()) {
            let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) else { continue };
            for param in params {
                let name = param.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_owned();
                let place = param.get("in").and_then(|n| n.as_str()).unwrap_or_default().to_owned();
                let Some(schema) = param.get_mut("schema").and_then(|s| s.as_object_mut()) else { continue };
                // A parameter is present or absent, never null: `Option` means `required: false`.
                if let Some(types) = schema.get_mut("type").and_then(|t| t.as_array_mut()) {
                    types.retain(|t| t != "null");
                    if types.len() == 1 {
                        let only = types[0].clone();
                        schema.insert("type".into(), only);
                    }
                }
                match (place.as_str(), name.as_str()) {
                    ("query", "limit") => {
                        schema.insert("minimum".into(), 1.into());
                        schema.insert("maximum".into(), tongxing_core::page::MAX_LIMIT.into());
                    }
                    ("header", "Idempotency-Key") => {
                        schema.insert("pattern".into(), "^[!-~]{1,200}$".into());
                    }
                    ("header", "If-Match") => {
                        schema.insert("pattern".into(), r#"^"[1-9][0-9]{0,8}"$"#.into());
                    }
                    ("query", _) if schema.get("pattern").and_then(|p| p.as_str()) == Some(TEXT_PATTERN) => {
                        schema.insert("pattern".into(), QUERY_PATTERN.into());
                    }
                    _ => {}
                }
                let is_text = schema.get("type").is_some_and(|t| {
                    t == "string" || t.as_array().is_some_and(|ts| ts.iter().any(|t| t == "string"))
                });
                if !is_text || schema.contains_key("maxLength") || schema.contains_key("enum") {
                    continue;
                }
                let max = match (place.as_str(), name.as_str()) {
                    ("query", _) => crate::extract::MAX_QUERY_VALUE_CHARS,
                    ("header", "Idempotency-Key") => 200,
                    ("header", "If-Match") => 16,
                    _ => continue,
                };
                schema.insert("maxLength".into(), max.into());
            }
        }
    }
    link_creations(&mut value);
    declare_etags(&mut value);
    declare_conditional_reads(&mut value);
    declare_response_headers(&mut value);
    declare_deprecations(&mut value);
    declare_examples(&mut value);
    if let Ok(bounded) = serde_json::from_value(value) {
        *spec = bounded;
    }
}

/// Examples a reader recognises ([`crate::examples`]) on the main schemas and on every shared
/// error response, in place of values drawn from patterns; and versions as they are, from 1.
fn declare_examples(value: &mut serde_json::Value) {
    for (name, example) in crate::examples::schemas() {
        if let Some(schema) =
            value.pointer_mut(&format!("/components/schemas/{name}")).and_then(|s| s.as_object_mut())
        {
            schema.insert("example".into(), example);
        }
    }
    for (status, name, _) in ERRORS {
        let pointer = format!("/components/responses/{name}/content/{}", PROBLEM_JSON.replace('/', "~1"));
        if let (Some(media), Some(example)) = (
            value.pointer_mut(&pointer).and_then(|m| m.as_object_mut()),
            crate::examples::problem_for(status),
        ) {
            media.insert("example".into(), example);
        }
    }
    let Some(schemas) = value.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()) else {
        return;
    };
    for version in schemas.values_mut().filter_map(|s| s.pointer_mut("/properties/version")) {
        if version.get("type").and_then(|t| t.as_str()) == Some("integer") {
            version["minimum"] = 1.into();
        }
    }
}

/// OpenAPI links from each create (a POST answering 201 with the new record) to every operation
/// on that record (`…/{id}` and below), so that clients and fuzzers can follow create → read →
/// update → step: the new `id` from the body, and the `ETag` as `If-Match` where one is needed.
fn link_creations(value: &mut serde_json::Value) {
    use serde_json::{Map, Value, json};
    let Some(paths) = value.get("paths").and_then(|p| p.as_object()) else { return };
    let mut links: Vec<(String, String, Value)> = Vec::new();
    for (collection, item) in paths {
        let creates = item.pointer("/post/responses/201").is_some();
        if !creates || collection.contains('{') {
            continue;
        }
        let prefix = format!("{collection}/{{id}}");
        for (_, target) in paths.iter().filter(|(p, _)| **p == prefix || p.starts_with(&format!("{prefix}/")))
        {
            for op in target.as_object().into_iter().flat_map(|o| o.values()) {
                let Some(operation_id) = op.get("operationId").and_then(|i| i.as_str()) else { continue };
                let params = op.get("parameters").and_then(|p| p.as_array()).cloned().unwrap_or_default();
                let named =
                    |n: &str| params.iter().any(|p| p.get("name").and_then(|x| x.as_str()) == Some(n));
                if params.iter().any(|p| {
                    p.get("in").and_then(|x| x.as_str()) == Some("path")
                        && p.get("name").and_then(|x| x.as_str()) != Some("id")
                }) {
                    continue;
                }
                let mut parameters = Map::new();
                parameters.insert("path.id".into(), "$response.body#/id".into());
                if named("If-Match") {
                    parameters.insert("header.If-Match".into(), "$response.header.ETag".into());
                }
                links.push((
                    collection.clone(),
                    operation_id.to_owned(),
                    json!({ "operationId": operation_id, "parameters": parameters }),
                ));
            }
        }
    }
    for (collection, name, link) in links {
        let pointer =
            format!("/paths/{}/post/responses/201", collection.replace('~', "~0").replace('/', "~1"));
        if let Some(response) = value.pointer_mut(&pointer).and_then(|r| r.as_object_mut()) {
            let entry = response.entry("links").or_insert_with(|| Value::Object(Map::new()));
            if let Some(map) = entry.as_object_mut() {
                map.insert(name, link);
            }
        }
    }
}

/// Every read whose answer carries an `ETag` takes `If-None-Match` and may answer 304
/// (`middleware::conditional`).
fn declare_conditional_reads(value: &mut serde_json::Value) {
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for op in paths.values_mut().filter_map(|i| i.get_mut("get")) {
        let Some(etag) = op.pointer("/responses/200/headers/ETag").cloned() else { continue };
        let Some(op) = op.as_object_mut() else { continue };
        let params = op.entry("parameters").or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let Some(params) = params.as_array_mut() {
            params.push(serde_json::json!({
                "name": "If-None-Match", "in": "header", "required": false,
                "description": "ETags of the copies the client holds (`*` for any): when one is the current version, 304 without a body (weak comparison)",
                "schema": { "type": "string", "maxLength": 200, "pattern": crate::middleware::ENTITY_TAGS_PATTERN }
            }));
        }
        if let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) {
            if !responses.contains_key("400") {
                responses.insert(
                    "400".into(),
                    serde_json::json!({
                        "description": "The request is malformed (here: an `If-None-Match` that is not a list of ETags)",
                        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
                    }),
                );
            }
            responses.insert(
                "304".into(),
                serde_json::json!({
                    "description": "Not modified: the client's copy (`If-None-Match`) is the current version; no body",
                    "headers": { "ETag": etag }
                }),
            );
        }
    }
}

/// The headers answers carry besides `ETag`: `X-Request-Id` on every one; `Content-Language` on
/// every problem (`crate::i18n`); `Retry-After` on 429
/// and 503; `Idempotent-Replayed` on the answers of a create that takes `Idempotency-Key`; and a
/// partner client's quota (`RateLimit-Policy`, `RateLimit`) on the answers of the operations
/// clients may call, and on 429; where a report or the alert list was read and as of when
/// (`X-Data-Source`, `X-Data-As-Of`: `AppState::run_heavy`).
fn declare_response_headers(value: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let text = |description: &str, max: u32| json!({"description": description, "schema": {"type": "string", "maxLength": max}});
    let request_id = text(
        "The request's id (the client's `X-Request-Id` when it sent a sane one), as the logs and the audit log record it",
        64,
    );
    let retry_after = json!({"description": "Seconds to wait before trying again", "schema": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 86400}});
    let replayed = json!({"description": "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`", "schema": {"type": "string", "enum": ["true"]}});
    let policy = text(
        "A partner API client's quota (IETF draft-ietf-httpapi-ratelimit-headers): `\"client\";q=<requests>;w=<seconds>`, refilled evenly",
        64,
    );
    let left = text(
        "What is left of a partner API client's quota: `\"client\";r=<requests left>;t=<seconds until it is whole again, or until the next request when none is left>`",
        64,
    );
    let language = text(
        "The language of the problem's `title`, `detail` and field messages: `zh-CN` or `en`, as `Accept-Language` asked (q-values honoured; `zh-CN` unless the deployment chose otherwise)",
        8,
    );
    let table_language = text(
        "For a CSV answer: the language of the table's headings and labels (its data is as recorded): `zh-CN` or `en`, as `Accept-Language` asked (q-values honoured; `zh-CN` unless the deployment chose otherwise)",
        8,
    );
    let source = json!({"description": "Where the answer was read: `replica` (a streaming replica of the database, used while its lag is under the deployment's limit, 5 s by default, and the caller wrote nothing in that time) or `primary`", "schema": {"type": "string", "enum": ["primary", "replica"]}});
    let as_of = json!({"description": "The answer holds every change committed before this time (RFC 3339): the start of the read on the primary, the last heartbeat the replica had replayed", "schema": {"type": "string", "format": "date-time", "maxLength": 40}});
    let is_problem = |response: &Value| response.pointer("/content/application~1problem+json").is_some();
    let is_csv = |response: &Value| response.pointer("/content/text~1csv").is_some();
    let add = declare_header;
    if let Some(responses) = value.pointer_mut("/components/responses").and_then(|r| r.as_object_mut()) {
        for response in responses.values_mut() {
            add(response, "X-Request-Id", &request_id);
            if is_problem(response) {
                add(response, "Content-Language", &language);
            }
        }
        for name in ["TooManyRequests", "Unavailable"] {
            if let Some(response) = responses.get_mut(name) {
                add(response, "Retry-After", &retry_after);
            }
        }
        if let Some(response) = responses.get_mut("TooManyRequests") {
            add(response, "RateLimit-Policy", &policy);
            add(response, "RateLimit", &left);
        }
    }
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for op in paths.values_mut().filter_map(|i| i.as_object_mut()).flat_map(|i| i.values_mut()) {
        let takes_key = op
            .get("parameters")
            .and_then(|p| p.as_array())
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
        let clients_call = op
            .get("operationId")
            .and_then(|id| id.as_str())
            .and_then(crate::access::rule_of)
            .is_some_and(|rule| matches!(rule.who, crate::access::Who::Roles(_, Some(_))));
        let heavy =
            op.get("tags").and_then(|t| t.as_array()).is_some_and(|t| t.iter().any(|t| t == "reports"))
                || op
                    .get("operationId")
                    .and_then(|id| id.as_str())
                    .is_some_and(|id| id == "list_compliance_alerts" || id.starts_with("export_"));
        let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else { continue };
        for (status, response) in responses.iter_mut() {
            add(response, "X-Request-Id", &request_id);
            if heavy && status == "200" {
                add(response, "X-Data-Source", &source);
                add(response, "X-Data-As-Of", &as_of);
            }
            if is_problem(response) {
                add(response, "Content-Language", &language);
            }
            if is_csv(response) {
                add(response, "Content-Language", &table_language);
            }
            if status == "429" || status == "503" {
                add(response, "Retry-After", &retry_after);
            }
            if takes_key && status.starts_with('2') {
                add(response, "Idempotent-Replayed", &replayed);
            }
            if clients_call {
                add(response, "RateLimit-Policy", &policy);
                add(response, "RateLimit", &left);
            }
        }
    }
}

/// Marks the deprecated operations (`crate::deprecation`): `deprecated`, the dates and the
/// successor in the description, and the headers on every answer.
fn declare_deprecations(value: &mut serde_json::Value) {
    use serde_json::json;
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for op in paths.values_mut().filter_map(|i| i.as_object_mut()).flat_map(|i| i.values_mut()) {
        let Some(d) = op.get("operationId").and_then(|id| id.as_str()).and_then(crate::deprecation::of)
        else {
            continue;
        };
        let Some(op) = op.as_object_mut() else { continue };
        op.insert("deprecated".into(), true.into());
        let note = format!(
            "**Deprecated** on {}: use `{}` ({}). It keeps working until its sunset, {}; every answer says so in `Deprecation`, `Sunset` and `Link` (the README's versioning policy).\n\n",
            d.on, d.successor, d.why, d.sunset
        );
        let description = op.get("description").and_then(|t| t.as_str()).unwrap_or_default();
        op.insert("description".into(), format!("{note}{description}").into());
        let headers = [
            (
                "Deprecation",
                json!({"description": "When the operation was deprecated (RFC 9745): `@` and a Unix time", "schema": {"type": "string", "maxLength": 24}}),
            ),
            (
                "Sunset",
                json!({"description": "When the operation may stop answering (RFC 8594), an HTTP date", "schema": {"type": "string", "maxLength": 40}}),
            ),
            (
                "Link",
                json!({"description": "The operation that replaces it: `<path>; rel=\"successor-version\"`", "schema": {"type": "string", "maxLength": 200}}),
            ),
        ];
        for response in
            op.get_mut("responses").and_then(|r| r.as_object_mut()).into_iter().flat_map(|r| r.values_mut())
        {
            for (name, header) in &headers {
                declare_header(response, name, header);
            }
        }
    }
}

/// Declares a header on an answer given in place (not one by `$ref`), unless it already is.
fn declare_header(response: &mut serde_json::Value, name: &str, header: &serde_json::Value) {
    if let Some(map) = response.as_object_mut().filter(|r| !r.contains_key("$ref")) {
        let headers = map.entry("headers").or_insert_with(|| serde_json::json!({}));
        if let Some(headers) = headers.as_object_mut() {
            headers.entry(name).or_insert_with(|| header.clone());
        }
    }
}

/// Declares the `ETag` header on every answer whose description says it carries one.
fn declare_etags(value: &mut serde_json::Value) {
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    let responses = paths
        .values_mut()
        .filter_map(|i| i.as_object_mut())
        .flat_map(|i| i.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(|r| r.as_object_mut()))
        .flat_map(|r| r.values_mut());
    for response in responses {
        let says = response.get("description").and_then(|d| d.as_str()).is_some_and(|d| d.contains("`ETag`"));
        if let (true, Some(map)) = (says, response.as_object_mut()) {
            map.insert(
                "headers".into(),
                serde_json::json!({ "ETag": {
                    "description": "The record's version, to send back in `If-Match`",
                    "schema": { "type": "string", "pattern": r#"^"[1-9][0-9]{0,8}"$"#, "maxLength": 11 }
                }}),
            );
        }
    }
}
