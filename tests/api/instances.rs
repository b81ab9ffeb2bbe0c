//! Two instances of the service over one database, as two nodes behind a load balancer, each
//! with its own pool and caches: requests racing through different instances still leave one
//! active pairing per child and per mentor, and one record per Idempotency-Key.

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;
use crate::pairings::{activate, mentor, pairing, welfare_child};

on_both_backends!(
    racing_instances_keep_pairings_exclusive,
    racing_back_dated_activations_have_one_winner,
    racing_instances_keep_idempotency
);

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

/// A mentor whose pairing ran from January to June: two proposals back-dated into the months
/// after it, activated at once through two instances. Their intervals overlap each other (both
/// run on), so exactly one wins; the loser is told which pairing it collided with.
async fn racing_back_dated_activations_have_one_winner(a: TestApp) {
    let b = a.another_instance().await;
    for round in 0..4 {
        let m = mentor(&a, &format!("回溯导师{round}"), None).await;
        let first = pairing(&a, &m, &welfare_child(&a, &format!("回溯甲{round}")).await).await;
        assert_eq!(activate(&a, &first, "2024-01-01").await.status, 200);
        let r = a
            .post(
                &format!("/api/v1/pairings/{first}/status"),
                json!({"status": "ended", "effective_on": "2024-06-30", "reason": "换人"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let p1 = pairing(&a, &m, &welfare_child(&a, &format!("回溯乙{round}")).await).await;
        let p2 = pairing(&b, &m, &welfare_child(&b, &format!("回溯丙{round}")).await).await;
        let mut results =
            join_all([activate(&a, &p1, "2024-08-01"), activate(&b, &p2, "2024-07-01")]).await.into_iter();
        let (r1, r2) = (results.next().unwrap(), results.next().unwrap());
        let statuses = [r1.status.as_u16(), r2.status.as_u16()];
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "one winner: {statuses:?}");
        let (winner, loser) = if r1.status == 200 { (&p1, &r2) } else { (&p2, &r1) };
        loser.assert_problem(409, "mentor_already_paired");
        assert_eq!(loser.body["conflicting_id"], winner.as_str(), "{}", loser.body);
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
