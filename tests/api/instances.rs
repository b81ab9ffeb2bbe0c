//! Two instances of the service over one database, as two nodes behind a load balancer, each
//! with its own pool and caches: requests racing through different instances still leave one
//! active pairing per child and per mentor, and one record per Idempotency-Key.

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::pairings::{activate, mentor, pairing, welfare_child};

on_both_backends!(racing_instances_keep_pairings_exclusive, racing_instances_keep_idempotency);

async fn racing_instances_keep_pairings_exclusive(a: TestApp) {
    let b = a.another_instance().await;
    let via = |i: usize| if i.is_multiple_of(2) { &a } else { &b };
    for round in 0..4 {
        // Six mentors proposed for one child, activated at once through both instances.
        let child = welfare_child(&a, &format!("小林{round}")).await;
        let mut proposals = Vec::new();
        for i in 0..6 {
            let m = mentor(&b, &format!("导师{round}-{i}"), None).await;
            proposals.push(pairing(via(i), &m, &child).await);
        }
        let results =
            join_all(proposals.iter().enumerate().map(|(i, p)| activate(via(i), p, "2024-01-02"))).await;
        let statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "one child, one winner: {statuses:?}");
        for r in results.iter().filter(|r| r.status != 200) {
            r.assert_problem(409, "child_already_paired");
        }
        let active = b.get(&format!("/api/v1/pairings?child_id={child}&status=active")).await;
        assert_eq!(active.body["items"].as_array().unwrap().len(), 1, "{}", active.body);

        // One mentor proposed for six children, the same.
        let m = mentor(&a, &format!("导师{round}"), None).await;
        let mut proposals = Vec::new();
        for i in 0..6 {
            let c = welfare_child(via(i), &format!("小雪{round}-{i}")).await;
            proposals.push(pairing(&a, &m, &c).await);
        }
        let results =
            join_all(proposals.iter().enumerate().map(|(i, p)| activate(via(i + 1), p, "2024-01-02"))).await;
        let statuses: Vec<u16> = results.iter().map(|r| r.status.as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "one mentor, one winner: {statuses:?}");
        for r in results.iter().filter(|r| r.status != 200) {
            r.assert_problem(409, "mentor_already_paired");
        }
    }
}

async fn racing_instances_keep_idempotency(a: TestApp) {
    let b = a.another_instance().await;
    let village = a.region("柏墩村").await;
    for round in 0..5 {
        let key = format!("two-instances-{round}");
        let body = json!({"region_id": village, "name": format!("竞速{round}"), "sex": "male", "birth_date": "2015-01-01", "categories": ["left_behind"]});
        let before = a.count("children").await;
        let headers = [("idempotency-key", key.as_str())];
        let results = join_all((0..8usize).map(|i| {
            let app = if i.is_multiple_of(2) { &a } else { &b };
            app.send("POST", "/api/v1/children", None, Some(body.clone()), &headers)
        }))
        .await;
        for r in &results {
            assert_eq!(r.status, 201, "every racer gets the one answer: {}", r.body);
        }
        let ids: std::collections::BTreeSet<_> = results.iter().map(|r| r.id()).collect();
        assert_eq!(ids.len(), 1, "one record for the key: {ids:?}");
        let replays = results.iter().filter(|r| r.header("idempotent-replayed").is_some()).count();
        assert_eq!(replays, results.len() - 1, "all but the first are replays");
        assert_eq!(a.count("children").await, before + 1);
    }
}
