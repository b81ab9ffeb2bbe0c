//! Reports over HTTP: the demo dataset reproduces the published figures; CSV bytes.

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(the_demo_dataset_reproduces_the_published_figures, csv_exports_are_spreadsheet_safe);

async fn the_demo_dataset_reproduces_the_published_figures(app: TestApp) {
    let db = app.state.db.clone();
    actix_web::web::block(move || {
        let mut conn = db.conn().unwrap();
        tongxing::demo::load(&mut conn).unwrap();
        // Loading twice is refused, and adds nothing.
        let again = tongxing::demo::load(&mut conn).unwrap_err();
        assert!(
            matches!(again, tongxing_core::Error::Conflict { code: tongxing_core::Code::DemoLoaded, .. }),
            "{again:?}"
        );
    })
    .await
    .unwrap();

    for query in ["from=2023-06-01&to=2024-01-31", "from=2023-06-01"] {
        let r = app.get(&format!("/api/v1/reports/summary?{query}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let s = &r.body;
        assert_eq!(s["children_registered"], 106, "{query}");
        assert_eq!(s["families_phoned"], 200, "{query}");
        assert_eq!(s["children_visited"], 85, "{query}");
        assert_eq!(
            s["events_held_by_type"],
            json!({"quarterly_theme": 2, "care": 6, "visit_and_comfort": 6, "mental_health_consultation": 0, "other": 0}),
            "{query}"
        );
        assert!(s["definitions"]["families_phoned"].as_str().unwrap().contains("Distinct households"));
    }
    // Before the escort action began: the 27 May consultation, and no registrations in May.
    let r = app.get("/api/v1/reports/summary?from=2023-05-01&to=2023-05-31").await;
    assert_eq!(r.body["events_held_by_type"]["mental_health_consultation"], 1);
    assert_eq!(r.body["children_registered"], 0);
    // Guihua town alone: the 11 November event and the others held there.
    let baidun = app.region("柏墩村").await;
    let r =
        app.get(&format!("/api/v1/reports/events?from=2023-11-11&to=2023-11-11&region_id={baidun}")).await;
    assert_eq!(r.body["events_held"], 1, "{}", r.body);
    assert_eq!(r.body["children_attending"], 14);
    assert_eq!(r.body["guardians_present"], 14);
    assert_eq!(r.body["villages_reached"].as_array().unwrap().len(), 6);

    // The attendance figures, as the set-based SQL that first computed them gave them.
    let r = app.get("/api/v1/reports/events?from=2023-06-01&to=2024-01-31").await;
    assert_eq!(
        (&r.body["events_held"], &r.body["children_attending"], &r.body["guardians_present"]),
        (&json!(14), &json!(83), &json!(90))
    );
    let villages: Vec<(&str, i64, i64)> = r.body["villages_reached"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (v["name"].as_str().unwrap(), v["events"].as_i64().unwrap(), v["children"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(
        villages,
        [
            ("九垅村", 13, 11),
            ("明星村", 13, 11),
            ("柏墩村", 12, 11),
            ("毛坪村", 13, 11),
            ("石城村", 13, 11),
            ("鸣水泉村", 14, 11),
            ("南昌路社区", 13, 9),
            ("金桂社区", 13, 8)
        ]
    );
    let r = app.get("/api/v1/reports/assessments?from=2023-06-01&to=2024-01-31").await;
    assert_eq!(r.body["children"], 80, "{}", r.body);
    assert_eq!(r.body["children_reassessed"], 20);
    // Every figure of the report, as the set-based SQL that first computed it gave them.
    assert_eq!(r.body["assessments"], 100);
    assert_eq!(
        (&r.body["improved"], &r.body["worsened"], &r.body["unchanged"]),
        (&json!(15), &json!(3), &json!(2))
    );
    assert_eq!(r.body["risk_levels"], json!({"high": 0.49, "low": 0.1, "medium": 0.41}));
    assert_eq!(
        r.body["dimensions"],
        json!([
            {"dimension": "living_conditions", "mean": 3.16, "mean_change": 1.35, "scores": [16, 20, 17, 26, 21]},
            {"dimension": "psychological_state", "mean": 3.09, "mean_change": 0.45, "scores": [12, 25, 23, 22, 18]},
            {"dimension": "study", "mean": 2.99, "mean_change": 0.85, "scores": [18, 25, 18, 18, 21]},
            {"dimension": "social_development", "mean": 3.03, "mean_change": 0.6, "scores": [17, 23, 20, 20, 20]}
        ])
    );
    let r = app.get("/api/v1/reports/assessments?from=2023-10-01&to=2023-12-31").await;
    assert_eq!((&r.body["assessments"], &r.body["dimensions"][0]["mean"]), (&json!(0), &json!(null)));
    // The whole programme lies in the province: scoped to it, every figure is the same (each
    // query of a report binds the region once per use of the period).
    let hubei = app.region("湖北省").await;
    for report in ["summary", "assessments", "events"] {
        let all = app.get(&format!("/api/v1/reports/{report}?from=2023-06-01&to=2024-01-31")).await;
        let scoped = app
            .get(&format!("/api/v1/reports/{report}?from=2023-06-01&to=2024-01-31&region_id={hubei}"))
            .await;
        assert_eq!(scoped.status, 200, "{}", scoped.body);
        let (mut all, mut scoped) = (all.body, scoped.body);
        all["scope"]["region_id"] = json!(null);
        scoped["scope"]["region_id"] = json!(null);
        assert_eq!(all, scoped, "{report}");
    }
    let r = app.get("/api/v1/reports/compliance").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The compliance report's monthly tallies agree with the engine's timelines, pairing by pairing.
    let r = app.get("/api/v1/reports/compliance?from=2024-01-01&to=2024-12-31").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let monthly = r.body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["rule_code"] == "monthly_contact")
        .unwrap()
        .clone();
    assert_eq!(monthly["periods"].as_array().unwrap().len(), 12);
    let db = app.state.db.clone();
    let expected = actix_web::web::block(move || {
        let mut conn = db.conn().unwrap();
        let page = tongxing_core::page::PageRequest { after: None, limit: 200 };
        let pairings = tongxing_pairing::pairings::list(
            &mut conn,
            &tongxing_core::access::Scope::system(),
            &Default::default(),
            page,
        )
        .unwrap();
        let mut tally = std::collections::BTreeMap::<String, [i64; 4]>::new();
        for p in pairings.items {
            let (from, to) =
                (chrono::NaiveDate::from_ymd_opt(2024, 1, 1), chrono::NaiveDate::from_ymd_opt(2024, 12, 31));
            let t = tongxing_pairing::compliance::pairing_timeline(
                &mut conn,
                &tongxing_core::access::Scope::system(),
                p.id,
                from,
                to,
                None,
            )
            .unwrap();
            let rule = t.rules.iter().find(|r| r.rule_code == "monthly_contact").unwrap();
            for e in &rule.periods {
                let slot = tally.entry(e.period.clone()).or_default();
                slot[0] += 1;
                match serde_json::to_value(e.status).unwrap().as_str().unwrap() {
                    "met" => slot[1] += 1,
                    "missed" => slot[2] += 1,
                    "exempt" => slot[3] += 1,
                    _ => {}
                }
            }
        }
        tally
    })
    .await
    .unwrap();
    for p in monthly["periods"].as_array().unwrap() {
        let e = expected[p["period"].as_str().unwrap()];
        let got = [
            p["active"].as_i64().unwrap(),
            p["met"].as_i64().unwrap(),
            p["missed"].as_i64().unwrap(),
            p["exempt"].as_i64().unwrap(),
        ];
        assert_eq!(got, e, "{}", p["period"]);
    }
    assert!(
        monthly["periods"].as_array().unwrap().iter().any(|p| p["missed"].as_i64().unwrap() > 0),
        "some months were missed"
    );
    assert_eq!(monthly["by_mentor_organisation"][0]["group"], "咸宁市民政局");
    let r = app.get("/api/v1/reports/compliance?from=2023-06-01&to=2024-01-31&format=csv").await;
    assert!(String::from_utf8(r.raw).unwrap().contains("\r\nweekly_counselling,周期,2023-W22,10,"));

    let r = app
        .send(
            "GET",
            "/api/v1/reports/summary?from=2023-06-01&to=2024-01-31",
            None,
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(r.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    assert_eq!(r.header("content-language").as_deref(), Some("zh-CN"));
    let text = String::from_utf8(r.raw).unwrap();
    assert!(text.starts_with('\u{feff}'));
    // Headings and labels in the language asked for: Chinese unless the deployment chose
    // otherwise; the figures the same.
    assert!(text.starts_with("\u{feff}指标,数值,统计口径\r\n"), "{text}");
    assert!(text.contains("\r\n建档立卡儿童数,106,"), "{text}");
    assert!(text.contains("\r\n电话访问家庭数,200,"));
    assert!(text.contains("\r\n举办活动场次 · 季度主题活动,2,"), "{text}");
    let r = app
        .send(
            "GET",
            "/api/v1/reports/summary.csv?from=2023-06-01&to=2024-01-31",
            None,
            None,
            &[("accept-language", "zh-CN;q=0.5, en")],
        )
        .await;
    assert_eq!(r.header("content-language").as_deref(), Some("en"));
    assert!(r.header("vary").is_some_and(|v| v.contains("accept-language")), "{:?}", r.header("vary"));
    let text = String::from_utf8(r.raw).unwrap();
    assert!(text.starts_with("\u{feff}Figure,Value,Definition\r\n"), "{text}");
    assert!(text.contains("\r\nChildren registered,106,"), "{text}");
    assert!(text.contains("\r\nEvents held · Quarterly theme event,2,"), "{text}");

    // Every CSV-only operation of the contract answers what its report answers as `format=csv`,
    // byte for byte, as a download.
    let spec = app.send("GET", "/api/v1/openapi.json", Some(""), None, &[]).await.body;
    let mut checked = 0;
    for path in spec["paths"].as_object().unwrap().keys().filter(|p| p.ends_with(".csv")) {
        let query = "from=2023-06-01&to=2024-01-31";
        let csv = app.get(&format!("{path}?{query}")).await;
        assert_eq!(csv.status, 200, "{path}");
        assert_eq!(csv.header("content-type").as_deref(), Some("text/csv; charset=utf-8"), "{path}");
        assert!(csv.header("content-disposition").is_some_and(|d| d.starts_with("attachment")), "{path}");
        let same = app.get(&format!("{}?{query}&format=csv", path.trim_end_matches(".csv"))).await;
        assert_eq!(csv.raw, same.raw, "{path}");
        app.get(&format!("{path}?format=csv")).await.assert_problem(400, "invalid_query");
        checked += 1;
    }
    assert_eq!(checked, 4, "a CSV operation per report");
}

async fn csv_exports_are_spreadsheet_safe(app: TestApp) {
    // A region whose name a spreadsheet would run as a formula.
    let town = app.region("桂花镇").await;
    let r = app
        .post(
            "/api/v1/regions",
            json!({"parent_id": town, "level": "village", "name": "=HYPERLINK(\"http://x\")村"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let village = r.id();
    let org = app
        .post("/api/v1/organisations", json!({"name": "志愿服务队", "kind": "social_organisation"}))
        .await
        .id();
    let v = app
        .post("/api/v1/volunteers", json!({"name": "甲", "source": "community", "background_check": {"on": "2023-01-01", "expires_on": "2030-01-01"}, "safety_training": {"on": "2023-01-01", "expires_on": "2030-01-01"}}))
        .await
        .id();
    let e = app
        .post("/api/v1/events", json!({"title": "读书会", "event_type": "care", "programme": "five_plus_n", "starts_at": "2024-03-02T09:00:00+08:00", "ends_at": "2024-03-02T11:00:00+08:00", "region_id": village, "organiser_id": org}))
        .await
        .id();
    app.post(&format!("/api/v1/events/{e}/roster"), json!({"volunteer_id": v, "role": "lead", "hours": 2}))
        .await;
    assert_eq!(app.post(&format!("/api/v1/events/{e}/status"), json!({"status": "held"})).await.status, 200);

    let r = app.get("/api/v1/reports/events?from=2024-03-01&to=2024-03-31&format=csv").await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.raw[..3], [0xEF, 0xBB, 0xBF], "UTF-8 byte-order mark");
    let text = String::from_utf8(r.raw[3..].to_vec()).unwrap();
    assert!(text.contains("\r\n区域,\"'=HYPERLINK(\"\"http://x\"\")村\",1,"), "{text}");
    assert!(text.contains("\r\n活动类型,关爱活动,1,"));
    assert!(r.header("content-disposition").unwrap().contains("events.csv"));
    // JSON stays the default; a bad format is refused.
    assert_eq!(
        app.get("/api/v1/reports/events").await.header("content-type").as_deref(),
        Some("application/json")
    );
    app.get("/api/v1/reports/events?format=pdf").await.assert_problem(400, "invalid_query");
    // A workbook, by `format` or by `Accept`, as a download in the language asked for (its
    // cells are read back with openpyxl in CI: tests/workbooks/check.py).
    const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    for (path, headers) in [
        ("/api/v1/reports/events?from=2024-03-01&to=2024-03-31&format=xlsx", vec![("accept-language", "en")]),
        (
            "/api/v1/reports/events?from=2024-03-01&to=2024-03-31",
            vec![("accept", XLSX), ("accept-language", "en")],
        ),
    ] {
        let r = app.send("GET", path, None, None, &headers).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type").as_deref(), Some(XLSX), "{path}");
        assert!(r.header("content-disposition").unwrap().contains("events.xlsx"));
        assert_eq!(r.header("content-language").as_deref(), Some("en"));
        assert_eq!(&r.raw[..2], b"PK", "a zip package");
    }
    app.get("/api/v1/reports/summary?from=2024-02-01&to=2024-01-01")
        .await
        .assert_problem(422, "validation_failed");
}
