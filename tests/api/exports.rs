//! The lists' workbooks over HTTP (households, home-visit requests), on both backends: each
//! holds the rows its JSON list answers the same caller, in the list's order, with phone
//! numbers and ids as text; each child it concerns is an audited export, as the list's own
//! reads are; its filters are the list's, and anything else is a 400. (Cell types, headings in
//! both languages and frozen panes are read back with openpyxl in tests/workbooks/check.py.)

use std::collections::BTreeSet;
use std::io::Read;

use serde_json::{Value, json};

use crate::access::{World, build_world};
use crate::helpers::{Resp, TestApp, ahead};
use crate::on_both_backends;

on_both_backends!(
    the_households_workbook_holds_the_callers_list,
    the_home_visit_requests_workbook_holds_the_callers_list
);

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// One written cell of a sheet: its type (`t`: `inlineStr` for text, none for a number or a
/// date) and what it holds.
#[derive(Debug, Clone)]
struct XCell {
    kind: Option<String>,
    value: String,
}

/// The rows of a workbook's first sheet, each cell at its column's index.
fn sheet_rows(bytes: &[u8]) -> Vec<Vec<Option<XCell>>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip package");
    let mut xml = String::new();
    zip.by_name("xl/worksheets/sheet1.xml").expect("a first sheet").read_to_string(&mut xml).unwrap();
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[at..].split('"').next()?.to_owned())
    };
    let between = |s: &str, open: &str, close: &str| -> Option<String> {
        let start = s.find(open)?;
        let rest = &s[start..];
        let rest = &rest[rest.find('>')? + 1..];
        Some(rest[..rest.find(close)?].to_owned())
    };
    let unescape = |s: String| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    };
    xml.split("<row ")
        .skip(1)
        .map(|row| {
            let mut cells: Vec<Option<XCell>> = Vec::new();
            for c in row.split("<c ").skip(1) {
                let tag = format!(" {}", &c[..c.find('>').unwrap()]);
                let reference = attr(&tag, "r").unwrap();
                let column = reference
                    .chars()
                    .take_while(char::is_ascii_uppercase)
                    .fold(0usize, |n, l| n * 26 + (l as usize - 'A' as usize + 1))
                    - 1;
                let value = between(c, "<t", "</t>").or_else(|| between(c, "<v", "</v>")).unwrap_or_default();
                if cells.len() <= column {
                    cells.resize(column + 1, None);
                }
                cells[column] = Some(XCell { kind: attr(&tag, "t"), value: unescape(value) });
            }
            cells
        })
        .collect()
}

/// A list's workbook as the table under its heading row (found by its first heading): the
/// headings, and each row's cells.
struct Table {
    headings: Vec<String>,
    rows: Vec<Vec<Option<XCell>>>,
}

impl Table {
    fn read(r: &Resp, first_heading: &str) -> Table {
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.header("content-type").as_deref(), Some(XLSX));
        let rows = sheet_rows(&r.raw);
        let at = rows
            .iter()
            .position(|row| row.first().and_then(|c| c.as_ref()).is_some_and(|c| c.value == first_heading))
            .unwrap_or_else(|| panic!("no heading row starting with {first_heading}: {rows:?}"));
        let headings =
            rows[at].iter().map(|c| c.as_ref().map(|c| c.value.clone()).unwrap_or_default()).collect();
        Table { headings, rows: rows[at + 1..].to_vec() }
    }

    fn column(&self, heading: &str) -> usize {
        self.headings.iter().position(|h| h == heading).unwrap_or_else(|| panic!("no column {heading}"))
    }

    /// The cells of a column, row by row (`None` where empty).
    fn cells(&self, heading: &str) -> Vec<Option<XCell>> {
        let at = self.column(heading);
        self.rows.iter().map(|row| row.get(at).cloned().flatten()).collect()
    }

    fn values(&self, heading: &str) -> Vec<String> {
        self.cells(heading).into_iter().map(|c| c.map(|c| c.value).unwrap_or_default()).collect()
    }
}

fn ids(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

/// The children the audit log records as exported (or listed) by the request `request_id`.
async fn audited(app: &TestApp, action: &str, request_id: &str) -> BTreeSet<String> {
    let (mut children, mut cursor) = (BTreeSet::new(), None::<String>);
    loop {
        let page = cursor.map_or(String::new(), |c| format!("&cursor={c}"));
        let r = app.get(&format!("/api/v1/audit-events?action={action}&limit=200{page}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        for e in r.body["items"].as_array().unwrap() {
            if e["request_id"] == request_id {
                assert_eq!(e["status"], 200, "{e}");
                // A call that showed no child leaves one entry naming none.
                children.extend(e["child_id"].as_str().map(str::to_owned));
            }
        }
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return children,
        }
    }
}

/// The entry of the request `request_id` in a child's access history.
async fn in_history(app: &TestApp, child: &str, request_id: &str) -> Value {
    let mut cursor = None::<String>;
    loop {
        let page = cursor.map_or(String::new(), |c| format!("&cursor={c}"));
        let r = app.get(&format!("/api/v1/children/{child}/access-history?limit=200{page}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if let Some(e) = r.body["items"].as_array().unwrap().iter().find(|e| e["request_id"] == request_id) {
            return e.clone();
        }
        cursor = Some(
            r.body["next_cursor"]
                .as_str()
                .unwrap_or_else(|| panic!("{request_id}: not in the history"))
                .to_owned(),
        );
    }
}

/// `path` as `role` (in English), with a request id to find its audit entries by.
async fn as_role(app: &TestApp, w: &World, role: &str, path: &str, request_id: &str) -> Resp {
    let headers = [("accept-language", "en"), ("x-request-id", request_id)];
    app.send("GET", path, Some(&w.tokens[role]), None, &headers).await
}

async fn the_households_workbook_holds_the_callers_list(app: TestApp) {
    let w = build_world(&app).await;
    // A household without a primary guardian: the first listed is the one to reach first.
    let r = app
        .post(
            "/api/v1/households",
            json!({"region_id": w.village_in, "address": "=HYPERLINK(\"x\")", "parents_work_away": true, "notes": "父母在东莞务工", "guardians": [
                {"name": "李桂兰", "relation": "grandmother", "phone": "0715 8123456"},
                {"name": "李建国", "relation": "father", "phone": "+86 139-0000-1111", "works_away": true},
                {"name": "李小红", "relation": "sibling"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let shared = r.body["id"].as_str().unwrap().to_owned();

    let in_village = format!("?region_id={}", w.village_in);
    for (role, query) in [
        ("admin", ""),
        ("admin", in_village.as_str()),
        ("admin", "?q=%E6%9D%8E%E6%A1%82%E5%85%B0"),
        ("coordinator", ""),
        ("caseworker", ""),
    ] {
        let what = format!("{role} {query}");
        let join = if query.is_empty() { "?" } else { "&" };
        let list_id = format!("list-households-{role}-{}", query.len());
        let list =
            as_role(&app, &w, role, &format!("/api/v1/households{query}{join}limit=200"), &list_id).await;
        assert_eq!(list.status, 200, "{what}: {}", list.body);
        assert!(list.body["next_cursor"].is_null(), "{what}: one page holds them all");
        let export_id = format!("export-households-{role}-{}", query.len());
        let r = as_role(&app, &w, role, &format!("/api/v1/households.xlsx{query}"), &export_id).await;
        assert!(r.header("content-disposition").unwrap().contains("households.xlsx"), "{what}");
        assert_eq!(r.header("content-language").as_deref(), Some("en"));
        let t = Table::read(&r, "Village or community");
        assert_eq!(
            t.values("Household id"),
            ids(&list.body["items"]),
            "{what}: the list's households, in order"
        );

        // Row by row, the list's record: phone numbers, ids and a formula-like address as text,
        // the day recorded as a date (a number in the sheet).
        for (item, row) in list.body["items"].as_array().unwrap().iter().zip(0..) {
            let cell = |h: &str| t.cells(h)[row].clone();
            assert_eq!(
                cell("Address").map(|c| c.value),
                item["address"].as_str().map(str::to_owned),
                "{what}"
            );
            let guardians = item["guardians"].as_array().unwrap();
            let first = guardians.iter().position(|g| g["is_primary"] == true).unwrap_or(0);
            let phone = cell("Phone");
            assert_eq!(
                phone.as_ref().map(|c| c.value.as_str()),
                guardians[first]["phone"].as_str(),
                "{what}"
            );
            for c in [phone, cell("Household id"), cell("Address")].into_iter().flatten() {
                assert_eq!(c.kind.as_deref(), Some("inlineStr"), "{what}: {c:?} as text");
            }
            let day = cell("Recorded on").expect("the day recorded");
            assert!(day.kind.is_none() && day.value.parse::<f64>().is_ok(), "{what}: {day:?} as a date");
        }
        let at = t.values("Household id").iter().position(|h| *h == shared);
        if let Some(at) = at {
            let row = |h: &str| t.values(h)[at].clone();
            assert_eq!(row("Guardian to reach first"), "李桂兰");
            assert_eq!(row("Relation to the child"), "Grandmother");
            assert_eq!(row("Phone"), "0715 8123456");
            assert_eq!(row("Other guardians"), "李建国 (Father) +86 139-0000-1111; 李小红 (Sibling)");
            assert_eq!(row("Parents work away"), "Yes");
            assert_eq!(row("Address"), "=HYPERLINK(\"x\")");
        }
        assert_eq!(
            at.is_some(),
            role != "caseworker",
            "{what}: a household without the caseworker's children"
        );
        let out = w.id("household.out").to_owned();
        assert_eq!(t.values("Household id").contains(&out), role == "admin" && query.is_empty(), "{what}");

        // Each child of the households the caller reaches is an exported read, as the list's
        // are listed reads.
        let exported = audited(&app, "export", &export_id).await;
        assert_eq!(exported, audited(&app, "list", &list_id).await, "{what}");
        let household_in = t.values("Household id").contains(&w.id("household.in").to_owned());
        assert_eq!(household_in, !query.starts_with("?q"), "{what}");
        assert_eq!(exported.contains(w.id("child.in")), household_in, "{what}: {exported:?}");
        assert_eq!(exported.contains(w.id("child.out")), role == "admin" && query.is_empty(), "{what}");
    }
    // The export appears in the child's access history.
    let entry = in_history(&app, w.id("child.in"), "export-households-caseworker-0").await;
    assert_eq!(
        (&entry["action"], &entry["resource"], &entry["actor_role"]),
        (&json!("export"), &json!("/api/v1/households.xlsx"), &json!("caseworker"))
    );

    // Chinese by default; the list's filters and nothing else; callers the list refuses.
    let r = app.get("/api/v1/households.xlsx").await;
    let t = Table::read(&r, "村/社区");
    assert_eq!(&t.headings[..4], ["村/社区", "地址", "父母外出务工", "首要联系监护人"]);
    app.get("/api/v1/households.xlsx?limit=5").await.assert_problem(400, "invalid_query");
    app.get("/api/v1/households.xlsx?region_id=nowhere").await.assert_problem(400, "invalid_query");
    for role in ["mentor", "volunteer", "auditor", "partner"] {
        as_role(&app, &w, role, "/api/v1/households.xlsx", "refused").await.assert_problem(403, "forbidden");
    }
}

async fn the_home_visit_requests_workbook_holds_the_callers_list(app: TestApp) {
    let w = build_world(&app).await;
    let visit = w.id("visit.in").to_owned();
    let r = app
        .post(
            &format!("/api/v1/home-visit-requests/{visit}/consent"),
            json!({"given_by": "王秀英", "relation": "grandmother", "given_at": "2024-09-20T10:00:00+08:00"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // More requests than the list's 200: the workbook holds them all.
    let body = json!({"pairing_id": w.id("pairing.in"), "leaves_at": ahead("2024-10-03T09:00:00+08:00"), "returns_at": ahead("2024-10-03T18:00:00+08:00"), "address": "温泉街道某小区3栋", "transport": "导师自驾", "supervisor": "李建华", "emergency_contact_name": "值班室", "emergency_contact_phone": "0715-8000000"});
    for _ in 0..200 {
        let r = app.post("/api/v1/home-visit-requests", body.clone()).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }

    let of_pairing_out = format!("?pairing_id={}", w.id("pairing.out"));
    for (role, query) in [
        ("admin", ""),
        ("admin", "?status=consented"),
        ("admin", of_pairing_out.as_str()),
        ("coordinator", ""),
        ("caseworker", ""),
        ("mentor", ""),
    ] {
        let what = format!("{role} {query}");
        let list_id = format!("list-visits-{role}-{}", query.len());
        let list = as_role(&app, &w, role, &format!("/api/v1/home-visit-requests{query}"), &list_id).await;
        assert_eq!(list.status, 200, "{what}: {}", list.body);
        let listed = ids(&list.body["items"]);
        let export_id = format!("export-visits-{role}-{}", query.len());
        let r =
            as_role(&app, &w, role, &format!("/api/v1/home-visit-requests.xlsx{query}"), &export_id).await;
        assert!(r.header("content-disposition").unwrap().contains("home-visit-requests.xlsx"), "{what}");
        let t = Table::read(&r, "Leaves at");
        let exported = t.values("Request id");
        // The list stops at the newest 200; the workbook goes on, in the same order.
        assert_eq!(exported[..listed.len()], listed[..], "{what}: the list's requests, newest first");
        let all = match (role, query) {
            (_, "?status=consented") => 1,
            (_, q) if q.starts_with("?pairing_id") => 1,
            ("admin", _) => 202,
            _ => 201,
        };
        assert_eq!(exported.len(), all, "{what}");
        assert_eq!(listed.len(), all.min(200), "{what}");
        assert_eq!(exported.contains(&visit), !query.starts_with("?pairing_id"), "{what}");
        let out = exported.contains(&w.id("visit.out").to_owned());
        assert_eq!(out, role == "admin" && !query.starts_with("?status"), "{what}");

        for (row, cells) in t.rows.iter().enumerate() {
            for h in [
                "Emergency contact's phone",
                "Request id",
                "Child id",
                "Pairing id",
                "Requested by (user id)",
            ] {
                let c = cells[t.column(h)].as_ref().unwrap_or_else(|| panic!("{what}: no {h} in row {row}"));
                assert_eq!(c.kind.as_deref(), Some("inlineStr"), "{what}: {h} as text: {c:?}");
            }
        }
        let at = t.values("Request id").iter().position(|id| *id == visit);
        if let Some(at) = at {
            let row = |h: &str| t.values(h)[at].clone();
            assert_eq!(row("Status"), "Consented");
            assert_eq!(row("Child"), "儿童in");
            assert_eq!(row("Emergency contact's phone"), "0715-8000000");
            assert_eq!(row("Consent given by"), "王秀英");
            assert_eq!(row("Relation to the child"), "Grandmother");
            assert_eq!(row("Consent given at"), "2024-09-20 10:00", "Asia/Shanghai, to the minute");
            assert_eq!(row("Child id"), w.id("child.in"));
        }

        // Each request's child is an exported read, as the list's are listed reads (the
        // list's children are among the workbook's: it holds more requests).
        let children = audited(&app, "export", &export_id).await;
        let list_children = audited(&app, "list", &list_id).await;
        assert!(list_children.is_subset(&children), "{what}: {children:?} {list_children:?}");
        let expected: BTreeSet<String> = (exported.contains(&visit).then(|| w.id("child.in").to_owned()))
            .into_iter()
            .chain(exported.contains(&w.id("visit.out").to_owned()).then(|| w.id("child.out").to_owned()))
            .collect();
        assert_eq!(children, expected, "{what}");
    }
    let entry = in_history(&app, w.id("child.in"), "export-visits-mentor-0").await;
    assert_eq!(
        (&entry["action"], &entry["resource"], &entry["actor_role"]),
        (&json!("export"), &json!("/api/v1/home-visit-requests.xlsx"), &json!("mentor"))
    );

    // Chinese by default; the list's filters and nothing else; callers the list refuses.
    let t = Table::read(&app.get("/api/v1/home-visit-requests.xlsx?status=consented").await, "出发时间");
    assert_eq!(t.values("申请状态"), ["已获同意"]);
    assert_eq!(t.values("与儿童关系"), ["祖母/外祖母"]);
    app.get("/api/v1/home-visit-requests.xlsx?cursor=x").await.assert_problem(400, "invalid_query");
    app.get("/api/v1/home-visit-requests.xlsx?status=lost").await.assert_problem(400, "invalid_query");
    for role in ["volunteer", "auditor", "partner"] {
        as_role(&app, &w, role, "/api/v1/home-visit-requests.xlsx", "refused")
            .await
            .assert_problem(403, "forbidden");
    }
}
