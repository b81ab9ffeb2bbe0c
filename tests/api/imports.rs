//! Importing registers over HTTP on both backends, with files made here as spreadsheet programs
//! make them (rust_xlsxwriter for workbooks; CSV in UTF-8 and GBK): a 1,000-row workbook with
//! every kind of bad cell gets exactly the expected per-cell report and its dry run writes
//! nothing; committed, its records read back as the file says; a GBK CSV plans as its UTF-8
//! twin; a second import finds the first one's children; bad uploads are refused.

use std::time::Duration;

use chrono::NaiveDate;
use rust_xlsxwriter::{Format, Formula, Workbook};
use serde_json::{Value, json};
use tongxing_core::role::Role;

use crate::helpers::{Resp, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_register_is_checked_then_committed_all_or_nothing,
    a_gbk_csv_plans_as_its_utf8_twin_and_a_second_import_finds_the_first,
    bad_uploads_are_refused_and_write_nothing
);

const PASSWORD: &str = "a-password-for-tests";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A valid national ID number for a child born on `born`, the `n`th of the day.
fn national_id(born: NaiveDate, n: u32) -> String {
    let body = format!("421202{}{:03}", born.format("%Y%m%d"), n % 1000);
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.chars().zip(weights).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    format!("{body}{}", "10X98765432".chars().nth((sum % 11) as usize).unwrap())
}

fn born(i: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2010 + (i % 8) as i32, 1 + i % 12, 1 + i % 28).unwrap()
}

async fn upload(app: &TestApp, token: &str, content_type: &str, bytes: Vec<u8>, query: &str) -> Resp {
    app.send_raw("POST", &format!("/api/v1/imports{query}"), Some(token), Some((content_type, bytes)), &[])
        .await
}

/// Polls the import until its check or commit has finished.
async fn settled(app: &TestApp, token: &str, id: &str) -> Value {
    for _ in 0..600 {
        let r = app.send("GET", &format!("/api/v1/imports/{id}"), Some(token), None, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        if ["checked", "committed", "failed"].contains(&r.body["state"].as_str().unwrap()) {
            return r.body;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the import {id} never settled");
}

async fn all_rows(app: &TestApp, token: &str, id: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = app
            .send(
                "GET",
                &format!("/api/v1/imports/{id}/rows?limit=200{query}{cursor}"),
                Some(token),
                None,
                &[],
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        out.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return out,
        }
    }
}

/// The 1,000-row register: row 1 headings, data from row 2 (spreadsheet numbering). The bad
/// rows and what the check must say of them: (row, column heading, code).
fn register() -> (Vec<u8>, Vec<(u32, &'static str, &'static str)>) {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("花名册").unwrap();
    let headings = [
        "姓名",
        "性别",
        "出生日期",
        "身份证号",
        "类别",
        "村/社区",
        "监护人",
        "监护人关系",
        "联系电话",
        "学校",
    ];
    for (c, h) in headings.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut bad = Vec::new();
    for i in 0..1000u32 {
        let r = i + 1;
        let row = r + 1;
        let d = born(i);
        sheet.write_string(r, 0, format!("导入儿童{i}")).unwrap();
        sheet.write_string(r, 1, if i % 2 == 0 { "男" } else { "女" }).unwrap();
        sheet.write_date_with_format(r, 2, d, &date).unwrap();
        sheet.write_string(r, 3, national_id(d, i)).unwrap();
        sheet.write_string(r, 4, if i % 3 == 0 { "留守儿童、困境儿童" } else { "留守儿童" }).unwrap();
        sheet.write_string(r, 5, "金桂社区").unwrap();
        sheet.write_string(r, 6, format!("监护人{i}")).unwrap();
        sheet.write_string(r, 7, "祖母").unwrap();
        sheet.write_string(r, 8, format!("1380000{i:04}")).unwrap();
        sheet.write_string(r, 9, "桂花镇中心小学").unwrap();
        match i {
            // Excel made the ID number a number: digits lost.
            10 => {
                sheet.write_number(r, 3, 4.21202e17).unwrap();
                bad.push((row, "身份证号", "id_number_as_number"));
            }
            // A date that is none.
            11 => {
                sheet.write_string(r, 2, "2014-13-45").unwrap();
                bad.push((row, "出生日期", "bad_date"));
                // (the ID number no longer agrees with a date either: no second report)
                sheet.write_string(r, 3, "").unwrap();
            }
            // A date as an unformatted serial number, and as Chinese text: both fine.
            12 => {
                sheet.write_number(r, 2, 41791.0).unwrap(); // 2014-06-01
                sheet
                    .write_string(r, 3, national_id(NaiveDate::from_ymd_opt(2014, 6, 1).unwrap(), i))
                    .unwrap();
            }
            13 => {
                sheet.write_string(r, 2, "2014年6月1日").unwrap();
                sheet
                    .write_string(r, 3, national_id(NaiveDate::from_ymd_opt(2014, 6, 1).unwrap(), i))
                    .unwrap();
            }
            14 => {
                sheet.write_string(r, 1, "未知").unwrap();
                bad.push((row, "性别", "unknown_value"));
            }
            15 => {
                sheet.write_string(r, 5, "无此村").unwrap();
                bad.push((row, "村/社区", "unknown_village"));
            }
            16 => {
                sheet.write_blank(r, 0, &Format::new()).unwrap();
                bad.push((row, "姓名", "blank"));
            }
            // A formula's cached value is used, and said so (a warning: the row imports).
            17 => {
                sheet
                    .write_formula(
                        r,
                        9,
                        Formula::new("=\"桂花镇\"&\"中心小学\"").set_result("桂花镇中心小学"),
                    )
                    .unwrap();
            }
            // Full-width digits in the phone number.
            18 => {
                sheet.write_string(r, 8, "１３８００００９９９９").unwrap();
            }
            // The same ID number as row 22 (i = 20) has.
            21 => {
                sheet.write_string(r, 3, national_id(born(20), 20)).unwrap();
                sheet.write_date_with_format(r, 2, born(20), &date).unwrap();
                bad.push((row, "身份证号", "duplicate_in_file"));
            }
            // A wrong check character.
            22 => {
                let mut n = national_id(d, i);
                let last = if n.ends_with('0') { '1' } else { '0' };
                n.pop();
                n.push(last);
                sheet.write_string(r, 3, n).unwrap();
                bad.push((row, "身份证号", "check_digit"));
            }
            23 => {
                sheet.write_string(r, 4, "孤寡").unwrap();
                bad.push((row, "类别", "unknown_value"));
            }
            _ => {}
        }
    }
    // Rows 30 to 33 share their village through one merged cell.
    sheet.merge_range(29, 5, 32, 5, "金桂社区", &Format::new()).unwrap();
    // Trailing rows with nothing in them.
    for r in 1001..1010 {
        sheet.write_blank(r, 0, &Format::new()).unwrap();
    }
    (book.save_to_buffer().unwrap(), bad)
}

async fn a_register_is_checked_then_committed_all_or_nothing(app: TestApp) {
    let village = app.region("金桂社区").await;
    let town =
        app.get(&format!("/api/v1/regions/{village}")).await.body["parent_id"].as_str().unwrap().to_owned();
    app.add_user_in("coord.town", Role::Coordinator, PASSWORD, None, Some(&town)).await;
    app.add_user_in("coord.other", Role::Coordinator, PASSWORD, None, Some(&town)).await;
    let (me, other) = (app.login("coord.town", PASSWORD).await, app.login("coord.other", PASSWORD).await);
    let before = (app.count("children").await, app.count("households").await);

    let (file, bad) = register();
    let r = upload(&app, &me, XLSX, file, "?sheet=%E8%8A%B1%E5%90%8D%E5%86%8C").await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.id();
    let import = settled(&app, &me, &id).await;
    assert_eq!(import["state"], "checked", "{import}");
    assert_eq!(import["total_rows"], 1000);
    assert_eq!(import["invalid"], bad.len() as i64, "{import}");
    assert_eq!(
        import["creates"].as_i64().unwrap() + import["possible_duplicates"].as_i64().unwrap(),
        1000 - bad.len() as i64
    );
    // The dry run wrote no record.
    assert_eq!((app.count("children").await, app.count("households").await), before);

    // Exactly the expected problems, per cell, in the caller's language.
    let invalid = all_rows(&app, &me, &id, "&outcome=invalid").await;
    let mut found: Vec<(u32, String, String)> = invalid
        .iter()
        .flat_map(|r| r["problems"].as_array().unwrap().iter())
        .filter(|p| p["severity"] == "error")
        .map(|p| {
            (
                p["row"].as_u64().unwrap() as u32,
                p["column"].as_str().unwrap().to_owned(),
                p["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    let mut expected: Vec<(u32, String, String)> =
        bad.iter().map(|(r, c, k)| (*r, (*c).to_owned(), (*k).to_owned())).collect();
    expected.sort();
    assert_eq!(found, expected);
    let rows = all_rows(&app, &me, &id, "").await;
    assert_eq!(rows.len(), 1000);
    let warned = rows.iter().find(|r| r["row"] == 19).unwrap();
    assert_eq!(warned["outcome"], "create", "{warned}");
    assert_eq!(warned["problems"][0]["code"], "formula_value_used", "{warned}");
    let english = app
        .send(
            "GET",
            &format!("/api/v1/imports/{id}/rows?outcome=invalid&limit=1"),
            Some(&me),
            None,
            &[("accept-language", "en")],
        )
        .await;
    let chinese = app
        .send(
            "GET",
            &format!("/api/v1/imports/{id}/rows?outcome=invalid&limit=1"),
            Some(&me),
            None,
            &[("accept-language", "zh-CN")],
        )
        .await;
    assert_ne!(
        english.body["items"][0]["problems"][0]["message"],
        chinese.body["items"][0]["problems"][0]["message"]
    );

    // Only its uploader sees and commits it; with invalid rows, only by choice.
    app.send("GET", &format!("/api/v1/imports/{id}"), Some(&other), None, &[])
        .await
        .assert_problem(404, "not_found");
    let commit = format!("/api/v1/imports/{id}/commit");
    app.send("POST", &commit, Some(&other), Some(json!({"skip_invalid": true})), &[])
        .await
        .assert_problem(404, "not_found");
    app.post(&commit, json!({"skip_invalid": true})).await.assert_problem(403, "forbidden");
    app.send("POST", &commit, Some(&me), Some(json!({})), &[]).await.assert_problem(409, "import_has_errors");
    assert_eq!((app.count("children").await, app.count("households").await), before);

    let key = [("idempotency-key", "import-commit-0001")];
    let r = app.send("POST", &commit, Some(&me), Some(json!({"skip_invalid": true})), &key).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let done = settled(&app, &me, &id).await;
    assert_eq!(done["state"], "committed", "{done}");
    assert_eq!(done["skip_invalid"], true);
    let replay = app.send("POST", &commit, Some(&me), Some(json!({"skip_invalid": true})), &key).await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    app.send("POST", &commit, Some(&me), Some(json!({"skip_invalid": true})), &[])
        .await
        .assert_problem(409, "import_already_committed");
    assert_eq!(app.count("children").await, before.0 + 1000 - bad.len() as i64);

    // The records read back as the file says.
    for i in [0u32, 12, 13, 17, 18, 999] {
        let r = app
            .get(&format!("/api/v1/children?q={}", crate::helpers::urlencode(&format!("导入儿童{i}"))))
            .await;
        let child = r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == format!("导入儿童{i}"))
            .unwrap()
            .clone();
        let d = if [12, 13].contains(&i) { NaiveDate::from_ymd_opt(2014, 6, 1).unwrap() } else { born(i) };
        assert_eq!(child["birth_date"], d.to_string(), "{child}");
        assert_eq!(child["sex"], if i % 2 == 0 { "male" } else { "female" });
        assert_eq!(child["school"], "桂花镇中心小学");
        assert_eq!(child["region_id"], village.as_str());
        assert_eq!(child["national_id"], national_id(d, i), "{child}");
        let h = app.get(&format!("/api/v1/households/{}", child["household_id"].as_str().unwrap())).await;
        assert_eq!(h.body["guardians"][0]["name"], format!("监护人{i}"));
        let phone = if i == 18 { "13800009999".to_owned() } else { format!("1380000{i:04}") };
        assert_eq!(h.body["guardians"][0]["phone"], phone);
        assert_eq!(h.body["guardians"][0]["relation"], "grandmother");
    }
    // Each child's access history names the import's commit as the source of its record.
    app.state.audit.flush().await.unwrap();
    let committed = all_rows(&app, &me, &id, "&outcome=create").await;
    let child = committed[0]["child_id"].as_str().unwrap();
    let h = app.get(&format!("/api/v1/children/{child}/access-history")).await;
    assert!(
        h.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["resource"] == "/api/v1/imports/{id}/commit" && e["action"] == "create"),
        "{}",
        h.body
    );
}

fn csv_register(rows: &[(&str, &str, &str, &str)]) -> String {
    let mut text = String::from("姓名,性别,出生日期,身份证号,类别,村/社区,监护人,联系电话\n");
    for (name, sex, born, id) in rows {
        text.push_str(&format!("{name},{sex},{born},{id},留守儿童,金桂社区,王秀英,13900001111\n"));
    }
    text
}

async fn a_gbk_csv_plans_as_its_utf8_twin_and_a_second_import_finds_the_first(app: TestApp) {
    let d = NaiveDate::from_ymd_opt(2013, 3, 9).unwrap();
    let id = national_id(d, 7);
    let text = csv_register(&[
        ("李小龙", "男", "2013/3/9", &id),
        ("李小凤", "女", "2013年3月9日", ""),
        ("错误", "男", "2013-02-30", ""),
    ]);
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let plans = |rows: Vec<Value>| -> Vec<(Value, Value, Value)> {
        rows.into_iter().map(|r| (r["row"].clone(), r["outcome"].clone(), r["problems"].clone())).collect()
    };
    let a = upload(&app, &app.token, "text/csv; charset=GBK", gbk.into_owned(), "").await;
    assert_eq!(a.status, 202, "{}", a.body);
    let b = upload(&app, &app.token, "text/csv", text.clone().into_bytes(), "").await;
    let (a, b) = (a.id(), b.id());
    let (ia, ib) = (settled(&app, &app.token, &a).await, settled(&app, &app.token, &b).await);
    assert_eq!(ia["encoding"], "GB18030");
    assert_eq!(ib["encoding"], "UTF-8");
    assert_eq!(
        plans(all_rows(&app, &app.token, &a, "").await),
        plans(all_rows(&app, &app.token, &b, "").await)
    );
    assert_eq!(ia["invalid"], 1);

    let r = app.post(&format!("/api/v1/imports/{a}/commit"), json!({"skip_invalid": true})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(settled(&app, &app.token, &a).await["state"], "committed");
    // The same register again: the child with the ID number is updated, the other one is a
    // possible duplicate of the child the first import made.
    let c = upload(&app, &app.token, "text/csv", text.into_bytes(), "").await.id();
    settled(&app, &app.token, &c).await;
    let rows = all_rows(&app, &app.token, &c, "").await;
    assert_eq!(rows[0]["outcome"], "update", "{}", rows[0]);
    assert_eq!(rows[1]["outcome"], "possible_duplicate", "{}", rows[1]);
    assert!(rows[1]["signals"].as_array().unwrap().contains(&json!("same_name")), "{}", rows[1]);
    let first = all_rows(&app, &app.token, &a, "").await;
    assert_eq!(rows[1]["candidate_id"], first[1]["child_id"]);
    assert_eq!(rows[0]["child_id"], first[0]["child_id"]);

    // The child changes after the check: the commit writes nothing and says which row.
    let child = rows[0]["child_id"].as_str().unwrap().to_owned();
    let current = app.get(&format!("/api/v1/children/{child}")).await;
    let etag = current.header("etag").unwrap();
    let mut changed = current.body.clone();
    for k in [
        "id",
        "status",
        "case_number",
        "registered_on",
        "closed_on",
        "closure_reason",
        "version",
        "created_at",
        "updated_at",
    ] {
        changed.as_object_mut().unwrap().remove(k);
    }
    changed["school"] = json!("温泉小学");
    changed["health_notes"] = json!("哮喘");
    let r = app
        .send("PUT", &format!("/api/v1/children/{child}"), None, Some(changed), &[("if-match", &etag)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let before = app.count("children").await;
    let r = app.post(&format!("/api/v1/imports/{c}/commit"), json!({"skip_invalid": true})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let refused = settled(&app, &app.token, &c).await;
    assert_eq!(refused["state"], "checked", "{refused}");
    assert!(refused["failure"].as_str().unwrap().contains("row 2"), "{refused}");
    assert_eq!(app.count("children").await, before);
    // Checked again and committed: the update changes what the register gives, and keeps what
    // it does not (the school and health notes the file has no column for).
    let d = upload(
        &app,
        &app.token,
        "text/csv",
        csv_register(&[("李小龙", "男", "2013/3/9", &id)]).into_bytes(),
        "",
    )
    .await
    .id();
    settled(&app, &app.token, &d).await;
    let r = app.post(&format!("/api/v1/imports/{d}/commit"), json!({})).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(settled(&app, &app.token, &d).await["state"], "committed");
    let after = app.get(&format!("/api/v1/children/{child}")).await.body;
    assert_eq!(
        (after["school"].as_str(), after["health_notes"].as_str()),
        (Some("温泉小学"), Some("哮喘")),
        "{after}"
    );
    assert_eq!(after["household_id"], current.body["household_id"]);
}

async fn bad_uploads_are_refused_and_write_nothing(app: TestApp) {
    let token = app.token.clone();
    let refused = |r: Resp, status: u16, code: &str| r.assert_problem(status, code);
    // A zip bomb dressed as a workbook: 210 MB of zeros (over twenty times the size limit) in
    // a file of a few hundred kilobytes.
    let mut bomb = std::io::Cursor::new(Vec::new());
    {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(&mut bomb);
        let options =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..210 {
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap();
    }
    refused(upload(&app, &token, XLSX, bomb.into_inner(), "").await, 413, "import_too_large");
    refused(
        upload(&app, &token, XLSX, b"this is not a workbook".to_vec(), "").await,
        415,
        "not_a_spreadsheet",
    );
    refused(
        upload(&app, &token, "image/png", b"\x89PNG....".to_vec(), "").await,
        415,
        "unsupported_media_type",
    );
    refused(upload(&app, &token, "text/csv", Vec::new(), "").await, 422, "empty_import");
    refused(
        upload(&app, &token, "text/csv", "姓名,性别\n".as_bytes().to_vec(), "").await,
        422,
        "headings_not_recognised",
    );
    refused(
        upload(&app, &token, "text/csv", "备注,编号\n甲,1\n".as_bytes().to_vec(), "").await,
        422,
        "headings_not_recognised",
    );
    let headings_only = csv_register(&[]);
    refused(
        upload(&app, &token, "text/csv", headings_only.clone().into_bytes(), "").await,
        422,
        "empty_import",
    );
    // A mapping names a heading the service does not know.
    let mapped = "儿童名字,性别,出生日期,类别,村/社区\n张三,男,2014-01-02,留守儿童,金桂社区\n";
    let r = upload(
        &app,
        &token,
        "text/csv",
        mapped.as_bytes().to_vec(),
        "?mapping=%7B%22%E5%84%BF%E7%AB%A5%E5%90%8D%E5%AD%97%22%3A%22name%22%7D",
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let mapped_id = r.id();
    // Over the row limit, and over the size limit.
    let mut many = headings_only.clone();
    for i in 0..50_001 {
        many.push_str(&format!("儿童{i},男,2014-01-02,,留守儿童,金桂社区,,\n"));
    }
    refused(upload(&app, &token, "text/csv", many.into_bytes(), "").await, 413, "import_too_large");
    // A workbook's sheet that is not there.
    let mut book = Workbook::new();
    book.add_worksheet().set_name("名册").unwrap();
    let r = upload(&app, &token, XLSX, book.save_to_buffer().unwrap(), "?sheet=Sheet9").await;
    refused(r, 422, "unknown_sheet");
    assert_eq!(app.count("imports").await, 1, "only the mapped upload was kept");
    assert_eq!(settled(&app, &token, &mapped_id).await["creates"], 1);

    // The template: headings in both languages, the notes row, the lists, text ID numbers.
    let t = app.send("GET", "/api/v1/imports/template", None, None, &[]).await;
    assert_eq!(t.status, 200);
    assert_eq!(t.header("content-type").as_deref(), Some(XLSX));
    let r = upload(&app, &token, XLSX, t.raw.clone(), "").await;
    refused(r, 422, "empty_import");
    // Last: over the size limit (the server may close the connection after it).
    refused(
        upload(&app, &token, "text/csv", vec![b'a'; 10 * 1024 * 1024 + 1], "").await,
        413,
        "import_too_large",
    );
    assert_eq!(app.count("imports").await, 1);
}
