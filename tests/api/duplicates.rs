//! Possible duplicate children over HTTP on both backends: the rule's candidates named only in
//! the caller's scope, the coordinators' queue and dismissing a pair; merging one child recorded
//! twice (everything moves, the merged record answers where it went, the access history follows)
//! and an admin's undo.

use serde_json::{Value, json};
use tongxing_core::role::Role;

use crate::helpers::{Resp, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_rule_finds_likely_duplicates_and_names_only_those_in_scope,
    a_merge_moves_everything_and_an_admin_can_undo_it
);

const PASSWORD: &str = "a-password-for-tests";

fn boy(village: &str, name: &str, born: &str) -> Value {
    json!({"region_id": village, "name": name, "sex": "male", "birth_date": born, "categories": ["left_behind"]})
}

fn created(r: Resp, what: &str) -> String {
    assert_eq!(r.status, 201, "{what}: {}", r.body);
    r.id()
}

fn ids(r: &Resp, key: &str) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().unwrap().iter().map(|i| i[key].as_str().unwrap().to_owned()).collect()
}

async fn the_rule_finds_likely_duplicates_and_names_only_those_in_scope(app: TestApp) {
    let village = app.region("金桂社区").await;
    let town =
        app.get(&format!("/api/v1/regions/{village}")).await.body["parent_id"].as_str().unwrap().to_owned();
    let org = |name: &'static str| {
        let app = &app;
        async move {
            app.post("/api/v1/organisations", json!({"name": name, "kind": "social_organisation"})).await.id()
        }
    };
    let (org_a, org_b) = (org("甲社工站").await, org("乙社工站").await);
    app.add_user_in("cw.a", Role::Caseworker, PASSWORD, Some(&org_a), None).await;
    app.add_user_in("cw.b", Role::Caseworker, PASSWORD, Some(&org_b), None).await;
    app.add_user_in("coord.town", Role::Coordinator, PASSWORD, None, Some(&town)).await;
    let (a, b) = (app.login("cw.a", PASSWORD).await, app.login("cw.b", PASSWORD).await);
    let coordinator = app.login("coord.town", PASSWORD).await;
    let send = |token: &str, method: &'static str, path: String, body: Option<Value>| {
        let (app, token) = (&app, token.to_owned());
        async move { app.send(method, &path, Some(&token), body, &[]).await }
    };

    // Two organisations record the same boy: 张伟 and 章伟 (same pinyin), born the same day.
    let a1 = created(
        send(&a, "POST", "/api/v1/children".into(), Some(boy(&village, "张伟", "2015-06-01"))).await,
        "a1",
    );
    let b1 = created(
        send(&b, "POST", "/api/v1/children".into(), Some(boy(&village, "章伟", "2015-06-01"))).await,
        "b1",
    );
    // B's caseworker is not told that A's record exists.
    let r = send(&b, "GET", format!("/api/v1/children/{b1}/possible-duplicates"), None).await;
    assert_eq!(ids(&r, "id"), Vec::<String>::new(), "{}", r.body);
    // A records him again with day and month swapped: A sees its own first record, not B's.
    let a2 = created(
        send(&a, "POST", "/api/v1/children".into(), Some(boy(&village, "张伟", "2015-01-06"))).await,
        "a2",
    );
    let r = send(&a, "GET", format!("/api/v1/children/{a2}/possible-duplicates"), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", r.body);
    assert_eq!(items[0]["child"]["id"], a1.as_str());
    assert_eq!(items[0]["score"], 75);
    assert_eq!(
        items[0]["signals"],
        json!(["same_name", "birth_date_day_month_swapped", "same_sex", "same_village"])
    );

    // The coordinators' queue holds all three pairs, whoever could see the other record.
    let r =
        send(&coordinator, "GET", "/api/v1/duplicate-candidates?open=true&reason=similar".into(), None).await;
    let pairs: Vec<(String, String, i64)> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["child_id"].as_str().unwrap().to_owned(),
                i["other_child_id"].as_str().unwrap().to_owned(),
                i["score"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        vec![(b1.clone(), a1.clone(), 75), (a2.clone(), a1.clone(), 75), (a2.clone(), b1.clone(), 65)],
        "{}",
        r.body
    );
    send(&a, "GET", "/api/v1/duplicate-candidates".into(), None).await.assert_problem(403, "forbidden");
    // The coordinator reaches all three: best first (a tie in the order the records were made).
    let r = send(&coordinator, "GET", format!("/api/v1/children/{a1}/possible-duplicates"), None).await;
    let found: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["child"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(found, vec![b1.clone(), a2.clone()], "{}", r.body);
    assert!(r.body["items"][0]["review_id"].is_string(), "{}", r.body);

    // The coordinator dismisses a2 / b1 as two children, once, with a reason.
    let queue =
        send(&coordinator, "GET", format!("/api/v1/duplicate-candidates?open=true&child_id={b1}"), None)
            .await;
    let pair = queue.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["child_id"] == a2.as_str())
        .unwrap_or_else(|| panic!("{}", queue.body))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/duplicate-candidates/{pair}/dismiss");
    send(&coordinator, "POST", path.clone(), Some(json!({"reason": "  "})))
        .await
        .assert_problem(422, "validation_failed");
    let r = send(&coordinator, "POST", path.clone(), Some(json!({"reason": "出生日期不同，两名儿童"}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["outcome"], "different_children");
    assert_eq!(r.body["note"], "出生日期不同，两名儿童");
    send(&coordinator, "POST", path, Some(json!({"reason": "再次"})))
        .await
        .assert_problem(409, "already_resolved");
    let r = send(&coordinator, "GET", format!("/api/v1/children/{b1}/possible-duplicates"), None).await;
    let found: Vec<String> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["child"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(found, vec![a1.clone()], "a dismissed pair is not proposed again: {}", r.body);

    // Changing a record re-scores its pairs; a dismissed pair stays dismissed.
    let current = send(&a, "GET", format!("/api/v1/children/{a2}"), None).await;
    let etag = current.header("etag").unwrap();
    let mut changed = boy(&village, "张伟", "2015-01-06");
    changed["school"] = json!("桂花镇中心小学");
    let r = app
        .send("PUT", &format!("/api/v1/children/{a2}"), Some(&a), Some(changed), &[("if-match", &etag)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r =
        send(&coordinator, "GET", "/api/v1/duplicate-candidates?open=true&reason=similar".into(), None).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2, "{}", r.body);

    // Looking at a child's possible duplicates is a read of each record shown.
    app.state.audit.flush().await.unwrap();
    let h = app.get(&format!("/api/v1/children/{b1}/access-history")).await;
    assert!(
        h.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["resource"].as_str().is_some_and(|r| r.ends_with("/possible-duplicates"))
                && e["actor_id"].is_string()),
        "{}",
        h.body
    );
}

async fn a_merge_moves_everything_and_an_admin_can_undo_it(app: TestApp) {
    let village = app.region("金桂社区").await;
    let town =
        app.get(&format!("/api/v1/regions/{village}")).await.body["parent_id"].as_str().unwrap().to_owned();
    let elsewhere = app.region("毛坪村").await;
    app.add_user_in("coord.town", Role::Coordinator, PASSWORD, None, Some(&town)).await;
    let org = app
        .post("/api/v1/organisations", json!({"name": "丙社工站", "kind": "social_organisation"}))
        .await
        .id();
    app.add_user_in("cw.other", Role::Caseworker, PASSWORD, Some(&org), None).await;
    let coordinator = app.login("coord.town", PASSWORD).await;
    let outsider = app.login("cw.other", PASSWORD).await;

    let kept = created(app.post("/api/v1/children", boy(&village, "周小雨", "2014-09-03")).await, "kept");
    let gone = created(app.post("/api/v1/children", boy(&village, "周小雨", "2014-09-03")).await, "gone");
    let contact = |child: &str| json!({"kind": "home_visit", "child_id": child, "occurred_at": "2024-03-01T09:00:00+08:00", "outcome": "completed"});
    created(app.post("/api/v1/contacts", contact(&kept)).await, "kept's contact");
    let moved_contact = created(app.post("/api/v1/contacts", contact(&gone)).await, "gone's contact");
    created(
        app.post(&format!("/api/v1/children/{gone}/assessments"), json!({"assessed_on": "2024-02-01", "living_conditions": {"score": 3}, "psychological_state": {"score": 2}, "study": {"score": 4}, "social_development": {"score": 3}})).await,
        "assessment",
    );
    created(
        app.post("/api/v1/consents", json!({"child_id": gone, "purpose": "home_visit", "given_by_name": "周母", "given_by_relation": "mother", "given_at": "2024-01-02T09:00:00+08:00"})).await,
        "consent",
    );
    app.get(&format!("/api/v1/children/{gone}")).await;

    // Refusals first: into itself, into a record out of scope, two different national IDs.
    let merge = |child: &str| format!("/api/v1/children/{child}/merge");
    let into = |id: &str| json!({"into": id, "reason": "同一儿童登记两次"});
    app.send("POST", &merge(&gone), Some(&coordinator), Some(into(&gone)), &[])
        .await
        .assert_problem(422, "validation_failed");
    let far = created(app.post("/api/v1/children", boy(&elsewhere, "周小雨", "2014-09-03")).await, "far");
    let r = app.send("POST", &merge(&gone), Some(&coordinator), Some(into(&far)), &[]).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "into", "{}", r.body);
    let numbered = |n: &str| {
        let mut c = boy(&village, "吴杰", "2011-06-01");
        c["national_id"] = json!(n);
        c
    };
    let n1 = created(app.post("/api/v1/children", numbered("42120220110601005X")).await, "n1");
    let n2 = created(app.post("/api/v1/children", numbered("421202201106010068")).await, "n2");
    app.send("POST", &merge(&n2), Some(&coordinator), Some(into(&n1)), &[])
        .await
        .assert_problem(409, "different_national_ids");
    app.send("POST", &merge(&gone), Some(&outsider), Some(into(&kept)), &[])
        .await
        .assert_problem(403, "forbidden");

    // The merge: everything moves, in one answer; a retry with the same key replays it.
    let key = [("idempotency-key", "merge-zhou-0001")];
    let r = app.send("POST", &merge(&gone), Some(&coordinator), Some(into(&kept)), &key).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["child_id"], gone.as_str());
    assert_eq!(r.body["merged_into"], kept.as_str());
    assert_eq!(r.body["moved"]["contacts"], json!([moved_contact]));
    assert_eq!(r.body["moved"]["assessments"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["moved"]["consents"].as_array().unwrap().len(), 1);
    let merge_id = r.id();
    let replay = app.send("POST", &merge(&gone), Some(&coordinator), Some(into(&kept)), &key).await;
    assert_eq!(replay.status, 201, "{}", replay.body);
    assert_eq!(replay.body, r.body);

    // The merged record answers where it went, to those who may read the survivor.
    let r = app.send("GET", &format!("/api/v1/children/{gone}"), Some(&coordinator), None, &[]).await;
    r.assert_problem(410, "child_merged");
    assert_eq!(r.body["merged_into"], kept.as_str());
    app.send("GET", &format!("/api/v1/children/{gone}"), Some(&outsider), None, &[])
        .await
        .assert_problem(404, "not_found");
    // The survivor holds both records' contacts, its assessment and consent; lists show one child.
    assert_eq!(ids(&app.get(&format!("/api/v1/contacts?child_id={kept}")).await, "id").len(), 2);
    assert_eq!(ids(&app.get(&format!("/api/v1/children/{kept}/assessments")).await, "id").len(), 1);
    assert_eq!(ids(&app.get(&format!("/api/v1/consents?child_id={kept}")).await, "id").len(), 1);
    assert_eq!(
        ids(&app.get(&format!("/api/v1/children?q={}", crate::helpers::urlencode("周小雨"))).await, "id"),
        vec![kept.clone(), far.clone()]
    );
    // The survivor's access history holds the merged record's, and the merge itself.
    app.state.audit.flush().await.unwrap();
    let h = app.get(&format!("/api/v1/children/{kept}/access-history?limit=200")).await;
    let entries = h.body["items"].as_array().unwrap();
    assert!(entries.iter().any(|e| e["child_id"] == gone.as_str() && e["action"] == "read"), "{}", h.body);
    assert!(
        entries.iter().any(|e| e["resource"] == "/api/v1/children/{id}/merge" && e["action"] == "create"),
        "{}",
        h.body
    );
    let r = app
        .send("GET", &format!("/api/v1/child-merges?child_id={kept}"), Some(&coordinator), None, &[])
        .await;
    assert_eq!(ids(&r, "id"), vec![merge_id.clone()]);

    // Only an admin undoes it; then the record and what moved come back.
    let undo = format!("/api/v1/child-merges/{merge_id}/undo");
    let why = json!({"reason": "两名儿童同名同生日"});
    app.send("POST", &undo, Some(&coordinator), Some(why.clone()), &[])
        .await
        .assert_problem(403, "forbidden");
    let r = app.post(&undo, why.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["undone_at"].is_string(), "{}", r.body);
    let back = app.get(&format!("/api/v1/children/{gone}")).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(ids(&app.get(&format!("/api/v1/contacts?child_id={gone}")).await, "id"), vec![moved_contact]);
    assert_eq!(ids(&app.get(&format!("/api/v1/contacts?child_id={kept}")).await, "id").len(), 1);
    assert_eq!(ids(&app.get(&format!("/api/v1/children/{gone}/assessments")).await, "id").len(), 1);
    app.post(&undo, why).await.assert_problem(409, "already_undone");
}
