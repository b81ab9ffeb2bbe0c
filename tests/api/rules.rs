//! Programme rules, part 2, over HTTP on both backends: the rule breaks an independent check
//! found, each reproduced as it was reported, and every lifecycle's transition table.

use serde_json::{Value, json};
use tongxing_core::role::Role;

use crate::helpers::{Resp, TestApp, ahead};
use crate::on_both_backends;
use crate::pairings::{activate, mentor, pairing, welfare_child};

on_both_backends!(
    a_case_in_screening_closes,
    case_file_lifecycle_table,
    pairing_lifecycle_table,
    event_lifecycle_table,
    enrolment_lifecycle_table,
    home_visit_step_table,
    pairings_are_exclusive_over_dates,
    home_visits_come_after_the_formalities,
    exemptions_only_for_active_periods,
    a_contact_not_reached_counts_for_nothing,
    attendance_is_judged_on_the_event_day,
    reports_group_by_region_id_and_break_down_the_summary,
    case_numbers_follow_the_order_of_issue,
);

async fn status(app: &TestApp, path: &str, body: Value) -> Resp {
    app.post(&format!("{path}/status"), body).await
}

async fn child_in(app: &TestApp, village: &str, name: &str, categories: &[&str]) -> String {
    let r = app
        .post("/api/v1/children", json!({"region_id": village, "name": name, "sex": "male", "birth_date": "2013-05-05", "categories": categories}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.id()
}

async fn a_case_in_screening_closes(app: TestApp) {
    let village = app.region("金桂社区").await;
    let child = child_in(&app, &village, "筛查儿童", &["left_behind"]).await;
    let r = status(
        &app,
        &format!("/api/v1/children/{child}"),
        json!({"status": "closed", "effective_on": "2024-02-01", "reason": "screened out"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "closed");
    assert!(r.body["case_number"].is_null() && r.body["registered_on"].is_null(), "{}", r.body);
    // Never opened, so never counted as registered.
    let r = app.get("/api/v1/reports/summary?from=2024-01-01&to=2024-12-31").await;
    assert_eq!(r.body["children_registered"], 0, "{}", r.body);
}

const CASE_STATES: [&str; 4] = ["screening", "registered", "active", "closed"];

/// A child whose case file is in `state`, by the legal path.
async fn child_at(app: &TestApp, village: &str, state: &str, n: usize) -> String {
    let child = child_in(app, village, &format!("状态{n}"), &["in_difficulty"]).await;
    let path = format!("/api/v1/children/{child}");
    let steps: &[(&str, &str)] = match state {
        "screening" => &[],
        "registered" => &[("registered", "2024-01-05")],
        "active" => &[("registered", "2024-01-05"), ("active", "2024-01-10")],
        _ => &[("registered", "2024-01-05"), ("active", "2024-01-10"), ("closed", "2024-02-01")],
    };
    for (to, on) in steps {
        let r = status(app, &path, json!({"status": to, "effective_on": on, "reason": "moved away"})).await;
        assert_eq!(r.status, 200, "{to}: {}", r.body);
    }
    child
}

/// Every (from, to) pair of the case-file lifecycle: 200 where the table allows it, 409
/// `illegal_transition` everywhere else, never a 500.
async fn case_file_lifecycle_table(app: TestApp) {
    let village = app.region("金桂社区").await;
    let legal = [
        ("screening", "registered"),
        ("registered", "active"),
        ("screening", "closed"),
        ("registered", "closed"),
        ("active", "closed"),
    ];
    let mut n = 0;
    for from in CASE_STATES {
        for to in CASE_STATES {
            n += 1;
            let child = child_at(&app, &village, from, n).await;
            let r = status(
                &app,
                &format!("/api/v1/children/{child}"),
                json!({"status": to, "effective_on": "2024-03-01", "reason": "table"}),
            )
            .await;
            if legal.contains(&(from, to)) {
                assert_eq!(r.status, 200, "{from} -> {to}: {}", r.body);
                assert_eq!(r.body["status"], to);
            } else {
                r.assert_problem(409, "illegal_transition");
            }
        }
    }
}

async fn pairing_lifecycle_table(app: TestApp) {
    let states = ["proposed", "active", "ended"];
    let legal = [("proposed", "active"), ("proposed", "ended"), ("active", "ended")];
    let mut n = 0;
    for from in states {
        for to in states {
            n += 1;
            let m = mentor(&app, &format!("表导师{n}"), None).await;
            let c = welfare_child(&app, &format!("表儿童{n}")).await;
            let p = pairing(&app, &m, &c).await;
            let path = format!("/api/v1/pairings/{p}");
            if from != "proposed" {
                assert_eq!(activate(&app, &p, "2024-01-02").await.status, 200);
            }
            if from == "ended" {
                let r = status(
                    &app,
                    &path,
                    json!({"status": "ended", "effective_on": "2024-02-01", "reason": "x"}),
                )
                .await;
                assert_eq!(r.status, 200, "{}", r.body);
            }
            let r =
                status(&app, &path, json!({"status": to, "effective_on": "2024-03-01", "reason": "table"}))
                    .await;
            if legal.contains(&(from, to)) {
                assert_eq!(r.status, 200, "{from} -> {to}: {}", r.body);
            } else {
                r.assert_problem(409, "illegal_transition");
            }
        }
    }
}

async fn event_lifecycle_table(app: TestApp) {
    let village = app.region("柏墩村").await;
    let org = app
        .post("/api/v1/organisations", json!({"name": "表组织", "kind": "social_organisation"}))
        .await
        .id();
    let r = app
        .post(
            "/api/v1/volunteers",
            json!({"name": "表志愿者", "source": "community", "organisation_id": org,
            "background_check": {"on": "2023-01-10", "expires_on": "2099-01-01"},
            "safety_training": {"on": "2023-03-01", "expires_on": "2099-01-01"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let volunteer = r.id();
    let states = ["planned", "held", "reported", "cancelled"];
    let legal = [("planned", "held"), ("held", "reported"), ("planned", "cancelled")];
    for from in states {
        for to in states {
            let r = app
                .post(
                    "/api/v1/events",
                    json!({"title": "表活动", "event_type": "care", "programme": "five_plus_n",
                    "starts_at": "2024-03-02T09:00:00+08:00", "ends_at": "2024-03-02T11:00:00+08:00",
                    "region_id": village, "organiser_id": org}),
                )
                .await;
            assert_eq!(r.status, 201, "{}", r.body);
            let path = format!("/api/v1/events/{}", r.id());
            let r = app
                .post(
                    &format!("{path}/roster"),
                    json!({"volunteer_id": volunteer, "role": "volunteer", "hours": 2}),
                )
                .await;
            assert!(r.status.is_success(), "{}", r.body);
            let route: &[&str] = match from {
                "planned" => &[],
                "held" => &["held"],
                "reported" => &["held", "reported"],
                _ => &["cancelled"],
            };
            for step in route {
                let r = status(&app, &path, json!({"status": step, "reason": "下雨"})).await;
                assert_eq!(r.status, 200, "{step}: {}", r.body);
            }
            let r = status(&app, &path, json!({"status": to, "reason": "表"})).await;
            if legal.contains(&(from, to)) {
                assert_eq!(r.status, 200, "{from} -> {to}: {}", r.body);
            } else {
                r.assert_problem(409, "illegal_transition");
            }
        }
    }
}

/// An enrolment is `open` (no end date) or `ended`; an ended one is not reopened, and its dates
/// keep the recorded sessions inside them.
async fn enrolment_lifecycle_table(app: TestApp) {
    let village = app.region("金桂社区").await;
    let put = |id: String, version: i64, ends_on: Option<&str>| {
        let body = json!({"child_id": null, "weekday": 6, "time_of_day": "15:00", "starts_on": "2024-01-06",
            "ends_on": ends_on, "team": [{"name": "陈心理", "role": "counsellor"}]});
        (id, version, body)
    };
    let mut n = 0;
    for (from, to, expected) in [
        ("open", "open", None),
        ("open", "ended", None),
        ("ended", "ended", None),
        ("ended", "open", Some("illegal_transition")),
    ] {
        n += 1;
        let child = child_in(&app, &village, &format!("辅导{n}"), &["in_difficulty"]).await;
        let r = app
            .post("/api/v1/counselling-enrolments", json!({"child_id": child, "weekday": 6, "time_of_day": "15:00", "starts_on": "2024-01-06", "team": [{"name": "陈心理", "role": "counsellor"}]}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let (id, mut version) = (r.id(), r.body["version"].as_i64().unwrap());
        let send = |(id, version, mut body): (String, i64, Value)| {
            body["child_id"] = json!(child);
            let app = &app;
            async move {
                let path = format!("/api/v1/counselling-enrolments/{id}");
                app.send("PUT", &path, None, Some(body), &[("if-match", &format!("\"{version}\""))]).await
            }
        };
        if from == "ended" {
            let r = send(put(id.clone(), version, Some("2024-03-01"))).await;
            assert_eq!(r.status, 200, "{}", r.body);
            version = r.body["version"].as_i64().unwrap();
        }
        let end = (to == "ended").then_some("2024-04-01");
        let r = send(put(id.clone(), version, end)).await;
        match expected {
            None => assert_eq!(r.status, 200, "{from} -> {to}: {}", r.body),
            Some(code) => r.assert_problem(409, code),
        }
        if n == 1 {
            // The dates keep the recorded sessions inside them.
            let r = app
                .post(&format!("/api/v1/counselling-enrolments/{id}/sessions"), json!({"occurred_at": "2024-02-03T15:00:00+08:00", "attended_by": ["陈心理"], "services": ["psychological_counselling"]}))
                .await;
            assert_eq!(r.status, 201, "{}", r.body);
            let version = app.get(&format!("/api/v1/counselling-enrolments/{id}")).await.body["version"]
                .as_i64()
                .unwrap();
            send(put(id.clone(), version, Some("2024-01-31"))).await.assert_problem(409, "sessions_outside");
        }
    }
}

fn visit_body(pairing: &str, leaves: &str, returns: &str) -> Value {
    json!({"pairing_id": pairing, "leaves_at": leaves, "returns_at": returns, "address": "温泉街道某小区3栋",
        "transport": "导师自驾", "supervisor": "李建华", "emergency_contact_name": "值班室",
        "emergency_contact_phone": "0715-8000000"})
}

const SAFETY_ITEMS: [&str; 6] = [
    "supervising_adult_present",
    "home_environment_checked",
    "transport_arranged",
    "emergency_contact_reachable",
    "child_needs_briefed",
    "return_time_agreed",
];

/// A home-visit request on `pairing` brought to `state`.
async fn visit_at(app: &TestApp, pairing: &str, state: &str) -> String {
    let late = state == "recorded_late";
    let r = if late {
        let mut body = visit_body(pairing, "2024-10-02T09:00:00+08:00", "2024-10-02T18:00:00+08:00");
        body["reason"] = json!("未经审批");
        app.post("/api/v1/home-visit-requests/recorded-late", body).await
    } else {
        app.post(
            "/api/v1/home-visit-requests",
            visit_body(pairing, &ahead("2024-10-02T09:00:00+08:00"), &ahead("2024-10-02T18:00:00+08:00")),
        )
        .await
    };
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.id();
    let step = |s: &str| format!("/api/v1/home-visit-requests/{id}/{s}");
    let consent =
        json!({"given_by": "主任", "relation": "institution", "given_at": "2024-09-20T10:00:00+08:00"});
    let checklist: Vec<Value> =
        SAFETY_ITEMS.iter().map(|i| json!({"item": i, "confirmed_by": "李建华"})).collect();
    let path: &[(&str, Value)] = match state {
        "consented" | "expired" => &[("consent", consent)],
        "approved" | "completed" => {
            &[("consent", consent), ("checklist", json!({"items": checklist})), ("approve", json!({}))]
        }
        "rejected" => &[("reject", json!({"reason": "不同意"}))],
        "cancelled" => &[("cancel", json!({"reason": "生病"}))],
        _ => &[],
    };
    for (s, body) in path {
        let r = app.post(&step(s), body.clone()).await;
        assert_eq!(r.status, 200, "{s}: {}", r.body);
    }
    if matches!(state, "approved" | "completed" | "expired") {
        app.visit_took_place(&id).await;
    }
    if state == "completed" {
        let r = app.post(&step("return"), json!({"returned_at": "2024-10-02T17:40:00+08:00"})).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = app.get(&format!("/api/v1/home-visit-requests/{id}")).await;
    assert_eq!(r.body["status"], state, "{}", r.body);
    id
}

/// Every step from every state of a home-visit request: 200 where the workflow allows it, 409
/// naming what stands in the way everywhere else.
async fn home_visit_step_table(app: TestApp) {
    app.plan_visits_ahead().await;
    let m = mentor(&app, "家访表导师", None).await;
    let c = welfare_child(&app, "家访表儿童").await;
    let p = pairing(&app, &m, &c).await;
    assert_eq!(activate(&app, &p, "2024-09-01").await.status, 200);
    let closed =
        ["illegal_step", "illegal_step", "illegal_step", "illegal_step", "illegal_step", "not_approved"];
    let table: [(&str, [&str; 6]); 8] = [
        // consent, checklist, approve, reject, cancel, return
        ("requested", ["", "", "consent_missing", "", "", "not_approved"]),
        ("consented", ["illegal_step", "", "checklist_incomplete", "", "", "not_approved"]),
        ("approved", ["illegal_step", "illegal_step", "illegal_step", "illegal_step", "", ""]),
        ("completed", closed),
        ("rejected", closed),
        ("cancelled", closed),
        ("expired", ["expired", "expired", "expired", "illegal_step", "illegal_step", "not_approved"]),
        ("recorded_late", closed),
    ];
    let steps = [
        (
            "consent",
            json!({"given_by": "主任", "relation": "institution", "given_at": "2024-09-20T10:00:00+08:00"}),
        ),
        ("checklist", json!({"items": [{"item": "transport_arranged", "confirmed_by": "李"}]})),
        ("approve", json!({})),
        ("reject", json!({"reason": "表"})),
        ("cancel", json!({"reason": "表"})),
        ("return", json!({"returned_at": "2024-10-02T17:40:00+08:00"})),
    ];
    for (state, expected) in table {
        for ((step, body), code) in steps.iter().zip(expected) {
            let id = visit_at(&app, &p, state).await;
            let r = app.post(&format!("/api/v1/home-visit-requests/{id}/{step}"), body.clone()).await;
            if code.is_empty() {
                assert_eq!(r.status, 200, "{state} / {step}: {}", r.body);
            } else {
                r.assert_problem(409, code);
            }
        }
    }
}

/// Reproduces "two pairings active for the same mentor from March to June" and its mirror for
/// a child; a handover on the day one ends is allowed; the database holds the rule too.
async fn pairings_are_exclusive_over_dates(app: TestApp) {
    let m = mentor(&app, "日期导师", None).await;
    let c1 = welfare_child(&app, "日期儿童一").await;
    let first = pairing(&app, &m, &c1).await;
    assert_eq!(activate(&app, &first, "2024-01-01").await.status, 200);
    let r = status(
        &app,
        &format!("/api/v1/pairings/{first}"),
        json!({"status": "ended", "effective_on": "2024-06-30", "reason": "换导师"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let c2 = welfare_child(&app, "日期儿童二").await;
    let second = pairing(&app, &m, &c2).await;
    let r = activate(&app, &second, "2024-03-01").await;
    r.assert_problem(409, "mentor_already_paired");
    assert_eq!(r.body["conflicting_id"], first.as_str(), "{}", r.body);
    // The day the first pairing ended is the first day of the next: a handover.
    assert_eq!(activate(&app, &second, "2024-06-30").await.status, 200);

    let m2 = mentor(&app, "日期导师二", None).await;
    let third = pairing(&app, &m2, &c1).await;
    let r = activate(&app, &third, "2024-05-01").await;
    r.assert_problem(409, "child_already_paired");
    assert_eq!(r.body["conflicting_id"], first.as_str(), "{}", r.body);
    assert_eq!(activate(&app, &third, "2024-06-30").await.status, 200);

    // Written past the service's own check, the database refuses an overlap all the same.
    let m3 = mentor(&app, "日期导师三", None).await;
    let c3 = welfare_child(&app, "日期儿童三").await;
    let fourth = pairing(&app, &m3, &c3).await;
    let db = app.state.db.clone();
    let (a, b) = (first.clone(), fourth.clone());
    let refused = crate::helpers::web_block(move || {
        let mut conn = db.conn().map_err(|e| e.to_string())?;
        let mut results = Vec::new();
        for column in ["mentor_id", "child_id"] {
            let sql = format!(
                "UPDATE pairings SET {column} = (SELECT {column} FROM pairings WHERE id = '{a}'), status = 'ended', \
                 started_on = '2024-02-01', ended_on = '2024-03-01', end_reason = 'x' WHERE id = '{b}'"
            );
            let e = diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut *conn)
                .map(|_| ())
                .map_err(tongxing_store::map_db_error);
            results.push(match e {
                Err(tongxing_core::Error::Conflict { code, .. }) => code.to_string(),
                other => format!("{other:?}"),
            });
        }
        Ok(results)
    })
    .await
    .unwrap();
    assert_eq!(refused, ["mentor_already_paired", "child_already_paired"]);
}

async fn home_visits_come_after_the_formalities(app: TestApp) {
    app.plan_visits_ahead().await;
    let m = mentor(&app, "手续导师", None).await;
    let c = welfare_child(&app, "手续儿童").await;
    let p = pairing(&app, &m, &c).await;
    assert_eq!(activate(&app, &p, "2025-12-01").await.status, 200);
    // As reported: a pairing active from 2025-12-01, a request for Qingming 2025-04-05.
    let qingming = visit_body(&p, "2025-04-05T09:00:00+08:00", "2025-04-05T18:00:00+08:00");
    app.post("/api/v1/home-visit-requests", qingming.clone()).await.assert_problem(409, "outside_pairing");
    let mut late = qingming;
    late["reason"] = json!("补录");
    app.post("/api/v1/home-visit-requests/recorded-late", late).await.assert_problem(409, "outside_pairing");

    // As reported: on 2 December a request for 2 October is refused; the formalities come first.
    let m2 = mentor(&app, "手续导师二", None).await;
    let c2 = welfare_child(&app, "手续儿童二").await;
    let p2 = pairing(&app, &m2, &c2).await;
    assert_eq!(activate(&app, &p2, "2024-09-01").await.status, 200);
    let past = visit_body(&p2, "2024-10-02T09:00:00+08:00", "2024-10-02T18:00:00+08:00");
    app.post("/api/v1/home-visit-requests", past.clone()).await.assert_problem(409, "departure_passed");

    // A request not approved by its departure has expired: shown so, and closed to approval.
    let expired = visit_at(&app, &p2, "expired").await;
    app.post(&format!("/api/v1/home-visit-requests/{expired}/approve"), json!({}))
        .await
        .assert_problem(409, "expired");
    let listed = |r: &Resp| -> Vec<String> {
        r.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(
        listed(&app.get("/api/v1/home-visit-requests?status=expired").await),
        std::slice::from_ref(&expired)
    );
    assert!(listed(&app.get("/api/v1/home-visit-requests?status=consented").await).is_empty());

    // A visit that went ahead without approval is recorded late, by a coordinator, with the reason.
    let mut late = past;
    late["reason"] = json!("监护人当天口头同意后导师接走，未走审批；已约谈导师");
    app.add_user("mentor.late", Role::Mentor, "mentor-password-9").await;
    let token = app.login("mentor.late", "mentor-password-9").await;
    app.send("POST", "/api/v1/home-visit-requests/recorded-late", Some(&token), Some(late.clone()), &[])
        .await
        .assert_problem(403, "forbidden");
    let mut ahead_late = late.clone();
    ahead_late["leaves_at"] = json!(ahead("2024-10-02T09:00:00+08:00"));
    ahead_late["returns_at"] = json!(ahead("2024-10-02T18:00:00+08:00"));
    app.post("/api/v1/home-visit-requests/recorded-late", ahead_late)
        .await
        .assert_problem(422, "validation_failed");
    let r = app.post("/api/v1/home-visit-requests/recorded-late", late).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "recorded_late");
    assert!(r.body["late_reason"].as_str().unwrap().contains("未走审批"));
    let late_id = r.id();
    assert_eq!(
        listed(&app.get("/api/v1/home-visit-requests?status=recorded_late").await),
        std::slice::from_ref(&late_id)
    );
    // The visit itself can be logged against the late record.
    let r = app
        .post(&format!("/api/v1/pairings/{p2}/contacts"), json!({"occurred_at": "2024-10-02T10:00:00+08:00", "kind": "home_visit", "home_visit_request_id": late_id}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // The compliance report counts both, apart from visits approved in time.
    let r = app.get("/api/v1/reports/compliance?from=2024-10-01&to=2024-10-31").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = &r.body["home_visits"];
    assert_eq!(
        (v["expired"].as_i64(), v["recorded_late"].as_i64(), v["completed"].as_i64()),
        (Some(1), Some(1), Some(0)),
        "{v}"
    );
}

async fn exemptions_only_for_active_periods(app: TestApp) {
    const MONTHLY: &str = "00000000-0000-7000-8000-00000000c001";
    let m = mentor(&app, "豁免导师", None).await;
    let c = welfare_child(&app, "豁免儿童").await;
    let p = pairing(&app, &m, &c).await;
    assert_eq!(activate(&app, &p, "2024-03-10").await.status, 200);
    let r = status(
        &app,
        &format!("/api/v1/pairings/{p}"),
        json!({"status": "ended", "effective_on": "2024-05-31", "reason": "结束"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let exempt =
        |period: &str| json!({"rule_id": MONTHLY, "subject_id": p, "period": period, "reason": "住院"});
    app.post("/api/v1/compliance/exemptions", exempt("2024-02"))
        .await
        .assert_problem(409, "outside_active_interval");
    app.post("/api/v1/compliance/exemptions", exempt("2024-06"))
        .await
        .assert_problem(409, "outside_active_interval");
    for period in ["2024-03", "2024-05"] {
        let r = app.post("/api/v1/compliance/exemptions", exempt(period)).await;
        assert_eq!(r.status, 201, "{period}: {}", r.body);
    }
}

async fn a_contact_not_reached_counts_for_nothing(app: TestApp) {
    let m = mentor(&app, "结果导师", None).await;
    let c = welfare_child(&app, "结果儿童").await;
    let p = pairing(&app, &m, &c).await;
    assert_eq!(activate(&app, &p, "2024-01-02").await.status, 200);
    let contact = |day: &str, outcome: Option<&str>| {
        let mut b = json!({"occurred_at": format!("{day}T19:00:00+08:00"), "kind": "phone"});
        if let Some(o) = outcome {
            b["outcome"] = json!(o);
        }
        b
    };
    let r =
        app.post(&format!("/api/v1/pairings/{p}/contacts"), contact("2024-02-10", Some("not_reached"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["outcome"], "not_reached");
    let r = app.post(&format!("/api/v1/pairings/{p}/contacts"), contact("2024-03-10", None)).await;
    assert_eq!(r.body["outcome"], "completed", "completed when not said");
    let r = app.get(&format!("/api/v1/pairings/{p}/compliance?to=2024-03-31")).await;
    let monthly = r.body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule_code"] == "monthly_contact")
        .unwrap()
        .clone();
    let status_of = |period: &str| {
        monthly["periods"].as_array().unwrap().iter().find(|x| x["period"] == period).unwrap()["status"]
            .clone()
    };
    assert_eq!(status_of("2024-02"), "missed", "an unanswered call is no contact: {monthly}");
    assert_eq!(status_of("2024-03"), "met");
    // The report agrees with the timeline.
    let r = app.get("/api/v1/reports/compliance?from=2024-02-01&to=2024-02-29").await;
    let rule =
        r.body["rules"].as_array().unwrap().iter().find(|x| x["rule_code"] == "monthly_contact").unwrap();
    assert_eq!(
        (rule["periods"][0]["met"].as_i64(), rule["periods"][0]["missed"].as_i64()),
        (Some(0), Some(1)),
        "{rule}"
    );
}

async fn attendance_is_judged_on_the_event_day(app: TestApp) {
    let village = app.region("柏墩村").await;
    let org = app
        .post("/api/v1/organisations", json!({"name": "出勤组织", "kind": "social_organisation"}))
        .await
        .id();
    let event = app
        .post(
            "/api/v1/events",
            json!({"title": "读书会", "event_type": "care", "programme": "five_plus_n",
            "starts_at": "2024-03-02T09:00:00+08:00", "ends_at": "2024-03-02T11:00:00+08:00",
            "region_id": village, "organiser_id": org}),
        )
        .await
        .id();
    let closed_after = child_at(&app, &village, "registered", 101).await;
    let r = status(
        &app,
        &format!("/api/v1/children/{closed_after}"),
        json!({"status": "closed", "effective_on": "2024-04-01", "reason": "搬走"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let closed_before = child_at(&app, &village, "closed", 102).await; // closed 2024-02-01
    let r = app
        .post(&format!("/api/v1/events/{event}/attendance"), json!({"items": [{"child_id": closed_before}]}))
        .await;
    r.assert_problem(422, "validation_failed");
    assert!(r.body.to_string().contains("case_closed"), "{}", r.body);
    let r = app
        .post(&format!("/api/v1/events/{event}/attendance"), json!({"items": [{"child_id": closed_after}]}))
        .await;
    assert!(r.status.is_success(), "a child who attended while open is recorded: {}", r.body);
}

async fn reports_group_by_region_id_and_break_down_the_summary(app: TestApp) {
    // Two villages of one name, in two towns.
    let guihua = app.region("桂花镇").await;
    let wenquan = app.region("温泉街道").await;
    let mut twins = Vec::new();
    for town in [&guihua, &wenquan] {
        let r = app
            .post("/api/v1/regions", json!({"parent_id": town, "level": "village", "name": "同名村"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        twins.push(r.id());
    }
    let mut children = Vec::new();
    for (i, (v, cats)) in
        [(&twins[0], vec!["left_behind"]), (&twins[1], vec!["left_behind", "in_difficulty"])]
            .into_iter()
            .enumerate()
    {
        let c = child_in(&app, v, &format!("同名{i}"), &cats).await;
        let r = status(
            &app,
            &format!("/api/v1/children/{c}"),
            json!({"status": "registered", "effective_on": "2024-01-05"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let m = mentor(&app, &format!("同名导师{i}"), None).await;
        let p = pairing(&app, &m, &c).await;
        assert_eq!(activate(&app, &p, "2024-01-02").await.status, 200);
        children.push(c);
    }
    let r = app.get("/api/v1/reports/compliance?from=2024-01-01&to=2024-01-31").await;
    let rule =
        r.body["rules"].as_array().unwrap().iter().find(|x| x["rule_code"] == "monthly_contact").unwrap();
    let same: Vec<&Value> =
        rule["by_region"].as_array().unwrap().iter().filter(|g| g["group"] == "同名村").collect();
    assert_eq!(same.len(), 2, "two villages, not merged: {}", rule["by_region"]);
    assert_ne!(same[0]["region_id"], same[1]["region_id"]);

    let r = app.get("/api/v1/reports/summary?from=2024-01-01&to=2024-01-31").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cat = |c: &str| {
        r.body["by_category"].as_array().unwrap().iter().find(|x| x["category"] == c).unwrap()["children_registered"].clone()
    };
    assert_eq!(
        (cat("left_behind"), cat("in_difficulty"), cat("orphaned_or_disabled")),
        (json!(2), json!(1), json!(0))
    );
    for twin in &twins {
        let v = r.body["by_village"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["region_id"] == twin.as_str())
            .unwrap();
        assert_eq!((v["name"].as_str(), v["children_registered"].as_i64()), (Some("同名村"), Some(1)));
    }

    // A child of one village at an event held in the other: attendance here and children of
    // here, told apart.
    let org = app
        .post("/api/v1/organisations", json!({"name": "同名组织", "kind": "social_organisation"}))
        .await
        .id();
    let event = app
        .post(
            "/api/v1/events",
            json!({"title": "游园二", "event_type": "care", "programme": "five_plus_n",
            "starts_at": "2024-01-21T09:00:00+08:00", "ends_at": "2024-01-21T11:00:00+08:00",
            "region_id": twins[1], "organiser_id": org}),
        )
        .await
        .id();
    let r = app
        .post(
            "/api/v1/volunteers",
            json!({"name": "同名志愿者", "source": "community", "organisation_id": org,
            "background_check": {"on": "2023-01-10", "expires_on": "2099-01-01"},
            "safety_training": {"on": "2023-03-01", "expires_on": "2099-01-01"}}),
        )
        .await;
    let volunteer = r.id();
    let r = app
        .post(
            &format!("/api/v1/events/{event}/roster"),
            json!({"volunteer_id": volunteer, "role": "volunteer", "hours": 2}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let r = app
        .post(&format!("/api/v1/events/{event}/attendance"), json!({"items": [{"child_id": children[0]}]}))
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(status(&app, &format!("/api/v1/events/{event}"), json!({"status": "held"})).await.status, 200);
    let here = |v: &str| format!("/api/v1/reports/events?from=2024-01-01&to=2024-01-31&region_id={v}");
    let r = app.get(&here(&twins[0])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (
            r.body["children_attending_events_held_here"].as_i64(),
            r.body["children_of_region_attending_anywhere"].as_i64()
        ),
        (Some(0), Some(1)),
        "{}",
        r.body
    );
    let r = app.get(&here(&twins[1])).await;
    assert_eq!(
        (
            r.body["children_attending_events_held_here"].as_i64(),
            r.body["children_of_region_attending_anywhere"].as_i64()
        ),
        (Some(1), Some(0)),
        "{}",
        r.body
    );
}

/// Case-file numbers are issued in the order files are opened in the service, within the year
/// the file was opened: a file back-dated to 3 January and opened after one of 15 January gets
/// the later number (README, "Case-file numbers").
async fn case_numbers_follow_the_order_of_issue(app: TestApp) {
    let village = app.region("金桂社区").await;
    let mut numbers = Vec::new();
    for (name, on) in [("先登记", "2023-01-15"), ("后补录", "2023-01-03")] {
        let c = child_in(&app, &village, name, &["left_behind"]).await;
        let r = status(
            &app,
            &format!("/api/v1/children/{c}"),
            json!({"status": "registered", "effective_on": on}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        numbers.push(r.body["case_number"].as_str().unwrap().to_owned());
    }
    assert!(numbers.iter().all(|n| n.starts_with("TX2023-")), "{numbers:?}");
    assert!(numbers[0] < numbers[1], "issued in order of issue: {numbers:?}");
}
