#!/usr/bin/env python3
"""Reads the service's Excel workbooks back as a spreadsheet program would (openpyxl).

It starts the service on a fresh SQLite database with the demo dataset, an administrator and a
caseworker, asks for every report as `format=xlsx`, in Chinese and in English, and checks each
workbook: the block that says what it covers (title, period, region, generation time, data
freshness), a bold heading row frozen in place, a sheet per breakdown, typed cells (figures as
numbers, never as text; nothing stored as a formula, even a cell that starts with `=`), the
figures equal to the JSON report's, and, for the caseworker (who may not read the children
counted), the small cells withheld with the note that says so. The lists' workbooks (children,
contacts, households, home-visit requests) hold the rows their JSON lists answer the same caller,
in the same order, with identity and phone numbers and ids as text and days as dates.

Usage: tests/workbooks/check.py --binary PATH     (openpyxl 3.1.5 from PyPI)
"""

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time

import openpyxl

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "reliability"))
from client import call, free_port  # noqa: E402

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIOD = "from=2023-06-01&to=2024-01-31"
REPORTS = ["summary", "events", "assessments", "compliance"]
checks = 0


def check(cond, what):
    global checks
    if not cond:
        sys.exit(f"workbooks: FAILED: {what}")
    checks += 1


def workbook(base, token, path, lang):
    status, body, headers = call(base, "GET", path, token, headers={"accept-language": lang})
    headers = {k.lower(): v for k, v in headers.items()}
    check(status == 200, f"{path} ({lang}) answered {status}: {body!r:.200}")
    check(headers.get("content-type") == XLSX, f"{path}: content type {headers.get('content-type')}")
    check(headers.get("content-language") == lang, f"{path}: content language {headers.get('content-language')}")
    return openpyxl.load_workbook(io.BytesIO(body))


def national_id(region, birth_date, sequence="023"):
    """A valid 18-character national ID for this region and birth date (ISO 7064 MOD 11-2)."""
    body = region + birth_date.replace("-", "") + sequence
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


def every(base, token, path):
    """Every item of a paged JSON list, as `token` gets them, in the list's order."""
    join = "&" if "?" in path else "?"
    status, page, _ = call(base, "GET", f"{path}{join}limit=200", token)
    check(status == 200, f"{path}: {status} {page!r:.200}")
    items = page["items"]
    while page.get("next_cursor"):
        _, page, _ = call(base, "GET", f"{path}{join}limit=200&cursor={page['next_cursor']}", token)
        items += page["items"]
    return items


def table(ws, what):
    """The heading row's values and the rows under it; the headings frozen in place."""
    head = heading_row(ws)
    check(head is not None, f"{what}: a bold heading row")
    check(ws.freeze_panes == f"A{head + 1}", f"{what}: frozen below the headings ({ws.freeze_panes})")
    return [c.value for c in ws[head]], list(ws.iter_rows(min_row=head + 1))


def heading_row(ws):
    """The row of the table's headings: the first bold row after the block."""
    for row in ws.iter_rows(min_row=2, max_row=12):
        if row[0].value is not None and row[0].font.bold:
            return row[0].row
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tongxing-workbooks-")
    binary = os.path.join(work, "tongxing")
    shutil.copy(args.binary, binary)
    port = free_port()
    env = dict(os.environ, DATABASE_URL=f"sqlite://{work}/t.db", TONGXING_BIND=f"127.0.0.1:{port}", TONGXING_LOG="warn")
    subprocess.run([binary, "seed-demo"], env=env, check=True, capture_output=True)
    subprocess.run([binary, "create-admin", "--username", "admin"], env=env, check=True, capture_output=True,
                   input=b"admin-password-for-workbooks\n")
    log = open(os.path.join(work, "serve.log"), "wb")
    server = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if call(base, "GET", "/readyz")[0] == 200:
                break
            time.sleep(0.1)
        login = {"grant_type": "password", "username": "admin", "password": "admin-password-for-workbooks"}
        status, body, _ = call(base, "POST", "/api/v1/oauth/token", body=login)
        check(status == 200, f"login: {status} {body}")
        admin = body["access_token"]
        status, org, _ = call(base, "POST", "/api/v1/organisations", admin,
                              {"name": "温泉社工站", "kind": "social_organisation"})
        check(status == 201, f"organisation: {status} {org}")
        user = {"username": "caseworker.xu", "display_name": "徐社工", "role": "caseworker",
                "organisation_id": org["id"], "password": "caseworker-password-1"}
        status, body, _ = call(base, "POST", "/api/v1/users", admin, user)
        check(status == 201, f"caseworker: {status} {body}")
        status, body, _ = call(base, "POST", "/api/v1/oauth/token",
                               body={"grant_type": "password", "username": "caseworker.xu", "password": "caseworker-password-1"})
        caseworker = body["access_token"]

        titles = {"zh-CN": "项目汇总", "en": "Programme summary"}
        for lang in ["zh-CN", "en"]:
            for name in REPORTS:
                wb = workbook(base, admin, f"/api/v1/reports/{name}?{PERIOD}&format=xlsx", lang)
                check(len(wb.worksheets) >= 1, f"{name}: sheets")
                if name == "events":
                    check(len(wb.worksheets) >= 4, f"events: a sheet per section, got {wb.sheetnames}")
                for ws in wb.worksheets:
                    check(ws["A1"].font.bold and ws["A1"].value, f"{name}/{ws.title}: a bold title")
                    check(ws["B2"].value and "2023-06-01" in ws["B2"].value and "2024-01-31" in ws["B2"].value,
                          f"{name}/{ws.title}: the period in the block, got {ws['B2'].value!r}")
                    head = heading_row(ws)
                    check(head is not None, f"{name}/{ws.title}: a bold heading row")
                    check(ws.freeze_panes == f"A{head + 1}", f"{name}/{ws.title}: frozen below the headings ({ws.freeze_panes})")
                    for row in ws.iter_rows(min_row=head + 1):
                        for cell in row:
                            check(cell.data_type != "f", f"{name}/{ws.title}!{cell.coordinate}: a formula")
                            if isinstance(cell.value, str):
                                check(cell.data_type in ("s", "inlineStr"), f"{cell.coordinate}: text")
                    check(ws.column_dimensions["A"].width >= 8, f"{name}/{ws.title}: a column width")
                if name == "summary":
                    ws = wb.worksheets[0]
                    check(ws["A1"].value == titles[lang], f"summary title {ws['A1'].value!r}")
                    head = heading_row(ws)
                    first = [c.value for c in ws[head + 1]]
                    # The JSON report's own figure, as a number.
                    _, js, _ = call(base, "GET", f"/api/v1/reports/summary?{PERIOD}", admin)
                    check(first[1] == js["children_registered"] == 106 and isinstance(first[1], int | float),
                          f"summary: children registered as a number, got {first!r}")
                    words = "建档立卡儿童数" if lang == "zh-CN" else "Children registered"
                    check(first[0] == words, f"summary: the label in {lang}, got {first[0]!r}")

        # A caseworker may not read the children counted: small cells are withheld, and the note
        # says so, in the workbook as in JSON (in a month of the demo whose figures are small).
        months = [("2023-%02d-01" % m, "2023-%02d-%02d" % (m, 30 if m in (6, 9, 11) else 31)) for m in range(6, 13)]
        for first, last in months:
            period = f"from={first}&to={last}"
            _, js, _ = call(base, "GET", f"/api/v1/reports/summary?{period}", caseworker)
            if (js.get("suppression") or {}).get("suppressed"):
                break
        else:
            check(False, "no month of the demo withholds a cell from a caseworker: the check proves nothing")
        wb = workbook(base, caseworker, f"/api/v1/reports/summary?{period}&format=xlsx", "en")
        ws = wb.worksheets[0]
        rows = [[c.value for c in r] for r in ws.iter_rows(min_row=heading_row(ws) + 1)]
        check(any(r[0] == "Note" and r[1] for r in rows), f"caseworker: the note row, rows {rows[-3:]!r}")
        empty = sum(1 for r in rows if r[0] and r[0] != "Note" and r[1] is None)
        check(empty >= 1, f"caseworker: empty withheld cells ({period})")
        nulls = sum(1 for k in ("children_registered", "children_visited", "children_attending_events", "children_assessed") if js.get(k) is None)
        head = [r for r in rows[:13]]
        check(sum(1 for r in head if r[1] is None) >= nulls, f"caseworker: the JSON's {nulls} withheld totals are empty too")
        # The children's workbook: every child the caller may read, as the list answers them.
        _, some, _ = call(base, "GET", "/api/v1/children?limit=1", admin)
        child = {"region_id": some["items"][0]["region_id"], "name": "周小雨", "sex": "female",
                 "birth_date": "2014-03-02", "national_id": "421202201403020043", "categories": ["left_behind"],
                 "health_notes": "哮喘，随身带药"}
        status, body, _ = call(base, "POST", "/api/v1/children", admin, child)
        check(status == 201, f"a child with a national ID: {status} {body}")
        child = dict(child, name="=SUM(1,2)小雨", national_id=None)
        status, body, _ = call(base, "POST", "/api/v1/children", admin, child)
        check(status == 201, f"a child whose name looks like a formula: {status} {body}")
        wb = workbook(base, admin, "/api/v1/children.xlsx", "zh-CN")
        ws = wb.worksheets[0]
        head = heading_row(ws)
        names = [c.value for c in ws[head]]
        check(names[:5] == ["档案编号", "姓名", "性别", "出生日期", "身份证号"], f"children headings {names!r}")
        check(ws.freeze_panes == f"A{head + 1}", "children: frozen headings")
        rows = list(ws.iter_rows(min_row=head + 1))
        _, listed, _ = call(base, "GET", "/api/v1/children?limit=200", admin)
        total = len(listed["items"])
        while listed.get("next_cursor"):
            _, listed, _ = call(base, "GET", f"/api/v1/children?limit=200&cursor={listed['next_cursor']}", admin)
            total += len(listed["items"])
        check(len(rows) == total, f"children: {len(rows)} rows for {total} children")
        ids = [r for r in rows if r[4].value]
        check(ids and all(r[4].data_type == "s" and len(r[4].value) == 18 for r in ids),
              f"children: national ID numbers as text, whole for an administrator: {[(r[4].value, r[4].data_type) for r in ids[:3]]!r}")
        check(all(r[3].is_date for r in rows), "children: birth dates as dates")
        check(all(r[2].value in ("男", "女") for r in rows), "children: sex as a word")
        formula = [r[1] for r in rows if r[1].value == "=SUM(1,2)小雨"]
        check(len(formula) == 1 and formula[0].data_type == "s", "children: a name starting with = stays text")

        # The contacts' workbook: every contact the list answers, kinds in words, the child named.
        wb = workbook(base, admin, "/api/v1/contacts.xlsx?from=2023-06-01&to=2024-01-31", "zh-CN")
        ws = wb.worksheets[0]
        head = heading_row(ws)
        rows = list(ws.iter_rows(min_row=head + 1))
        _, listed, _ = call(base, "GET", "/api/v1/contacts?limit=200&from=2023-06-01&to=2024-01-31", admin)
        total, named = len(listed["items"]), set()
        while listed.get("next_cursor"):
            _, listed, _ = call(base, "GET", f"/api/v1/contacts?limit=200&from=2023-06-01&to=2024-01-31&cursor={listed['next_cursor']}", admin)
            total += len(listed["items"])
        check(len(rows) == total > 0, f"contacts: {len(rows)} rows for {total} contacts")
        kinds = {r[1].value for r in rows}
        check(kinds and kinds <= {"电话走访", "入户走访", "到校走访", "到中心探访"}, f"contacts: kinds in words {kinds!r}")
        check(all(len(r[0].value) == 16 and r[0].value[4] == "-" for r in rows), "contacts: times as written")
        check(any(r[3].value for r in rows), "contacts: the child named")

        # A mentor sees the paired children alone, national IDs masked, notes withheld.
        user = {"username": "mentor.he", "display_name": "何导师", "role": "mentor", "password": "mentor-password-1"}
        status, body, _ = call(base, "POST", "/api/v1/users", admin, user)
        check(status == 201, f"mentor user: {status} {body}")
        mentor_user = body["id"]
        _, pairings, _ = call(base, "GET", "/api/v1/pairings?limit=200", admin)
        active = [p for p in pairings["items"] if p.get("status") == "active"]
        check(active, "the demo has an active pairing")
        mentor_id = active[0]["mentor_id"]
        status, mentor, headers = call(base, "GET", f"/api/v1/mentors/{mentor_id}", admin)
        etag = {k.lower(): v for k, v in headers.items()}.get("etag")
        edit = {k: mentor.get(k) for k in ("region_id", "name", "organisation", "phone", "email", "notes", "active")}
        edit["user_id"] = mentor_user
        status, body, _ = call(base, "PUT", f"/api/v1/mentors/{mentor_id}", admin, edit, headers={"if-match": etag})
        check(status == 200, f"mentor linked: {status} {body}")
        status, body, _ = call(base, "POST", "/api/v1/oauth/token",
                               body={"grant_type": "password", "username": "mentor.he", "password": "mentor-password-1"})
        mentor_token = body["access_token"]
        # One of the mentor's children gets a national ID, so that masking has something to mask.
        _, own, _ = call(base, "GET", "/api/v1/children?limit=1", mentor_token)
        check(own["items"], "the mentor's pairing shows a child")
        paired = own["items"][0]["id"]
        status, full, headers = call(base, "GET", f"/api/v1/children/{paired}", admin)
        etag = {k.lower(): v for k, v in headers.items()}.get("etag")
        edit = {k: full.get(k) for k in ("household_id", "region_id", "name", "sex", "birth_date", "categories",
                                         "school", "health_notes", "disability_notes")}
        edit["national_id"] = national_id("421202", full["birth_date"])
        edit["health_notes"] = "对花粉过敏"
        status, body, _ = call(base, "PUT", f"/api/v1/children/{paired}", admin, edit, headers={"if-match": etag})
        check(status == 200, f"a national ID for the mentor's child: {status} {body}")
        _, own, _ = call(base, "GET", "/api/v1/children?limit=200", mentor_token)
        wb = workbook(base, mentor_token, "/api/v1/children.xlsx", "en")
        ws = wb.worksheets[0]
        head = heading_row(ws)
        rows = list(ws.iter_rows(min_row=head + 1))
        check(len(rows) == len(own["items"]) >= 1, f"mentor: {len(rows)} rows for {len(own['items'])} children")
        masked = [r[4].value for r in rows if r[4].value]
        check(masked and all("*" in v and v[-4:] == edit["national_id"][-4:] for v in masked),
              f"mentor: national IDs masked, got {masked!r}")
        check(all(r[11].value is None and r[12].value is None for r in rows), "mentor: notes withheld")
        check(sorted(r[14].value for r in rows) == sorted(c["id"] for c in own["items"]), "mentor: the list's children")

        # The households' workbook: the list's households, in its order, for an administrator and
        # for a caseworker who holds one child's case (the other households are not theirs).
        status, me, _ = call(base, "GET", "/api/v1/me", caseworker)
        check(status == 200, f"the caseworker's account: {status} {me}")
        held = next(c for c in every(base, admin, "/api/v1/children") if c.get("household_id") and c["id"] != paired)
        status, full, headers = call(base, "GET", f"/api/v1/children/{held['id']}", admin)
        etag = {k.lower(): v for k, v in headers.items()}.get("etag")
        edit = {k: full.get(k) for k in ("household_id", "region_id", "name", "sex", "birth_date", "categories",
                                         "national_id", "school", "health_notes", "disability_notes")}
        edit.update(organisation_id=org["id"], caseworker_id=me["id"])
        status, body, _ = call(base, "PUT", f"/api/v1/children/{held['id']}", admin, edit, headers={"if-match": etag})
        check(status == 200, f"a case for the caseworker: {status} {body}")
        headings = {"zh-CN": ["村/社区", "地址", "父母外出务工", "首要联系监护人", "与儿童关系", "联系电话"],
                    "en": ["Village or community", "Address", "Parents work away", "Guardian to reach first",
                           "Relation to the child", "Phone"]}
        yes_no = {"zh-CN": ("是", "否"), "en": ("Yes", "No")}
        everyone = every(base, admin, "/api/v1/households")
        for token, who, lang in [(admin, "admin", "zh-CN"), (admin, "admin", "en"), (caseworker, "caseworker", "en")]:
            listed = everyone if token == admin else every(base, token, "/api/v1/households")
            what = f"households ({who}, {lang})"
            wb = workbook(base, token, "/api/v1/households.xlsx", lang)
            names, rows = table(wb.worksheets[0], what)
            check(names[:6] == headings[lang] and names[9] in ("家庭编号", "Household id"), f"{what}: headings {names!r}")
            check([r[9].value for r in rows] == [h["id"] for h in listed] and rows,
                  f"{what}: {len(rows)} rows, the list's {len(listed)} households in its order")
            check(all(r[9].data_type == "s" for r in rows), f"{what}: ids as text")
            phones = [r[5] for r in rows if r[5].value]
            check(phones and all(p.data_type == "s" and p.value.isdigit() for p in phones),
                  f"{what}: phone numbers as text: {[(p.value, p.data_type) for p in phones[:3]]!r}")
            for r, h in zip(rows, listed):
                first = next((g for g in h["guardians"] if g["is_primary"]), (h["guardians"] or [{}])[0])
                check(r[3].value == first.get("name") and r[5].value == first.get("phone"),
                      f"{what}: the guardian to reach first of {h['id']}: {[c.value for c in r[3:6]]!r}")
                check(r[1].value == h["address"], f"{what}: the address of {h['id']}")
            check(all(r[8].is_date for r in rows), f"{what}: the day recorded as a date")
            check(all(r[2].value in yes_no[lang] for r in rows), f"{what}: parents away in words")
        check(0 < len(listed) < len(everyone), f"households: the caseworker's {len(listed)} of {len(everyone)}")

        # The home-visit requests' workbook: a request on the mentor's pairing and one on another
        # mentor's, in a statutory holiday ahead; the mentor's workbook holds theirs alone.
        year = time.gmtime().tm_year + 2
        holiday = {"year": year, "holiday": "national_day", "first_day": f"{year}-10-01", "last_day": f"{year}-10-07"}
        status, body, _ = call(base, "POST", "/api/v1/holidays", admin, holiday)
        check(status in (201, 409), f"a holiday ahead: {status} {body}")
        other = next(p for p in active if p["mentor_id"] != mentor_id)
        made = {}
        for token, pairing in [(mentor_token, active[0]), (admin, other)]:
            visit = {"pairing_id": pairing["id"], "leaves_at": f"{year}-10-02T09:00:00+08:00",
                     "returns_at": f"{year}-10-02T18:00:00+08:00", "address": "咸安区温泉街道某小区3栋",
                     "transport": "导师自驾", "supervisor": "李建华", "emergency_contact_name": "福利中心值班室",
                     "emergency_contact_phone": "07158000000"}
            status, body, _ = call(base, "POST", "/api/v1/home-visit-requests", token, visit)
            check(status == 201, f"a home-visit request: {status} {body}")
            made[pairing["id"]] = body["id"]
        headings = {"zh-CN": ["出发时间", "返回时间", "申请状态", "儿童", "地址"],
                    "en": ["Leaves at", "Returns at", "Status", "Child", "Address"]}
        requested = {"zh-CN": "已申请", "en": "Requested"}
        for token, who, lang in [(admin, "admin", "zh-CN"), (admin, "admin", "en"), (mentor_token, "mentor", "en")]:
            _, listed, _ = call(base, "GET", "/api/v1/home-visit-requests", token)
            listed = listed["items"]
            what = f"home-visit requests ({who}, {lang})"
            wb = workbook(base, token, "/api/v1/home-visit-requests.xlsx", lang)
            names, rows = table(wb.worksheets[0], what)
            check(names[:5] == headings[lang] and len(names) == 22, f"{what}: headings {names!r}")
            ids = [r[21].value for r in rows]
            check(ids == [v["id"] for v in listed], f"{what}: the list's requests in its order, got {ids!r}")
            check((made[other["id"]] in ids) == (who == "admin") and made[active[0]["id"]] in ids,
                  f"{what}: another mentor's request only for the administrator")
            for r, v in zip(rows, listed):
                check(r[8].value == v["emergency_contact_phone"] and r[8].data_type == "s",
                      f"{what}: the emergency phone as text, got {(r[8].value, r[8].data_type)!r}")
                check(all(r[i].data_type == "s" for i in (17, 19, 20, 21)), f"{what}: ids as text")
                check(r[19].value == v["child_id"] and r[3].value, f"{what}: the child, by id and name")
                check(len(r[0].value) == 16 and r[0].value.startswith(f"{year}-10-02 09:00"),
                      f"{what}: times in Asia/Shanghai as written, got {r[0].value!r}")
                check(r[2].value == requested[lang], f"{what}: the status in words, got {r[2].value!r}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print(f"workbooks: {checks} checks passed (4 reports in zh-CN and en, a caseworker's withheld cells, "
          "the children's workbook for an administrator and a mentor, the contacts' workbook, "
          "the households' for an administrator and a caseworker, the home-visit requests' for an "
          "administrator and a mentor)")


if __name__ == "__main__":
    main()
