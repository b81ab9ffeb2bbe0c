//! The "1+1" programme over HTTP: exclusive pairings, pair contacts, compliance timelines,
//! alerts and exemptions.

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Value, json};
use tongxing_core::role::Role;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    one_active_pairing_per_mentor_and_child,
    racing_activations_have_one_winner,
    pair_contacts_and_a_thirteen_month_timeline,
    alerts_and_exemptions_now,
    alerts_agree_with_timelines,
    tallies_are_built_once_for_a_database_without_them,
    mentors_see_only_their_own_pairing
);

const MONTHLY: &str = "00000000-0000-7000-8000-00000000c001";

pub(crate) async fn mentor(app: &TestApp, name: &str, user_id: Option<&str>) -> String {
    let r = app
        .post("/api/v1/mentors", json!({"name": name, "organisation": "咸宁市民政局", "user_id": user_id}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.id()
}

pub(crate) async fn welfare_child(app: &TestApp, name: &str) -> String {
    let village = app.region("金桂社区").await;
    let r = app
        .post("/api/v1/children", json!({"region_id": village, "name": name, "sex": "female", "birth_date": "2012-03-01", "categories": ["orphaned_or_disabled"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.id()
}

pub(crate) async fn pairing(app: &TestApp, mentor: &str, child: &str) -> String {
    let r = app.post("/api/v1/pairings", json!({"mentor_id": mentor, "child_id": child})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "proposed");
    r.id()
}

pub(crate) async fn activate(app: &TestApp, pairing: &str, on: &str) -> crate::helpers::Resp {
    app.post(&format!("/api/v1/pairings/{pairing}/status"), json!({"status": "active", "effective_on": on}))
        .await
}

async fn contact(app: &TestApp, pairing: &str, body: Value) -> crate::helpers::Resp {
    app.post(&format!("/api/v1/pairings/{pairing}/contacts"), body).await
}

async fn one_active_pairing_per_mentor_and_child(app: TestApp) {
    let (m1, m2) = (mentor(&app, "李建华", None).await, mentor(&app, "张敏", None).await);
    let (c1, c2) = (welfare_child(&app, "小雨").await, welfare_child(&app, "小雪").await);
    let p1 = pairing(&app, &m1, &c1).await;
    let r = activate(&app, &p1, "2023-12-29").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["started_on"], "2023-12-29");

    let same_mentor = pairing(&app, &m1, &c2).await;
    let r = activate(&app, &same_mentor, "2024-01-02").await;
    r.assert_problem(409, "mentor_already_paired");
    assert_eq!(r.body["conflicting_id"], p1.as_str());
    let same_child = pairing(&app, &m2, &c1).await;
    let r = activate(&app, &same_child, "2024-01-02").await;
    r.assert_problem(409, "child_already_paired");
    assert_eq!(r.body["conflicting_id"], p1.as_str());

    // Ending the first frees both; a withdrawn proposal needs a reason too.
    app.post(&format!("/api/v1/pairings/{p1}/status"), json!({"status": "ended"}))
        .await
        .assert_problem(422, "validation_failed");
    let r = app
        .post(
            &format!("/api/v1/pairings/{p1}/status"),
            json!({"status": "ended", "effective_on": "2024-06-30", "reason": "孩子被收养"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(activate(&app, &same_mentor, "2024-07-01").await.status, 200);
    activate(&app, &p1, "2024-07-01").await.assert_problem(409, "illegal_transition");
    let r = app.get(&format!("/api/v1/pairings?mentor_id={m1}&status=active")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["items"][0]["id"], same_mentor.as_str());
}

async fn racing_activations_have_one_winner(app: TestApp) {
    let child = welfare_child(&app, "小林").await;
    let mut proposals = Vec::new();
    for i in 0..4 {
        let m = mentor(&app, &format!("导师{i}"), None).await;
        proposals.push(pairing(&app, &m, &child).await);
    }
    let results =
        futures_util::future::join_all(proposals.iter().map(|p| activate(&app, p, "2024-01-02"))).await;
    let winners: Vec<_> = results.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", results.iter().map(|r| r.body.clone()).collect::<Vec<_>>());
    let winner = winners[0].id();
    for r in results.iter().filter(|r| r.status != 200) {
        r.assert_problem(409, "child_already_paired");
        assert_eq!(r.body["conflicting_id"], winner.as_str());
    }
}

async fn pair_contacts_and_a_thirteen_month_timeline(app: TestApp) {
    let m = mentor(&app, "王丽", None).await;
    let c = welfare_child(&app, "小月").await;
    let p = pairing(&app, &m, &c).await;
    let at = |day: &str| json!({"occurred_at": format!("{day}+08:00"), "kind": "centre_visit", "topics": ["talk"], "duration_minutes": 60});
    // Before activation nothing can be logged.
    contact(&app, &p, at("2023-12-29T10:00:00")).await.assert_problem(409, "pairing_not_active");
    assert_eq!(activate(&app, &p, "2023-12-29").await.status, 200);

    // The hand-worked example of the engine's unit test, over HTTP: December's contact on the
    // first day, 23:59 on 31 January and 00:00 on 1 February (Shanghai) either side of the
    // month boundary, none in March (exempted), none in June or November.
    for day in [
        "2023-12-29T10:00:00",
        "2024-01-31T23:59:00",
        "2024-02-01T00:00:00",
        "2024-04-30T08:00:00",
        "2024-05-01T08:00:00",
        "2024-05-20T08:00:00",
        "2024-07-07T08:00:00",
        "2024-08-08T08:00:00",
        "2024-09-09T08:00:00",
        "2024-10-10T08:00:00",
        "2024-12-12T08:00:00",
    ] {
        let r = contact(&app, &p, at(day)).await;
        assert_eq!(r.status, 201, "{day}: {}", r.body);
    }
    contact(&app, &p, at("2023-12-28T23:59:00")).await.assert_problem(409, "outside_active_interval");
    let outing = json!({"occurred_at": "2024-04-05T09:00:00+08:00", "kind": "outing", "commemorative": true, "title": "清明节缅怀先烈", "topics": ["other"]});
    assert_eq!(contact(&app, &p, outing).await.status, 201);
    let untitled =
        json!({"occurred_at": "2024-04-06T09:00:00+08:00", "kind": "outing", "commemorative": true});
    contact(&app, &p, untitled).await.assert_problem(422, "validation_failed");
    let home = json!({"occurred_at": "2024-05-01T09:00:00+08:00", "kind": "home_visit"});
    contact(&app, &p, home).await.assert_problem(409, "home_visit_not_approved");

    let r = app
        .post(
            "/api/v1/compliance/exemptions",
            json!({"rule_id": MONTHLY, "subject_id": p, "period": "2024-03", "reason": "孩子住院治疗"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["period_start"], "2024-03-01");
    app.post(
        "/api/v1/compliance/exemptions",
        json!({"rule_id": MONTHLY, "subject_id": p, "period": "2024-03", "reason": "again"}),
    )
    .await
    .assert_problem(409, "already_exempt");
    app.post(
        "/api/v1/compliance/exemptions",
        json!({"rule_id": MONTHLY, "subject_id": p, "period": "2024-3", "reason": "x"}),
    )
    .await
    .assert_problem(422, "validation_failed");

    let r = app.get(&format!("/api/v1/pairings/{p}/compliance?to=2024-12-31")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rules = r.body["rules"].as_array().unwrap();
    let monthly = rules.iter().find(|x| x["rule_code"] == "monthly_contact").unwrap();
    let got: Vec<(String, String)> = monthly["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["period"].as_str().unwrap().to_owned(), p["status"].as_str().unwrap().to_owned()))
        .collect();
    let expected = [
        ("2023-12", "met"),
        ("2024-01", "met"),
        ("2024-02", "met"),
        ("2024-03", "exempt"),
        ("2024-04", "met"),
        ("2024-05", "met"),
        ("2024-06", "missed"),
        ("2024-07", "met"),
        ("2024-08", "met"),
        ("2024-09", "met"),
        ("2024-10", "met"),
        ("2024-11", "missed"),
        ("2024-12", "met"),
    ];
    let expected: Vec<(String, String)> =
        expected.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    assert_eq!(got, expected);
    let april = &monthly["periods"][4];
    assert_eq!(april["count"], 2, "the outing is a contact too");
    assert_eq!(monthly["periods"][0]["window_start"], "2023-12-29");
    assert_eq!(monthly["periods"][3]["exemption_reason"], "孩子住院治疗");

    let yearly = rules.iter().find(|x| x["rule_code"] == "yearly_outing").unwrap();
    let statuses: Vec<&str> =
        yearly["periods"].as_array().unwrap().iter().map(|p| p["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["missed", "met"], "2023 had no outing in its three days; 2024 had one");

    // A coordinator raises the monthly minimum from May 2024 on: May (two contacts) stays met,
    // July (one) becomes missed. April started before the change and keeps its minimum.
    let r = app
        .post(
            &format!("/api/v1/cadence-rules/{MONTHLY}/minimums"),
            json!({"effective_from": "2024-05-01", "minimum": 2}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["minimums"].as_array().unwrap().len(), 2);
    let r = app
        .get(&format!("/api/v1/pairings/{p}/compliance?from=2024-04-01&to=2024-07-31&rule_id={MONTHLY}"))
        .await;
    let periods = r.body["rules"][0]["periods"].as_array().unwrap();
    let got: Vec<(&str, &str, i64)> = periods
        .iter()
        .map(|p| {
            (p["period"].as_str().unwrap(), p["status"].as_str().unwrap(), p["minimum"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(
        got,
        [("2024-04", "met", 1), ("2024-05", "met", 2), ("2024-06", "missed", 2), ("2024-07", "missed", 2)]
    );
    app.get(&format!("/api/v1/pairings/{p}/compliance?from=2024-05-01&to=2024-04-01"))
        .await
        .assert_problem(422, "validation_failed");
    let r = app.get(&format!("/api/v1/pairings/{p}/contacts?limit=5")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 5);
    assert!(r.body["next_cursor"].is_string());
}

/// Today's Shanghai date, as the service reckons it.
fn today() -> NaiveDate {
    (chrono::Utc::now() + Duration::hours(8)).date_naive()
}

fn first_of_previous_month(today: NaiveDate) -> NaiveDate {
    let first = today.with_day(1).unwrap();
    (first - Duration::days(1)).with_day(1).unwrap()
}

async fn alerts_and_exemptions_now(app: TestApp) {
    let today = today();
    let prev_first = first_of_previous_month(today);
    let start = prev_first.to_string();
    let mid_prev = format!("{}T10:00:00+08:00", prev_first + Duration::days(14));
    let now = chrono::Utc::now().to_rfc3339();
    let month_end = {
        let first = today.with_day(1).unwrap();
        (first + Duration::days(40)).with_day(1).unwrap() - Duration::days(1)
    };
    let at_risk_now = (month_end - today).num_days() < 7;

    // silent: nothing last month or this; caught_up: both; lapsing: last month only.
    let mut ids = Vec::new();
    for (name, contacts) in [
        ("silent", vec![]),
        ("caught_up", vec![mid_prev.clone(), now.clone()]),
        ("lapsing", vec![mid_prev.clone()]),
    ] {
        let m = mentor(&app, name, None).await;
        let c = welfare_child(&app, name).await;
        let p = pairing(&app, &m, &c).await;
        assert_eq!(activate(&app, &p, &start).await.status, 200);
        for at in contacts {
            let r = contact(&app, &p, json!({"occurred_at": at, "kind": "phone"})).await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
        ids.push(p);
    }
    let r = app.get(&format!("/api/v1/compliance/alerts?rule_id={MONTHLY}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let alerts: Vec<(String, String)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["subject_id"].as_str().unwrap().to_owned(), a["status"].as_str().unwrap().to_owned()))
        .collect();
    let mut expected = vec![(ids[0].clone(), "missed".to_owned())];
    if at_risk_now {
        expected.push((ids[0].clone(), "at_risk".to_owned()));
        expected.push((ids[2].clone(), "at_risk".to_owned()));
        expected.sort_by_key(|(id, s)| (s != "missed", id.clone()));
    }
    assert_eq!(alerts, expected, "missed first, then at risk; today is {today}");

    // An exemption of last month takes the missed alert away.
    let label = format!("{}-{:02}", prev_first.year(), prev_first.month());
    let r = app
        .post(
            "/api/v1/compliance/exemptions",
            json!({"rule_id": MONTHLY, "subject_id": ids[0], "period": label, "reason": "导师出差"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app.get(&format!("/api/v1/compliance/alerts?rule_id={MONTHLY}&status=missed")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0, "{}", r.body);
    let r = app.get(&format!("/api/v1/compliance/exemptions?subject_id={}", ids[0])).await;
    assert_eq!(r.body["items"][0]["period"], label.as_str());

    // Filters and paging.
    // The children live in Jingui community, under Fushan subdistrict; none under Wenquan.
    let everywhere = app.get("/api/v1/compliance/alerts").await.body["items"].as_array().unwrap().len();
    let fushan = app.region("浮山街道").await;
    let r = app.get(&format!("/api/v1/compliance/alerts?region_id={fushan}")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), everywhere);
    let wenquan = app.region("温泉街道").await;
    let r = app.get(&format!("/api/v1/compliance/alerts?region_id={wenquan}")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    let r = app.get("/api/v1/compliance/alerts?limit=1").await;
    assert_eq!(r.status, 200);
    let all = app.get("/api/v1/compliance/alerts?limit=200").await.body["items"].as_array().unwrap().len();
    if all > 1 {
        let cursor = r.body["next_cursor"].as_str().unwrap().to_owned();
        let r2 = app.get(&format!("/api/v1/compliance/alerts?limit=200&cursor={cursor}")).await;
        assert_eq!(r2.body["items"].as_array().unwrap().len(), all - 1);
    }
    app.get("/api/v1/compliance/alerts?status=met").await.assert_problem(422, "validation_failed");
    app.get("/api/v1/compliance/alerts?cursor=bogus").await.assert_problem(422, "validation_failed");
    let r = app.get("/api/v1/cadence-rules").await;
    let codes: Vec<&str> =
        r.body["items"].as_array().unwrap().iter().map(|x| x["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["monthly_contact", "weekly_counselling", "yearly_outing"]);
}

/// One alert as the list gives it, or as a timeline implies it: subject, rule, status, period,
/// count, minimum.
type AlertKey = (String, String, String, String, u64, u64);

/// The alerts the pairings' timelines imply: the last closed period if missed, the current one
/// if at risk.
async fn alerts_from_timelines(app: &TestApp, pairings: &[String]) -> Vec<AlertKey> {
    let today = today().to_string();
    let mut out = Vec::new();
    for p in pairings {
        let r = app.get(&format!("/api/v1/pairings/{p}/compliance")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        for rule in r.body["rules"].as_array().unwrap() {
            let periods = rule["periods"].as_array().unwrap();
            let current = periods.iter().position(|x| {
                x["period_start"].as_str().unwrap() <= today.as_str()
                    && today.as_str() <= x["period_end"].as_str().unwrap()
            });
            let mut push = |x: &Value, status: &str| {
                out.push((
                    p.clone(),
                    rule["rule_code"].as_str().unwrap().to_owned(),
                    status.to_owned(),
                    x["period"].as_str().unwrap().to_owned(),
                    x["count"].as_u64().unwrap(),
                    x["minimum"].as_u64().unwrap(),
                ));
            };
            let Some(current) = current else { continue };
            if current > 0 && periods[current - 1]["status"] == "missed" {
                push(&periods[current - 1], "missed");
            }
            if periods[current]["status"] == "at_risk" {
                push(&periods[current], "at_risk");
            }
        }
    }
    out.sort();
    out
}

async fn listed_alerts(app: &TestApp) -> Vec<AlertKey> {
    let r = app.get("/api/v1/compliance/alerts?limit=200").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["next_cursor"].is_null(), "{}", r.body);
    let mut out: Vec<AlertKey> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["subject_id"].as_str().unwrap().to_owned(),
                a["rule_code"].as_str().unwrap().to_owned(),
                a["status"].as_str().unwrap().to_owned(),
                a["period"].as_str().unwrap().to_owned(),
                a["count"].as_u64().unwrap(),
                a["minimum"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The alert list counts from tallies kept as contacts are recorded, and built from the stored
/// contacts when a rule is added; the timelines count the contacts themselves. They agree.
async fn alerts_agree_with_timelines(app: TestApp) {
    let today = today();
    let prev_first = first_of_previous_month(today);
    let span = (today - prev_first).num_days();
    let kinds = ["phone", "video", "outing", "message", "centre_visit"];
    let mut pairings = Vec::new();
    for i in 0..6_i64 {
        let m = mentor(&app, &format!("导师{i}"), None).await;
        let c = welfare_child(&app, &format!("孩子{i}")).await;
        let p = pairing(&app, &m, &c).await;
        assert_eq!(activate(&app, &p, &prev_first.to_string()).await.status, 200);
        // Pairing i gets i contacts over last month and this one, at the first and last minute
        // of Shanghai days (so a day boundary decides the month), of mixed kinds; some outings
        // are commemorative.
        for j in 0..i {
            let day = prev_first + Duration::days((i * 7 + j * 11) % (span + 1));
            let time = if j % 2 == 1 && day < today { "23:59:00" } else { "00:00:00" };
            let kind = kinds[usize::try_from(i + j).unwrap() % kinds.len()];
            let mut body = json!({"occurred_at": format!("{day}T{time}+08:00"), "kind": kind});
            if kind == "outing" && j % 2 == 1 {
                body["commemorative"] = json!(true);
                body["title"] = json!("清明祭扫");
            }
            let r = contact(&app, &p, body).await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
        pairings.push(p);
    }
    // A rule added after the contacts counts them too: two calls a month, always at risk.
    let r = app
        .post(
            "/api/v1/cadence-rules",
            json!({"code": "two_calls_monthly", "name": "Two calls a month", "subject": "pairing",
                   "counted_kinds": ["phone", "video"], "period": "month", "at_risk_days": 31,
                   "minimum": {"effective_from": "2000-01-01", "minimum": 2}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let expected = alerts_from_timelines(&app, &pairings).await;
    assert!(expected.iter().any(|a| a.1 == "two_calls_monthly"), "{expected:?}");
    assert!(expected.iter().any(|a| a.1 == "monthly_contact"), "{expected:?}");
    assert_eq!(listed_alerts(&app).await, expected);

    // A call recorded now moves both monthly tallies of its pairing.
    let r = contact(
        &app,
        &pairings[1],
        json!({"occurred_at": format!("{today}T00:00:00+08:00"), "kind": "video"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let after = alerts_from_timelines(&app, &pairings).await;
    assert_ne!(after, expected);
    assert_eq!(listed_alerts(&app).await, after);
}

/// A database from before the tallies: every rule's tallies are built from the stored contacts
/// at start-up, once, even by two nodes starting together.
async fn tallies_are_built_once_for_a_database_without_them(app: TestApp) {
    let today = today();
    let mut pairings = Vec::new();
    for (i, kinds) in [vec![], vec!["phone"], vec!["outing", "video"]].into_iter().enumerate() {
        let m = mentor(&app, &format!("导师{i}"), None).await;
        let c = welfare_child(&app, &format!("孩子{i}")).await;
        let p = pairing(&app, &m, &c).await;
        assert_eq!(activate(&app, &p, &first_of_previous_month(today).to_string()).await.status, 200);
        for kind in kinds {
            let mut body = json!({"occurred_at": format!("{today}T00:00:00+08:00"), "kind": kind});
            if kind == "outing" {
                body["commemorative"] = json!(true);
                body["title"] = json!("清明祭扫");
            }
            assert_eq!(contact(&app, &p, body).await.status, 201);
        }
        pairings.push(p);
    }
    let expected = alerts_from_timelines(&app, &pairings).await;
    let db = app.state.db.clone();
    let built = crate::helpers::web_block(move || {
        use diesel::RunQueryDsl;
        let mut conn = db.conn().map_err(|e| e.to_string())?;
        diesel::sql_query("DELETE FROM compliance_tallies").execute(&mut *conn).map_err(|e| e.to_string())?;
        diesel::sql_query("UPDATE cadence_rules SET tallies_built_at = NULL")
            .execute(&mut *conn)
            .map_err(|e| e.to_string())?;
        drop(conn);
        let nodes: Vec<_> = (0..2)
            .map(|_| {
                let db = db.clone();
                std::thread::spawn(move || {
                    let mut conn = db.conn().map_err(|e| e.to_string())?;
                    tongxing_pairing::tallies::build_missing(&mut conn).map_err(|e| e.to_string())
                })
            })
            .collect();
        nodes
            .into_iter()
            .map(|n| n.join().map_err(|_| "a builder panicked".to_owned())?)
            .sum::<Result<usize, _>>()
    })
    .await
    .unwrap();
    assert_eq!(built, 3, "each of the three rules is built once");
    assert!(!expected.is_empty());
    assert_eq!(listed_alerts(&app).await, expected);
}

async fn mentors_see_only_their_own_pairing(app: TestApp) {
    let user = app.add_user("mentor.zhao", Role::Mentor, "mentor-password-1").await;
    let own_mentor = mentor(&app, "赵老师", Some(&user)).await;
    let other_mentor = mentor(&app, "钱老师", None).await;
    let own = pairing(&app, &own_mentor, &welfare_child(&app, "甲").await).await;
    let other = pairing(&app, &other_mentor, &welfare_child(&app, "乙").await).await;
    activate(&app, &own, "2024-01-02").await;
    activate(&app, &other, "2024-01-02").await;
    let token = app.login("mentor.zhao", "mentor-password-1").await;

    let r = app.send("GET", "/api/v1/pairings", Some(&token), None, &[]).await;
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], own.as_str());
    assert_eq!(
        app.send("GET", &format!("/api/v1/pairings/{own}"), Some(&token), None, &[]).await.status,
        200
    );
    app.send("GET", &format!("/api/v1/pairings/{other}"), Some(&token), None, &[])
        .await
        .assert_problem(404, "not_found");
    let log =
        json!({"occurred_at": "2024-01-05T10:00:00+08:00", "kind": "video", "topics": ["study_guidance"]});
    let r = app
        .send("POST", &format!("/api/v1/pairings/{own}/contacts"), Some(&token), Some(log.clone()), &[])
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["recorded_by"], user.as_str());
    app.send("POST", &format!("/api/v1/pairings/{other}/contacts"), Some(&token), Some(log), &[])
        .await
        .assert_problem(404, "not_found");
    app.send("GET", &format!("/api/v1/pairings/{other}/compliance"), Some(&token), None, &[])
        .await
        .assert_problem(404, "not_found");
    // Mentors may not start pairings or read the alert list.
    app.send(
        "POST",
        &format!("/api/v1/pairings/{other}/status"),
        Some(&token),
        Some(json!({"status": "ended", "reason": "x"})),
        &[],
    )
    .await
    .assert_problem(403, "forbidden");
    app.send("GET", "/api/v1/compliance/alerts", Some(&token), None, &[])
        .await
        .assert_problem(403, "forbidden");
}
