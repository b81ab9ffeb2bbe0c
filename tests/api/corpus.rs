//! The bad-input corpus: hundreds of hostile or broken requests across the endpoints, each
//! answered with a 4xx problem+json carrying the expected stable code, and none changing a row
//! of any table (counted before and after every case).
//!
//! Body mutations are derived from the served contract: every property of each create's request
//! schema gets the mutations its type calls for (a wrong type; for text a NUL byte and one
//! character over its `maxLength`; for UUIDs, dates, enums and numbers an injection string, an
//! impossible date, a timestamp without a zone, an unknown value, a huge number). Injection
//! strings in free text are not errors: `text_is_stored_verbatim` checks that they are kept as
//! sent and change nothing else.

use serde_json::{Value, json};

use crate::helpers::{TestApp, urlencode};
use crate::on_both_backends;

on_both_backends!(
    every_bad_input_is_refused_and_writes_nothing,
    text_is_stored_verbatim,
    dates_outside_the_range_are_refused_everywhere,
    filters_agree_at_the_edges_of_the_range
);

const JSON: &str = "application/json";
const SQL: &str = "' OR '1'='1'; DROP TABLE children; --";
const SCRIPT: &str = "<script>alert(1)</script>";

/// Every table a request could write, except the audit log (reads are audited).
const TABLES: &[&str] = &[
    "settings",
    "counters",
    "users",
    "refresh_tokens",
    "login_addresses",
    "login_delays",
    "idempotency_keys",
    "regions",
    "households",
    "guardians",
    "children",
    "child_status_changes",
    "assessments",
    "contacts",
    "consents",
    "mentors",
    "pairings",
    "pair_contacts",
    "cadence_rules",
    "cadence_rule_versions",
    "compliance_exemptions",
    "counselling_enrolments",
    "counselling_team_members",
    "counselling_sessions",
    "holidays",
    "home_visit_requests",
    "home_visit_steps",
    "organisations",
    "service_contracts",
    "volunteers",
    "teams",
    "team_members",
    "events",
    "event_partners",
    "event_roster",
    "event_attendance",
    "api_clients",
    "signing_keys",
];

struct Case {
    what: String,
    method: &'static str,
    path: String,
    body: Option<(&'static str, Vec<u8>)>,
    headers: Vec<(&'static str, String)>,
    status: u16,
    code: &'static str,
}

impl Case {
    fn json(what: impl Into<String>, path: &str, body: Vec<u8>, status: u16, code: &'static str) -> Self {
        Case {
            what: what.into(),
            method: "POST",
            path: path.to_owned(),
            body: Some((JSON, body)),
            headers: vec![],
            status,
            code,
        }
    }

    fn get(what: impl Into<String>, path: String, status: u16, code: &'static str) -> Self {
        Case { what: what.into(), method: "GET", path, body: None, headers: vec![], status, code }
    }
}

async fn snapshot(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut out = Vec::with_capacity(TABLES.len());
    for t in TABLES {
        out.push((*t, app.count(t).await));
    }
    out
}

/// The request schema of `POST path`, with `$ref`s to components resolved one level deep.
fn request_schema<'a>(spec: &'a Value, path: &str) -> &'a Value {
    let schema = &spec["paths"][path]["post"]["requestBody"]["content"][JSON]["schema"];
    resolve(spec, schema)
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => spec.pointer(r.trim_start_matches('#')).expect("reference resolves"),
        None => schema,
    }
}

/// The schema's one non-null type, and the schema that carries it (through `oneOf`/`anyOf`
/// with null, as `Option` fields are written).
fn typed<'a>(spec: &'a Value, schema: &'a Value) -> (&'a str, &'a Value) {
    let schema = resolve(spec, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(|o| o.as_array())
            && let Some(s) = options.iter().map(|o| resolve(spec, o)).find(|o| o["type"] != "null")
        {
            return typed(spec, s);
        }
    }
    let ty = match &schema["type"] {
        Value::String(t) => t.as_str(),
        Value::Array(ts) => ts.iter().filter_map(|t| t.as_str()).find(|t| *t != "null").unwrap_or("null"),
        _ if schema.get("enum").is_some() => "string",
        _ => "object",
    };
    (ty, schema)
}

/// The mutations of one property of a valid body, each with the answer it must get.
fn property_cases(spec: &Value, path: &str, valid: &Value, name: &str, schema: &Value) -> Vec<Case> {
    let (ty, schema) = typed(spec, schema);
    let with = |v: Value| {
        let mut body = valid.clone();
        body[name] = v;
        serde_json::to_vec(&body).unwrap()
    };
    let mut cases = Vec::new();
    let wrong = if ty == "object" || ty == "array" { json!(7) } else { json!({"$gt": ""}) };
    cases.push(Case::json(format!("{path} {name}: wrong type"), path, with(wrong), 400, "invalid_body"));
    match (ty, schema.get("format").and_then(|f| f.as_str()), schema.get("enum")) {
        ("string", Some("uuid"), _) => {
            cases.push(Case::json(
                format!("{path} {name}: SQL in a UUID"),
                path,
                with(json!(SQL)),
                400,
                "invalid_body",
            ));
        }
        ("string", Some("date"), _) => {
            cases.push(Case::json(
                format!("{path} {name}: 2023-02-30"),
                path,
                with(json!("2023-02-30")),
                400,
                "invalid_body",
            ));
            cases.push(Case::json(
                format!("{path} {name}: script as date"),
                path,
                with(json!(SCRIPT)),
                400,
                "invalid_body",
            ));
        }
        ("string", Some("date-time"), _) => {
            let no_zone = with(json!("2023-11-20T10:30:00"));
            cases.push(Case::json(
                format!("{path} {name}: timestamp without zone"),
                path,
                no_zone,
                400,
                "invalid_body",
            ));
            cases.push(Case::json(
                format!("{path} {name}: 2023-02-30T10:00Z"),
                path,
                with(json!("2023-02-30T10:00:00Z")),
                400,
                "invalid_body",
            ));
        }
        ("string", _, Some(_)) => {
            cases.push(Case::json(
                format!("{path} {name}: unknown enum value"),
                path,
                with(json!("orphan")),
                400,
                "invalid_body",
            ));
            cases.push(Case::json(
                format!("{path} {name}: SQL as enum value"),
                path,
                with(json!(SQL)),
                400,
                "invalid_body",
            ));
        }
        ("string", _, None) => {
            cases.push(Case::json(
                format!("{path} {name}: NUL byte"),
                path,
                with(json!("a\u{0}b")),
                400,
                "validation_failed",
            ));
            cases.push(Case::json(
                format!("{path} {name}: escape character"),
                path,
                with(json!("a\u{1b}[2Jb")),
                400,
                "validation_failed",
            ));
            let max =
                schema["maxLength"].as_u64().unwrap_or_else(|| panic!("{path} {name} has no maxLength"));
            let over = "长".repeat(max as usize + 1);
            cases.push(Case::json(
                format!("{path} {name}: {} characters", max + 1),
                path,
                with(json!(over)),
                400,
                "validation_failed",
            ));
        }
        ("integer", _, _) => {
            cases.push(Case::json(
                format!("{path} {name}: 10^20"),
                path,
                with(json!(100000000000000000000u128 as f64)),
                400,
                "invalid_body",
            ));
            cases.push(Case::json(
                format!("{path} {name}: 1.5"),
                path,
                with(json!(1.5)),
                400,
                "invalid_body",
            ));
        }
        ("array", _, _) if valid[name].get(0).is_some() => {
            let max = schema["maxItems"].as_u64().unwrap_or_else(|| panic!("{path} {name} has no maxItems"));
            let items: Vec<Value> = (0..=max).map(|_| valid[name][0].clone()).collect();
            cases.push(Case::json(
                format!("{path} {name}: {} items", max + 1),
                path,
                with(Value::Array(items)),
                400,
                "validation_failed",
            ));
        }
        _ => {}
    }
    cases
}

/// Mutations of the body as a whole: syntax, nesting, encoding, size and content type.
fn body_cases(path: &str, valid: &Value) -> Vec<Case> {
    let text = serde_json::to_vec(valid).unwrap();
    // Far past serde_json's recursion limit (128), well within the body limit.
    let mut deep = "[".repeat(10_000).into_bytes();
    deep.extend("]".repeat(10_000).into_bytes());
    let mut invalid_utf8 = text.clone();
    let at = invalid_utf8.iter().position(|b| *b == b':').unwrap() + 2;
    invalid_utf8.splice(at..at, [0xff, 0xfe]);
    let mut cases = vec![
        Case::json(
            format!("{path}: truncated"),
            path,
            text[..text.len() / 2].to_vec(),
            400,
            "malformed_json",
        ),
        Case::json(format!("{path}: one brace"), path, b"{".to_vec(), 400, "malformed_json"),
        Case::json(format!("{path}: empty"), path, vec![], 400, "malformed_json"),
        Case::json(
            format!("{path}: trailing garbage"),
            path,
            [text.clone(), b"}".to_vec()].concat(),
            400,
            "malformed_json",
        ),
        Case::json(format!("{path}: an array"), path, b"[1,2,3]".to_vec(), 400, "invalid_body"),
        Case::json(format!("{path}: null"), path, b"null".to_vec(), 400, "invalid_body"),
        Case::json(format!("{path}: a string"), path, format!("\"{SQL}\"").into_bytes(), 400, "invalid_body"),
        Case::json(format!("{path}: nested 10,000 deep"), path, deep.clone(), 400, "malformed_json"),
        Case::json(format!("{path}: invalid UTF-8"), path, invalid_utf8, 400, "malformed_json"),
        Case::json(format!("{path}: number 1e400"), path, b"{\"n\": 1e400}".to_vec(), 400, "malformed_json"),
        Case::json(
            format!("{path}: over the size limit"),
            path,
            format!("{{\"name\":\"{}\"}}", "x".repeat(300 * 1024)).into_bytes(),
            413,
            "body_too_large",
        ),
        Case::json(
            format!("{path}: unknown field"),
            path,
            with_field(valid, "is_admin", json!(true)),
            400,
            "invalid_body",
        ),
        Case::json(
            format!("{path}: deep value in unknown field"),
            path,
            [b"{\"x\":".to_vec(), deep, b"}".to_vec()].concat(),
            400,
            "malformed_json",
        ),
    ];
    let duplicate = format!(
        "{{{},{}}}",
        &String::from_utf8(text.clone()).unwrap()[1..text.len() - 1],
        "\"id\":null,\"id\":null"
    );
    cases.push(Case::json(
        format!("{path}: duplicate key"),
        path,
        duplicate.into_bytes(),
        400,
        "invalid_body",
    ));
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
    ] {
        cases.push(Case {
            what: format!("{path}: content type {content_type}"),
            method: "POST",
            path: path.to_owned(),
            body: Some((content_type, text.clone())),
            headers: vec![],
            status: 415,
            code: "unsupported_media_type",
        });
    }
    cases
}

fn with_field(valid: &Value, name: &str, value: Value) -> Vec<u8> {
    let mut body = valid.clone();
    body[name] = value;
    serde_json::to_vec(&body).unwrap()
}

/// Lists: page limits, forged cursors, filters of the wrong shape, unknown and overlong
/// parameters, control characters.
fn query_cases(lists: &[&str]) -> Vec<Case> {
    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let mut cases = Vec::new();
    for list in lists {
        for (limit, status, code) in [
            ("-1", 422, "validation_failed"),
            ("0", 422, "validation_failed"),
            ("201", 422, "validation_failed"),
            ("99999999999999999999", 400, "invalid_query"),
            ("abc", 400, "invalid_query"),
            ("1.5", 400, "invalid_query"),
        ] {
            cases.push(Case::get(
                format!("{list}: limit={limit}"),
                format!("{list}?limit={limit}"),
                status,
                code,
            ));
        }
        for cursor in [b64("x"), b64(SQL), b64("child:not-a-uuid"), urlencode(SQL), "%%%".into()] {
            let what = format!("{list}: forged cursor {cursor}");
            let path = format!(
                "{list}?cursor={}",
                if cursor == "%%%" { cursor.clone() } else { urlencode(&cursor) }
            );
            cases.push(Case::get(what, path, 422, "validation_failed"));
        }
        cases.push(Case::get(
            format!("{list}: unknown parameter"),
            format!("{list}?admin=true"),
            400,
            "invalid_query",
        ));
        cases.push(Case::get(
            format!("{list}: NUL in a value"),
            format!("{list}?cursor=a%00b"),
            400,
            "invalid_query",
        ));
        cases.push(Case::get(
            format!("{list}: 201-character value"),
            format!("{list}?cursor={}", "a".repeat(201)),
            400,
            "invalid_query",
        ));
    }
    for (filter, value) in [
        ("region_id", SQL),
        ("region_id", SCRIPT),
        ("status", "orphan"),
        ("category", SQL),
        ("household_id", "1 OR 1=1"),
        ("status", SCRIPT),
    ] {
        let path = format!("/api/v1/children?{filter}={}", urlencode(value));
        cases.push(Case::get(format!("/api/v1/children: {filter}={value}"), path, 400, "invalid_query"));
    }
    for (name, value) in [("from", "2023-02-30"), ("to", SQL), ("from", "2024-13-01")] {
        let path = format!("/api/v1/reports/summary?{name}={}", urlencode(value));
        cases.push(Case::get(format!("summary: {name}={value}"), path, 400, "invalid_query"));
    }
    cases
}

async fn every_bad_input_is_refused_and_writes_nothing(app: TestApp) {
    let spec = app.get("/api/v1/openapi.json").await.body;
    let village = app.region("柏墩村").await;
    let created = |r: crate::helpers::Resp, what: &str| {
        assert_eq!(r.status, 201, "{what}: {}", r.body);
        r.id()
    };
    let household = created(
        app.post("/api/v1/households", json!({"region_id": village, "address": "幸福路8号", "guardians": [{"name": "王秀英", "relation": "grandmother", "phone": "13800001111", "is_primary": true}]})).await,
        "household",
    );
    let child_body = json!({"region_id": village, "household_id": household, "name": "周小雨", "sex": "female", "birth_date": "2014-03-02", "categories": ["left_behind"], "school": "桂花镇中心小学"});
    let child = app
        .send(
            "POST",
            "/api/v1/children",
            None,
            Some(child_body.clone()),
            &[("idempotency-key", "corpus-child")],
        )
        .await;
    assert_eq!(child.status, 201, "{}", child.body);
    let child_id = child.id();
    let etag = child.header("etag").expect("etag");

    let valid: Vec<(&str, Value)> = vec![
        ("/api/v1/children", child_body.clone()),
        (
            "/api/v1/households",
            json!({"region_id": village, "address": "幸福路9号", "guardians": [{"name": "李四", "relation": "father", "phone": "13800002222", "is_primary": true}]}),
        ),
        (
            "/api/v1/contacts",
            json!({"kind": "home_visit", "child_id": child_id, "occurred_at": "2024-03-01T09:00:00+08:00", "outcome": "completed", "notes": "作业完成"}),
        ),
        (
            "/api/v1/consents",
            json!({"child_id": child_id, "purpose": "home_visit", "given_by_name": "王秀英", "given_by_relation": "grandmother", "given_at": "2024-01-02T09:00:00+08:00"}),
        ),
        ("/api/v1/organisations", json!({"name": "咸安区社工站", "kind": "social_organisation"})),
        (
            "/api/v1/volunteers",
            json!({"name": "何志愿", "source": "community", "background_check": {"on": "2023-01-01", "expires_on": "2030-01-01"}}),
        ),
        ("/api/v1/mentors", json!({"name": "导师甲", "phone": "13800003333"})),
        (
            "/api/v1/users",
            json!({"username": "caseworker.corpus", "display_name": "王社工", "role": "caseworker", "password": "a-long-passphrase"}),
        ),
    ];

    let mut cases = Vec::new();
    for (path, body) in &valid {
        cases.extend(body_cases(path, body));
        let schema = request_schema(&spec, path);
        let properties = schema["properties"].as_object().unwrap_or_else(|| panic!("{path}: no properties"));
        for (name, property) in properties {
            cases.extend(property_cases(&spec, path, body, name, property));
        }
    }
    cases.extend(query_cases(&[
        "/api/v1/children",
        "/api/v1/households",
        "/api/v1/contacts",
        "/api/v1/consents",
        "/api/v1/events",
        "/api/v1/audit-events",
    ]));

    // Paths: injection and traversal in an id.
    for id in [SQL, SCRIPT, "../../etc/passwd", "1", "00000000-0000-0000-0000-00000000000G", "%00"] {
        let path = format!("/api/v1/children/{}", if id == "%00" { id.to_owned() } else { urlencode(id) });
        cases.push(Case::get(format!("child id {id}"), path, 400, "invalid_path"));
    }

    // Headers: Idempotency-Key and If-Match.
    let update = serde_json::to_vec(&json!({"region_id": village, "household_id": household, "name": "周小雨", "sex": "female", "birth_date": "2014-03-02", "categories": ["left_behind", "in_difficulty"]})).unwrap();
    let put = |what: &str, headers: Vec<(&'static str, String)>, status: u16, code: &'static str| Case {
        what: what.to_owned(),
        method: "PUT",
        path: format!("/api/v1/children/{child_id}"),
        body: Some((JSON, update.clone())),
        headers,
        status,
        code,
    };
    cases.push(put("update without If-Match", vec![], 428, "if_match_required"));
    for bad in
        ["*", "abc", "\"abc\"", "\"0\"", "\"-1\"", "W/", "W/\"1\"", "\"1\", \"2\"", "\"99999999999\"", "1"]
    {
        cases.push(put(
            &format!("If-Match {bad}"),
            vec![("if-match", bad.to_owned())],
            412,
            "invalid_if_match",
        ));
    }
    cases.push(put(
        "If-Match of another version",
        vec![("if-match", "\"999\"".into())],
        412,
        "stale_version",
    ));
    // A user's account: If-Match on changes, roles for people only, passwords of ten characters.
    let admin = app.get("/api/v1/me").await.id();
    let account = |what: &str,
                   method: &'static str,
                   path: String,
                   body: Value,
                   headers: Vec<(&'static str, String)>,
                   status: u16,
                   code: &'static str| Case {
        what: what.to_owned(),
        method,
        path,
        body: Some((JSON, serde_json::to_vec(&body).unwrap())),
        headers,
        status,
        code,
    };
    let user_path = format!("/api/v1/users/{admin}");
    let update = json!({"display_name": "admin", "role": "admin", "active": true});
    for (what, body, headers, status, code) in [
        ("user update without If-Match", update.clone(), vec![], 428, "if_match_required"),
        (
            "user update, stale If-Match",
            update.clone(),
            vec![("if-match", "\"999\"".to_owned())],
            412,
            "stale_version",
        ),
        (
            "user update to the partner role",
            json!({"display_name": "admin", "role": "partner", "active": true}),
            vec![("if-match", "\"1\"".to_owned())],
            422,
            "validation_failed",
        ),
        (
            "user update without active",
            json!({"display_name": "admin", "role": "admin"}),
            vec![("if-match", "\"1\"".to_owned())],
            400,
            "invalid_body",
        ),
        (
            "last admin deactivated",
            json!({"display_name": "admin", "role": "admin", "active": false}),
            vec![("if-match", "\"1\"".to_owned())],
            409,
            "last_admin",
        ),
    ] {
        cases.push(account(what, "PUT", user_path.clone(), body, headers, status, code));
    }
    cases.push(account(
        "password reset, 9 characters",
        "POST",
        format!("{user_path}/password"),
        json!({"password": "123456789"}),
        vec![],
        400,
        "validation_failed",
    ));
    cases.push(account(
        "own password change, new one of 9 characters",
        "POST",
        "/api/v1/me/password".into(),
        json!({"current_password": "x", "new_password": "123456789"}),
        vec![],
        400,
        "validation_failed",
    ));

    let reused = serde_json::to_vec(&json!({"region_id": village, "name": "另一个孩子", "sex": "male", "birth_date": "2015-01-01", "categories": ["left_behind"]})).unwrap();
    for (what, key, status, code) in [
        ("reused Idempotency-Key, another body", "corpus-child".to_owned(), 422, "idempotency_key_reused"),
        ("empty Idempotency-Key", String::new(), 400, "invalid_idempotency_key"),
        ("Idempotency-Key with a space", "a b".to_owned(), 400, "invalid_idempotency_key"),
        ("201-character Idempotency-Key", "k".repeat(201), 400, "invalid_idempotency_key"),
    ] {
        cases.push(Case {
            what: what.to_owned(),
            method: "POST",
            path: "/api/v1/children".into(),
            body: Some((JSON, reused.clone())),
            headers: vec![("idempotency-key", key)],
            status,
            code,
        });
    }
    // Credentials of the wrong shape.
    for (what, value) in [
        ("no scheme", etag.clone()),
        ("basic", "Basic YWRtaW46YWRtaW4=".into()),
        ("garbage token", format!("Bearer {SQL}")),
    ] {
        cases.push(Case {
            what: format!("authorization: {what}"),
            method: "GET",
            path: "/api/v1/children".into(),
            body: None,
            headers: vec![("authorization", value)],
            status: 401,
            code: "invalid_token",
        });
    }

    assert!(cases.len() >= 200, "the corpus has {} cases", cases.len());
    let before = snapshot(&app).await;
    let mut wrong = Vec::new();
    for case in &cases {
        let token = if case.headers.iter().any(|(k, _)| *k == "authorization") { Some("") } else { None };
        let headers: Vec<(&str, &str)> = case.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = app.send_raw(case.method, &case.path, token, case.body.clone(), &headers).await;
        let problem = r.header("content-type").is_some_and(|c| c.starts_with("application/problem+json"));
        if r.status.as_u16() != case.status || r.body["code"] != case.code || !problem {
            wrong.push(format!(
                "{}: {} {} (wanted {} {})",
                case.what,
                r.status.as_u16(),
                r.body["code"],
                case.status,
                case.code
            ));
        }
        let after = snapshot(&app).await;
        if after != before {
            let changed: Vec<_> = before.iter().zip(&after).filter(|(b, a)| b != a).collect();
            panic!("{} changed the database: {changed:?}", case.what);
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases answered otherwise:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    eprintln!("bad-input corpus: {} cases, each refused with its code, no row changed", cases.len());
}

async fn text_is_stored_verbatim(app: TestApp) {
    let village = app.region("柏墩村").await;
    for text in [
        SQL,
        SCRIPT,
        "Robert'); DROP TABLE children;--",
        "{{7*7}} ${7*7} %s%n",
        "O'Brien \"quoted\" \\ back\tslash\n第二行",
    ] {
        let before = app.count("children").await;
        let r = app.post("/api/v1/children", json!({"region_id": village, "sex": "male", "birth_date": "2015-01-01", "categories": ["left_behind"], "school": text, "name": text.replace(['\t', '\n'], " ")})).await;
        assert_eq!(r.status, 201, "{text}: {}", r.body);
        assert_eq!(app.count("children").await, before + 1);
        let read = app.get(&format!("/api/v1/children/{}", r.id())).await;
        assert_eq!(read.body["school"], text, "kept as sent");
        if !text.contains(char::is_control) {
            // A search for the text finds the record and nothing is evaluated on the way.
            let found = app.get(&format!("/api/v1/children?q={}", urlencode(text))).await;
            assert_eq!(found.status, 200, "{}", found.body);
            assert!(
                found.body["items"].as_array().unwrap().iter().any(|c| c["id"] == r.body["id"]),
                "{text}"
            );
        }
    }
}

/// One step of the way to a value inside a body.
#[derive(Debug, Clone)]
enum Step {
    Field(String),
    Item,
}

/// Every date and timestamp inside a schema, at any depth: the way to it and its format.
fn date_fields(spec: &Value, schema: &Value, at: &[Step], depth: usize, out: &mut Vec<(Vec<Step>, String)>) {
    if depth > 6 {
        return;
    }
    let schema = resolve(spec, schema);
    for key in ["oneOf", "anyOf", "allOf"] {
        for option in schema.get(key).and_then(|o| o.as_array()).into_iter().flatten() {
            date_fields(spec, option, at, depth + 1, out);
        }
    }
    if let Some(format @ ("date" | "date-time")) = schema.get("format").and_then(|f| f.as_str()) {
        out.push((at.to_vec(), format.to_owned()));
    }
    for (name, property) in schema.get("properties").and_then(|p| p.as_object()).into_iter().flatten() {
        let mut next = at.to_vec();
        next.push(Step::Field(name.clone()));
        date_fields(spec, property, &next, depth + 1, out);
    }
    if let Some(items) = schema.get("items") {
        let mut next = at.to_vec();
        next.push(Step::Item);
        date_fields(spec, items, &next, depth + 1, out);
    }
}

/// A body holding `value` at `way` and nothing else, and the field name a problem gives it.
fn body_at(way: &[Step], value: Value) -> (Value, String) {
    let mut body = value;
    for step in way.iter().rev() {
        body = match step {
            Step::Field(name) => json!({ name.as_str(): body }),
            Step::Item => json!([body]),
        };
    }
    let mut field = String::new();
    for step in way {
        match step {
            Step::Field(name) if field.is_empty() => field.push_str(name),
            Step::Field(name) => field.push_str(&format!(".{name}")),
            Step::Item => field.push_str("[0]"),
        }
    }
    (body, field)
}

/// Dates and timestamps outside 1900-01-01..2200-12-31, of every form the contract names.
const FAR_DATES: [&str; 5] = ["0001-01-01", "9999-12-31", "1899-12-31", "2201-01-01", "0000-06-15"];
const FAR_TIMESTAMPS: [&str; 5] = [
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "1899-12-31T23:59:59+08:00",
    "2201-01-01T00:00:00Z",
    "+10000-01-01T00:00:00Z",
];

/// Every date and timestamp a client can send, found in the served contract (query parameters
/// and request bodies, at any depth), is refused outside the documented range with 400 naming
/// it, on both backends; at the range's ends it is taken: the reports answer for the whole
/// range, and creates with dates at either end answer without a server error.
async fn dates_outside_the_range_are_refused_everywhere(app: TestApp) {
    let spec = app.get("/api/v1/openapi.json").await.body;
    let some_id = uuid::Uuid::now_v7().to_string();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|s| if s.starts_with('{') { some_id.as_str() } else { s })
            .collect::<Vec<_>>()
            .join("/");
        for (method, op) in item.as_object().unwrap() {
            let method = method.to_ascii_uppercase();
            for param in op["parameters"].as_array().into_iter().flatten() {
                let format = param["schema"]["format"].as_str().unwrap_or_default();
                if param["in"] != "query" || !matches!(format, "date" | "date-time") {
                    continue;
                }
                let name = param["name"].as_str().unwrap();
                let far = if format == "date" { FAR_DATES } else { FAR_TIMESTAMPS };
                for value in far {
                    let r = app
                        .send(&method, &format!("{concrete}?{name}={}", urlencode(value)), None, None, &[])
                        .await;
                    checked += 1;
                    if r.status != 400
                        || r.body["code"] != "invalid_query"
                        || r.body["errors"][0]["field"] != name
                    {
                        wrong.push(format!("{method} {path} ?{name}={value}: {} {}", r.status, r.body));
                    }
                }
            }
            let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") else { continue };
            let mut fields = Vec::new();
            date_fields(&spec, schema, &[], 0, &mut fields);
            for (way, format) in fields {
                let far = if format == "date" { FAR_DATES } else { FAR_TIMESTAMPS };
                for value in far {
                    let (body, field) = body_at(&way, json!(value));
                    let r = app.send(&method, &concrete, None, Some(body.clone()), &[]).await;
                    checked += 1;
                    if r.status != 400
                        || r.body["code"] != "invalid_body"
                        || r.body["errors"][0]["field"] != field.as_str()
                    {
                        wrong.push(format!("{method} {path} {body}: {} {}", r.status, r.body));
                    }
                }
            }
        }
    }
    assert!(checked >= 250, "only {checked} far dates sent: the contract's dates were not found");
    assert!(
        wrong.is_empty(),
        "{} of {checked} far dates answered otherwise:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // The ends of the range are taken: every report over the whole range.
    for report in ["summary", "events", "assessments"] {
        let r = app.get(&format!("/api/v1/reports/{report}?from=1900-01-01&to=2200-12-31")).await;
        assert_eq!(r.status, 200, "{report}: {}", r.body);
    }
    // The compliance report covers at most 160 periods of a rule: each end in turn.
    for (from, to) in [("1900-01-01", "1901-12-31"), ("2199-01-01", "2200-12-31")] {
        let r = app.get(&format!("/api/v1/reports/compliance?from={from}&to={to}")).await;
        assert_eq!(r.status, 200, "compliance {from}..{to}: {}", r.body);
    }
    for list in ["/api/v1/contacts", "/api/v1/events", "/api/v1/audit-events"] {
        let r = app.get(&format!("{list}?from=1900-01-01&to=2200-12-31")).await;
        assert_eq!(r.status, 200, "{list}: {}", r.body);
    }
    let r = app.get("/api/v1/volunteer-hours?from=1900-01-01&to=2200-12-31").await;
    assert_eq!(r.status, 200, "{}", r.body);

    // And in bodies: a child born on the first day, contacts and consents at either end; the
    // domain may refuse a date (in the future, before a birth), never with a server error.
    let village = app.region("柏墩村").await;
    let org =
        app.post("/api/v1/organisations", json!({"name": "边界社工站", "kind": "social_organisation"})).await;
    assert_eq!(org.status, 201, "{}", org.body);
    let organiser = org.id();
    for (birth, at) in [("1900-01-01", "1900-01-01T00:00:00Z"), ("2200-12-31", "2200-12-31T23:59:59-05:00")] {
        let child = app.post("/api/v1/children", json!({"region_id": village, "name": "边界", "sex": "female", "birth_date": birth, "categories": ["left_behind"]})).await;
        assert!(child.status.as_u16() < 500, "{birth}: {}", child.body);
        if child.status == 201 {
            let child_id = child.id();
            for (path, body) in [
                (
                    "/api/v1/contacts",
                    json!({"kind": "phone_visit", "child_id": child_id, "occurred_at": at, "outcome": "completed"}),
                ),
                (
                    "/api/v1/consents",
                    json!({"child_id": child_id, "purpose": "home_visit", "given_by_name": "王秀英", "given_by_relation": "grandmother", "given_at": at}),
                ),
            ] {
                let r = app.post(path, body).await;
                assert!(r.status.as_u16() < 500, "{path} at {at}: {}", r.body);
            }
        }
        let r = app.post("/api/v1/events", json!({"title": "边界", "event_type": "care", "programme": "five_plus_n", "region_id": village, "organiser_id": organiser, "starts_at": at, "ends_at": at})).await;
        assert!(r.status.as_u16() < 500, "event at {at}: {}", r.body);
    }
    eprintln!("far dates: {checked} sent, each refused naming its field");
}

/// Stored timestamps compare in time order in every filter, on both backends alike, up to the
/// ends of the windows the work's records must fall in (SQLite keeps them as text; four-digit
/// years and a fixed layout keep text order and time order the same): events on the first and
/// the last day of their window (20 years back, 5 ahead) and half a second either side of a
/// midnight are listed by exactly the days they fall on (Asia/Shanghai), and contacts the same at
/// their window's start; a day beyond either end is refused, naming the field.
async fn filters_agree_at_the_edges_of_the_range(app: TestApp) {
    use chrono::Months;
    let today = tongxing_core::time::today();
    let first = today.checked_sub_months(Months::new(12 * tongxing_core::time::RECORDS_YEARS_BACK)).unwrap();
    let last = today.checked_add_months(Months::new(12 * tongxing_core::time::PLANS_YEARS_AHEAD)).unwrap();
    let (before_first, after_last) = (first.pred_opt().unwrap(), last.succ_opt().unwrap());
    let village = app.region("柏墩村").await;
    let org =
        app.post("/api/v1/organisations", json!({"name": "边界社工站", "kind": "social_organisation"})).await;
    let organiser = org.id();
    let event = |at: &str| json!({"title": format!("边界{at}"), "event_type": "care", "programme": "five_plus_n", "region_id": village, "organiser_id": organiser, "starts_at": at, "ends_at": at});
    let mut events = Vec::new();
    for at in [
        format!("{first}T00:00:00+08:00"),
        "2019-12-31T23:59:59.5+08:00".to_owned(),
        "2020-01-01T00:00:00+08:00".to_owned(),
        format!("{last}T23:59:59+08:00"),
    ] {
        let r = app.post("/api/v1/events", event(&at)).await;
        assert_eq!(r.status, 201, "{at}: {}", r.body);
        assert!(
            r.body["starts_at"].as_str().is_some_and(|t| t.len() >= 20 && t.as_bytes()[4] == b'-'),
            "{}",
            r.body
        );
        events.push(r.id());
    }
    for (at, code) in [
        (format!("{before_first}T23:59:59+08:00"), "too_old"),
        (format!("{after_last}T00:00:00+08:00"), "too_far_ahead"),
    ] {
        let r = app.post("/api/v1/events", event(&at)).await;
        r.assert_problem(422, "validation_failed");
        assert!(
            r.body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == "starts_at" && e["code"] == code),
            "{at}: {}",
            r.body
        );
    }
    let listed = |query: String| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/v1/events?limit=200&{query}")).await;
            assert_eq!(r.status, 200, "{query}: {}", r.body);
            let mut ids: Vec<String> = r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    let of = |which: &[usize]| {
        let mut ids: Vec<String> = which.iter().map(|i| events[*i].clone()).collect();
        ids.sort();
        ids
    };
    for (query, expected) in [
        (format!("from={first}&to={first}"), &[0][..]),
        (format!("to={first}"), &[0]),
        ("to=2019-12-31".to_owned(), &[0, 1]),
        ("from=2019-12-31&to=2019-12-31".to_owned(), &[1]),
        ("from=2020-01-01&to=2020-01-01".to_owned(), &[2]),
        ("from=2020-01-01".to_owned(), &[2, 3]),
        (format!("from=2020-01-01&to={}", last.pred_opt().unwrap()), &[2]),
        (format!("from={last}"), &[3]),
        (format!("from={last}&to={last}"), &[3]),
        ("from=1900-01-01&to=2200-12-31".to_owned(), &[0, 1, 2, 3]),
        (format!("from={}&to=2019-12-30", first.succ_opt().unwrap()), &[]),
    ] {
        assert_eq!(listed(query.clone()).await, of(expected), "events?{query}");
    }

    // Contacts cannot be in the future: their window's start, and half a second either side of
    // a midnight.
    let household = app.post("/api/v1/households", json!({"region_id": village, "guardians": []})).await;
    assert_eq!(household.status, 201, "{}", household.body);
    let household = household.id();
    let contact = |at: &str| json!({"kind": "phone_visit", "household_id": household, "occurred_at": at, "outcome": "completed"});
    let mut contacts = Vec::new();
    for at in [
        format!("{first}T00:00:00+08:00"),
        "2019-12-31T23:59:59.5+08:00".to_owned(),
        "2020-01-01T00:00:00+08:00".to_owned(),
    ] {
        let r = app.post("/api/v1/contacts", contact(&at)).await;
        assert_eq!(r.status, 201, "{at}: {}", r.body);
        contacts.push(r.id());
    }
    let r = app.post("/api/v1/contacts", contact(&format!("{before_first}T23:59:59+08:00"))).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(
        (&r.body["errors"][0]["field"], &r.body["errors"][0]["code"]),
        (&json!("occurred_at"), &json!("too_old"))
    );
    for (query, expected) in [
        (format!("from={first}&to={first}"), &[0][..]),
        ("to=2019-12-31".to_owned(), &[0, 1]),
        ("from=2020-01-01".to_owned(), &[2]),
        ("from=1900-01-01&to=2200-12-31".to_owned(), &[0, 1, 2]),
    ] {
        let r = app.get(&format!("/api/v1/contacts?household_id={household}&limit=200&{query}")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        let mut ids: Vec<&str> =
            r.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        ids.sort_unstable();
        let mut want: Vec<&str> = expected.iter().map(|i| contacts[*i].as_str()).collect();
        want.sort_unstable();
        assert_eq!(ids, want, "contacts?{query}");
    }
}
