//! Examples in the contract: what the docs page shows and a generator puts in its documentation,
//! instead of values drawn from the schemas' patterns. A child, a household and a pairing as the
//! service answers them, the bodies that create them, and one problem for each shared error
//! status, each as the service words it in English. Tests hold every example to its schema.

use serde_json::{Value, json};

const REGION: &str = "0b7d6f4e-5c3a-4e21-9f8d-7a6b5c4d3e2f";
const HOUSEHOLD: &str = "3c9e1a7b-2d4f-4b6a-8c1e-5f7a9b3d2e10";
const CHILD: &str = "6a2f8c4e-1b3d-4f5a-9e7c-2d4b6f8a1c3e";
const CASEWORKER: &str = "9d1b3f5a-7c2e-4a6b-8d0f-1e3a5c7b9d2f";
const MENTOR: &str = "4e6a8c0b-2f4d-4b8e-9a1c-3e5b7d9f1a2c";
const PAIRING: &str = "8f0b2d4c-6e8a-4c1e-9b3d-5f7a9c1e3b4d";

/// The examples of component schemas: (schema name, example).
pub fn schemas() -> Vec<(&'static str, Value)> {
    let guardian = json!({
        "name": "李秀英",
        "relation": "grandmother",
        "phone": "13907151234",
        "is_primary": true,
        "works_away": false
    });
    let parent = json!({
        "name": "王建国",
        "relation": "father",
        "phone": "13871560987",
        "is_primary": false,
        "works_away": true
    });
    vec![
        (
            "Child",
            json!({
                "id": CHILD,
                "region_id": REGION,
                "household_id": HOUSEHOLD,
                "name": "王小雨",
                "sex": "female",
                "birth_date": "2014-09-12",
                "categories": ["left_behind"],
                "status": "registered",
                "case_number": "XN-2024-0042",
                "registered_on": "2024-03-05",
                "caseworker_id": CASEWORKER,
                "school": "柏墩镇中心小学",
                "health_notes": null,
                "disability_notes": null,
                "version": 3,
                "created_at": "2024-03-01T09:30:00+08:00",
                "updated_at": "2024-03-05T14:12:45+08:00"
            }),
        ),
        (
            "ChildInput",
            json!({
                "region_id": REGION,
                "household_id": HOUSEHOLD,
                "name": "王小雨",
                "sex": "female",
                "birth_date": "2014-09-12",
                "categories": ["left_behind"],
                "school": "柏墩镇中心小学"
            }),
        ),
        (
            "Household",
            json!({
                "id": HOUSEHOLD,
                "region_id": REGION,
                "address": "咸宁市咸安区柏墩镇柏墩村三组 12 号",
                "parents_work_away": true,
                "guardians": [guardian.clone(), parent.clone()],
                "notes": "父母在广东务工，春节回家",
                "version": 1,
                "created_at": "2024-03-01T09:10:00+08:00",
                "updated_at": "2024-03-01T09:10:00+08:00"
            }),
        ),
        (
            "HouseholdInput",
            json!({
                "region_id": REGION,
                "address": "咸宁市咸安区柏墩镇柏墩村三组 12 号",
                "parents_work_away": true,
                "guardians": [guardian, parent]
            }),
        ),
        (
            "Pairing",
            json!({
                "id": PAIRING,
                "mentor_id": MENTOR,
                "child_id": CHILD,
                "status": "active",
                "started_on": "2024-03-10",
                "ended_on": null,
                "end_reason": null,
                "notes": "每周电话一次，每月家访一次",
                "version": 2,
                "created_at": "2024-03-08T10:00:00+08:00",
                "updated_at": "2024-03-10T08:45:00+08:00"
            }),
        ),
        (
            "PairingInput",
            json!({"mentor_id": MENTOR, "child_id": CHILD, "notes": "每周电话一次，每月家访一次"}),
        ),
    ]
}

/// A problem as the service answers it in English (`title` is the status's).
fn problem(status: u16, code: &str, detail: &str, title: &str) -> Value {
    json!({
        "type": format!("urn:tongxing:problem:{code}"),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code
    })
}

/// The example of a shared error response, by its status.
pub fn problem_for(status: &str) -> Option<Value> {
    let title = |s: u16| crate::i18n::message(crate::i18n::Lang::En, &crate::i18n::title_id(s), None);
    let s: u16 = status.parse().ok()?;
    let t = title(s)?;
    let p = |code: &str, detail: &str| problem(s, code, detail, &t);
    let mut example = match s {
        400 => p(
            "invalid_body",
            "the JSON body is not acceptable: birth_date: must be a date as YYYY-MM-DD, from 1900-01-01 to 2200-12-31",
        ),
        401 => p("missing_token", "send an access token: Authorization: Bearer <token>"),
        403 => p("forbidden", "the caller's role may not do this"),
        404 => p("not_found", "no such child"),
        408 => p("body_timeout", "the request body stopped arriving; send it again"),
        409 => p("child_already_paired", "the child has another pairing active over these dates"),
        410 => p("child_merged", "this record was merged into another; `merged_into` names it"),
        412 => p("stale_version", "the record has changed since you read it; read it again and retry"),
        413 => p("body_too_large", "the request body is too large"),
        415 => p("unsupported_media_type", "send the body as application/json"),
        422 => p("validation_failed", "some fields are invalid"),
        428 => p("if_match_required", "send the record's ETag in an If-Match header"),
        429 => p("too_many_attempts", "too many failed logins; try again later"),
        500 => p("internal", "an unexpected error; details are in the service's logs"),
        503 => p("unavailable", "the database is not available; retry shortly"),
        _ => return None,
    };
    match s {
        400 => {
            example["errors"] = json!([{
                "field": "birth_date",
                "code": "invalid_value",
                "message": "must be a date as YYYY-MM-DD, from 1900-01-01 to 2200-12-31"
            }]);
        }
        409 => example["conflicting_id"] = PAIRING.into(),
        410 => example["merged_into"] = "0190f0a0-0000-7000-8000-000000000011".into(),
        422 => {
            example["errors"] =
                json!([{"field": "region_id", "code": "not_found", "message": "no region with this id"}]);
        }
        _ => {}
    }
    Some(example)
}

#[cfg(test)]
mod tests {
    use tongxing_core::Code;

    #[test]
    fn each_shared_error_shows_a_problem_of_its_own_status() {
        for (status, name, _) in crate::doc::ERRORS {
            let example = super::problem_for(status).unwrap_or_else(|| panic!("no example for {name}"));
            let code = example["code"].as_str().unwrap();
            let code = Code::ALL.iter().find(|c| c.as_str() == code).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(example["status"].to_string(), *status, "{name}");
            assert_eq!(code.status().to_string(), *status, "{name}: {code}");
        }
    }
}
