//! Problem answers in Simplified Chinese or English, by `Accept-Language`.

use serde_json::json;

use crate::helpers::{Resp, TestApp};
use crate::on_both_backends;

on_both_backends!(problems_answer_in_the_language_asked_for);

#[track_caller]
fn in_language(r: &Resp, tag: &str) {
    assert_eq!(r.header("content-language").as_deref(), Some(tag), "{}", r.body);
    assert!(r.headers.get_all("vary").any(|v| v == "accept-language"), "no Vary: accept-language");
}

async fn problems_answer_in_the_language_asked_for(app: TestApp) {
    let bad = json!({"name": "", "sex": "male", "birth_date": "2015-01-01", "categories": [], "region_id": uuid::Uuid::now_v7()});
    // Simplified Chinese by default: the title, the code's message, each field's message.
    let r = app.post("/api/v1/children", bad.clone()).await;
    r.assert_problem(400, "validation_failed");
    in_language(&r, "zh-CN");
    assert_eq!(r.body["title"], "请求有误");
    assert!(r.body["detail"].as_str().unwrap().starts_with("部分字段无效"), "{}", r.body);
    assert_eq!(r.body["errors"][1]["field"], "name");
    // The bounds a message names travel as `params`, and the Chinese message names them too.
    assert_eq!(r.body["errors"][1]["message"], "name 的长度须在 1 到 100 之间");
    assert_eq!(r.body["errors"][1]["params"], json!({"min": 1, "max": 100}));
    let r = app.get("/api/v1/children?limit=0").await;
    assert_eq!(r.body["errors"][0]["message"], "limit 须在 1 到 200 之间", "{}", r.body);
    let r = app.get("/api/v1/volunteers?clearance_expiring_within_days=5000").await;
    assert_eq!(r.body["errors"][0]["message"], "clearance_expiring_within_days 须在 0 到 3650 之间");
    let r = app
        .post(
            "/api/v1/holidays",
            json!({"holiday": "new_year", "year": 2024, "first_day": "2024-01-01", "last_day": "2024-01-20"}),
        )
        .await;
    assert_eq!(r.body["errors"][0]["message"], "last_day：时长不得超过 10 天", "{}", r.body);
    assert_eq!(r.body["errors"][0]["params"], json!({"days": 10}));
    // A value sent is never quoted back as a param: only the bounds.
    let long = "x".repeat(101);
    let r = app.post("/api/v1/regions", json!({"level": "village", "name": long})).await;
    assert_eq!(r.body["errors"][0]["params"], json!({"min": 1, "max": 100}), "{}", r.body);

    // English when asked, with the handler's own messages; q-values decide between the two.
    for (accept, tag) in [
        ("en", "en"),
        ("en-GB,en;q=0.9", "en"),
        ("en;q=0.4, zh-CN;q=0.9", "zh-CN"),
        ("fr, en;q=0.1", "en"),
        ("fr", "zh-CN"),
    ] {
        let r = app
            .send("POST", "/api/v1/children", None, Some(bad.clone()), &[("accept-language", accept)])
            .await;
        r.assert_problem(400, "validation_failed");
        in_language(&r, tag);
        let title = if tag == "en" { "Bad Request" } else { "请求有误" };
        assert_eq!(r.body["title"], title, "{accept}");
    }
    let r = app.send("POST", "/api/v1/children", None, Some(bad), &[("accept-language", "en")]).await;
    assert_eq!(r.body["errors"][1]["message"], "length must be between 1 and 100");

    // A reference to nothing, a refusal by the guard, a path that does not exist: every problem.
    let contact = json!({"kind": "phone_visit", "household_id": uuid::Uuid::now_v7(), "occurred_at": "2023-11-20T10:30:00+08:00", "outcome": "completed"});
    let r = app.post("/api/v1/contacts", contact).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["message"], "household_id 指向的记录不存在或无权访问");
    let r = app.send("GET", "/api/v1/children", Some(""), None, &[]).await;
    r.assert_problem(401, "missing_token");
    assert_eq!(
        (r.body["title"].as_str(), r.body["detail"].as_str()),
        (Some("未认证"), Some("请发送访问令牌：Authorization: Bearer <token>"))
    );
    let r = app.send("GET", "/api/v1/nowhere", None, None, &[("accept-language", "en")]).await;
    r.assert_problem(404, "no_route");
    in_language(&r, "en");
    assert_eq!(r.body["title"], "Not Found");
    // Answers that are not problems are not rewritten.
    assert!(app.get("/api/v1/me").await.header("content-language").is_none());
}
