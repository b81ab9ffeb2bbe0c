"""An integrator's session, written against the Python SDK generated from openapi/openapi.json.

Run by sdks/python/run.sh against a live service: log in, create a household (and retry the
create with the same Idempotency-Key), create a child, log a contact, read the child with its
ETag (and again with If-None-Match: 304), update it with If-Match (and see a stale one
refused), hit a malformed request (400) and a reference to nothing (422) and read their problem
fields, in Chinese (Accept-Language: zh-CN), page through a list, and download a report as CSV.
Then read answers holding enum values added after the SDK was generated (a child, a page, a
problem), as an older client would see them: they parse, and keep the new value.
"""

import datetime
import json
import sys
import uuid

import httpx

from tongxing_client import AuthenticatedClient, Client
from tongxing_client.api.auth import create_oauth_token
from tongxing_client.api.children import create_child, get_child, list_children, update_child
from tongxing_client.api.contacts import create_contact
from tongxing_client.api.households import create_household
from tongxing_client.api.regions import list_regions
from tongxing_client.api.children import export_children
from tongxing_client.api.reports import get_summary_report_csv
from tongxing_client.models import (
    CaseStatus,
    Category,
    Child,
    ChildInput,
    ChildPage,
    ContactInput,
    ContactKind,
    ContactOutcome,
    Guardian,
    HouseholdInput,
    Problem,
    ProblemCode,
    RegionLevel,
    Relation,
    Sex,
    OAuthGrantType,
    OAuthTokenRequest,
)


steps = 0


def check(condition, message):
    global steps
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)
    steps += 1


class Tampering(httpx.BaseTransport):
    """Forwards every request to the real service; once armed with `edit`, rewrites the JSON of
    the next answer with it. Stands in for a service that has added enum values since this SDK
    was generated (README.md, "Versioning policy": enums in answers are open for additions)."""

    def __init__(self):
        self.inner = httpx.HTTPTransport()
        self.edit = None

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        edit, self.edit = self.edit, None
        if edit is None:
            return response
        body = json.loads(response.read())
        response.close()
        edit(body)
        headers = [(k, v) for k, v in response.headers.multi_items() if k not in ("content-length", "content-encoding")]
        return httpx.Response(response.status_code, headers=headers, content=json.dumps(body).encode(), request=request)

    def close(self):
        self.inner.close()


def tolerant(what, call):
    """The call's answer, or a failed check if the SDK refuses an unknown enum value."""
    try:
        return call()
    except ValueError as e:
        check(False, f"{what}: the SDK refuses an enum value added later: {e!r}")


def case_status_label(status):
    """How an integrator branches on an enum: the known values, and a default for later ones."""
    match status:
        case CaseStatus.SCREENING | CaseStatus.REGISTERED | CaseStatus.ACTIVE | CaseStatus.CLOSED:
            return status.value
        case _:
            return f"other ({status.value})"


def main(base_url, username, password):
    tokens = create_oauth_token.sync(
        client=Client(base_url=base_url),
        body=OAuthTokenRequest(grant_type=OAuthGrantType.PASSWORD, username=username, password=password),
    )
    check(tokens is not None and tokens.token_type == "Bearer", "log in")
    # Problems in Simplified Chinese (the default too), codes and field names in English.
    api = AuthenticatedClient(base_url=base_url, token=tokens.access_token, headers={"Accept-Language": "zh-CN"})

    villages = list_regions.sync(client=api, level=RegionLevel.VILLAGE, q="柏墩村")
    village = villages.items[0].id

    household_input = HouseholdInput(
        region_id=village,
        address="柏墩村三组12号",
        parents_work_away=True,
        guardians=[Guardian(name="王秀英", relation=Relation.GRANDMOTHER, phone="13800000000", is_primary=True)],
    )
    key = str(uuid.uuid4())
    household = create_household.sync(client=api, body=household_input, idempotency_key=key)
    check(household.guardians[0].name == "王秀英", "create a household")
    retry = create_household.sync_detailed(client=api, body=household_input, idempotency_key=key)
    check(
        retry.parsed.id == household.id and retry.headers.get("idempotent-replayed") == "true",
        "a retry with the same key answers the first answer, and creates nothing",
    )

    child_input = ChildInput(
        region_id=village,
        household_id=household.id,
        name="王小花",
        sex=Sex.FEMALE,
        birth_date=datetime.date(2014, 9, 10),
        categories=[Category.LEFT_BEHIND],
    )
    child = create_child.sync(client=api, body=child_input, idempotency_key=str(uuid.uuid4()))
    check(child.status.value == "screening", "create a child")

    contact = create_contact.sync(
        client=api,
        body=ContactInput(
            kind=ContactKind.PHONE_VISIT,
            household_id=household.id,
            occurred_at=datetime.datetime(2023, 11, 20, 2, 30, tzinfo=datetime.timezone.utc),
            outcome=ContactOutcome.COMPLETED,
        ),
        idempotency_key=str(uuid.uuid4()),
    )
    check(contact.household_id == household.id, "log a contact")

    read = get_child.sync_detailed(client=api, id=child.id)
    etag = read.headers.get("etag")
    check(read.status_code == 200 and etag == '"1"', "read the child with its ETag")
    cached = get_child.sync_detailed(client=api, id=child.id, if_none_match=etag)
    check(cached.status_code == 304 and not cached.content, "a read of a copy still current is 304")

    child_input.school = "桂花镇中心小学"
    updated = update_child.sync_detailed(client=api, id=child.id, body=child_input, if_match=etag)
    check(updated.status_code == 200 and updated.parsed.school == "桂花镇中心小学", "update with If-Match")
    stale = update_child.sync_detailed(client=api, id=child.id, body=child_input, if_match=etag)
    check(stale.status_code == 412 and isinstance(stale.parsed, Problem), "a stale If-Match is refused")
    check(stale.parsed.code == "stale_version", "the problem carries its code")
    check(stale.parsed.detail.startswith("记录在你读取之后已被修改"), f"in Chinese: {stale.parsed.detail}")

    bad = ChildInput(region_id=village, name="", sex=Sex.MALE, birth_date=datetime.date(2015, 1, 1), categories=[])
    refused = create_child.sync_detailed(client=api, body=bad)
    check(refused.status_code == 400 and isinstance(refused.parsed, Problem), "a validation error")
    fields = sorted(e.field for e in refused.parsed.errors)
    check(fields == ["categories", "name"], f"the problem lists each bad field: {fields}")
    name = next(e for e in refused.parsed.errors if e.field == "name")
    check(name.message == "name 的长度须在 1 到 100 之间", f"the Chinese message names the bounds: {name.message}")
    check(name.params.to_dict() == {"min": 1, "max": 100}, f"and so do its params: {name.params}")
    nowhere = ContactInput(
        kind=ContactKind.PHONE_VISIT,
        household_id=uuid.uuid4(),
        occurred_at=datetime.datetime(2023, 11, 20, 2, 30, tzinfo=datetime.timezone.utc),
        outcome=ContactOutcome.COMPLETED,
    )
    unknown = create_contact.sync_detailed(client=api, body=nowhere)
    check(unknown.status_code == 422 and isinstance(unknown.parsed, Problem), "a reference to nothing is 422")
    check(
        [(e.field, e.code) for e in unknown.parsed.errors] == [("household_id", "not_found")],
        f"the problem names the field: {unknown.parsed.errors}",
    )
    check(unknown.parsed.errors[0].message == "household_id 指向的记录不存在或无权访问", "a field message in Chinese")

    for i in range(4):
        create_child.sync(
            client=api,
            body=ChildInput(region_id=village, name=f"孩子{i}", sex=Sex.MALE, birth_date=datetime.date(2015, 1, 1), categories=[Category.IN_DIFFICULTY]),
        )
    seen, cursor, pages = [], None, 0
    while True:
        page = list_children.sync(client=api, limit=2, cursor=cursor) if cursor else list_children.sync(client=api, limit=2)
        pages += 1
        seen.extend(c.name for c in page.items)
        cursor = page.next_cursor if isinstance(page.next_cursor, str) else None
        if not cursor:
            break
    check(len(seen) == 5 and pages == 3, f"page through a list: {seen} in {pages} pages")

    csv = get_summary_report_csv.sync(client=api, from_=datetime.date(2023, 1, 1))
    check(isinstance(csv, str) and "\n建档立卡儿童数," in csv, "download a report as CSV, its labels in Chinese")
    workbook = export_children.sync(client=api)
    check(workbook is not None and workbook.payload.read()[:2] == b"PK", "download the children as an Excel workbook")

    # An older client reading answers with enum values added later: one field in one answer,
    # rewritten on its way back from the real service.
    tampering = Tampering()
    newer = AuthenticatedClient(
        base_url=base_url,
        token=tokens.access_token,
        headers={"Accept-Language": "zh-CN"},
        httpx_args={"transport": tampering},
    )

    def transfer(body):
        body["status"] = "transferred_out"
        body["categories"].append("kinship_care")

    tampering.edit = transfer
    moved = tolerant("a child with a new status", lambda: get_child.sync_detailed(client=newer, id=child.id))
    check(moved.status_code == 200 and isinstance(moved.parsed, Child), "a child with a new status parses")
    check(moved.parsed.status.value == "transferred_out", f"the new status is kept: {moved.parsed.status!r}")
    check(moved.parsed.status not in list(CaseStatus), "and it is none of the statuses the SDK knows")
    check(case_status_label(moved.parsed.status) == "other (transferred_out)", "code branching on it takes its default")
    check(
        [c.value for c in moved.parsed.categories] == ["left_behind", "kinship_care"],
        f"a new value in an enum array is kept: {moved.parsed.categories}",
    )
    sent = moved.parsed.to_dict()
    check(
        sent["status"] == "transferred_out" and sent["categories"] == ["left_behind", "kinship_care"],
        f"to_dict() sends the new values back unchanged: {sent['status']}, {sent['categories']}",
    )

    tampering.edit = lambda body: body["items"][0].update(sex="unspecified")
    page = tolerant("a page with a new value in one item", lambda: list_children.sync(client=newer, limit=2))
    check(isinstance(page, ChildPage) and len(page.items) == 2, "a page with a new value in one item parses")
    check(page.items[0].sex.value == "unspecified", f"the new value is kept: {page.items[0].sex!r}")
    check(page.items[1].sex in (Sex.FEMALE, Sex.MALE), "and the other items are as they were")

    tampering.edit = lambda body: body.update(code="edited_elsewhere")
    newer_stale = tolerant(
        "a problem with a new code",
        lambda: update_child.sync_detailed(client=newer, id=child.id, body=child_input, if_match=etag),
    )
    check(
        newer_stale.status_code == 412 and isinstance(newer_stale.parsed, Problem),
        "a problem with a new code parses",
    )
    check(
        newer_stale.parsed.code.value == "edited_elsewhere" and newer_stale.parsed.code not in list(ProblemCode),
        f"the new code is kept: {newer_stale.parsed.code!r}",
    )
    check(newer_stale.parsed.detail.startswith("记录在你读取之后已被修改"), "with the rest of the problem as sent")
    print(f"python SDK scenario: {steps} steps passed")


if __name__ == "__main__":
    main(*sys.argv[1:4])
