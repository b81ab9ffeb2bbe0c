//! The "1+N" programme over HTTP: enrolments with a team, sessions, sensitive notes, and the
//! weekly counselling timeline.

use serde_json::json;
use tongxing_core::role::Role;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(a_weekly_counselling_timeline_with_met_and_missed_weeks);

const WEEKLY: &str = "00000000-0000-7000-8000-00000000c003";

async fn a_weekly_counselling_timeline_with_met_and_missed_weeks(app: TestApp) {
    let village = app.region("南昌路社区").await;
    let child = app
        .post("/api/v1/children", json!({"region_id": village, "name": "周小乐", "sex": "male", "birth_date": "2013-05-05", "categories": ["left_behind"]}))
        .await
        .id();
    let member = app.add_user("social.worker.liu", Role::Caseworker, "caseworker-password").await;
    app.add_user("caseworker.other", Role::Caseworker, "caseworker-password").await;
    let team = json!([
        {"name": "陈心理", "role": "counsellor"},
        {"name": "刘社工", "role": "social_worker", "user_id": member}
    ]);
    let bad = app
        .post("/api/v1/counselling-enrolments", json!({"child_id": child, "weekday": 6, "time_of_day": "25:00", "starts_on": "2024-01-01", "team": [{"name": "刘社工", "role": "social_worker"}]}))
        .await;
    bad.assert_problem(422, "validation_failed");
    let fields: Vec<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["time_of_day", "team"]);

    // Monday 1 January to Sunday 4 February 2024: ISO weeks 1 to 5.
    let r = app
        .post("/api/v1/counselling-enrolments", json!({"child_id": child, "weekday": 6, "time_of_day": "15:00", "starts_on": "2024-01-01", "ends_on": "2024-02-04", "team": team}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let enrolment = r.id();
    assert_eq!(r.body["team"][1]["user_id"], member.as_str());

    let session = |at: &str| json!({"occurred_at": format!("{at}+08:00"), "attended_by": ["陈心理", "刘社工"], "services": ["psychological_counselling"], "notes": "孩子谈到想念父母"});
    for at in ["2024-01-06T15:00:00", "2024-01-13T15:00:00", "2024-01-27T15:00:00", "2024-01-28T10:00:00"] {
        let r = app.post(&format!("/api/v1/counselling-enrolments/{enrolment}/sessions"), session(at)).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    app.post(&format!("/api/v1/counselling-enrolments/{enrolment}/sessions"), session("2024-02-05T15:00:00"))
        .await
        .assert_problem(409, "outside_enrolment");

    let r = app.get(&format!("/api/v1/counselling-enrolments/{enrolment}/compliance")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let periods = r.body["rules"][0]["periods"].as_array().unwrap();
    let got: Vec<(&str, &str)> =
        periods.iter().map(|p| (p["period"].as_str().unwrap(), p["status"].as_str().unwrap())).collect();
    assert_eq!(
        got,
        [
            ("2024-W01", "met"),
            ("2024-W02", "met"),
            ("2024-W03", "missed"),
            ("2024-W04", "met"),
            ("2024-W05", "missed")
        ]
    );
    assert_eq!(periods[3]["count"], 2);

    let r = app.post("/api/v1/compliance/exemptions", json!({"rule_id": WEEKLY, "subject_id": enrolment, "period": "2024-W03", "reason": "春节前家庭外出"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .get(&format!("/api/v1/counselling-enrolments/{enrolment}/compliance?from=2024-01-15&to=2024-01-21"))
        .await;
    assert_eq!(r.body["rules"][0]["periods"][0]["status"], "exempt");

    // Notes: the team and coordinators read them; another caseworker does not.
    let path = format!("/api/v1/counselling-enrolments/{enrolment}/sessions");
    assert_eq!(app.get(&path).await.body["items"][0]["notes"], "孩子谈到想念父母");
    let member_token = app.login("social.worker.liu", "caseworker-password").await;
    let r = app.send("GET", &path, Some(&member_token), None, &[]).await;
    assert_eq!(r.body["items"][0]["notes"], "孩子谈到想念父母");
    let other = app.login("caseworker.other", "caseworker-password").await;
    // Another caseworker does not reach the child at all: the enrolment is not found.
    let r = app.send("GET", &path, Some(&other), None, &[]).await;
    r.assert_problem(404, "not_found");

    // An ended enrolment raises no alert now.
    let r = app.get(&format!("/api/v1/compliance/alerts?rule_id={WEEKLY}")).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0, "{}", r.body);
}
