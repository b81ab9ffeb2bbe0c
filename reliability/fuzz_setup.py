"""Prepares one role's contract-fuzzing run on a service loaded with the demo dataset.

As the administrator that reliability/contract.sh created, it adds what the demo lacks for the
domain to be reached (a holiday ahead, home-visit requests in each open state, a pair of
children sharing a national ID number, an API client), gives the role an account that holds
data, signs in as that role, and lists, with the role's own token, the records it reaches. It
writes all that to <out>/ids.json for reliability/fuzz_hooks.py, and the number of requests it
sent that got an answer to <out>/setup_requests (the service counts each of them).

Usage: fuzz_setup.py --base URL --contract openapi.json --role ROLE --admin USER --password PASS
                     --seed S --out DIR
Roles: admin, coordinator, caseworker, mentor, volunteer, partner (an API client).
"""

import argparse
import datetime
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client import call  # noqa: E402

ROLES = ["admin", "coordinator", "caseworker", "mentor", "volunteer", "partner"]
# The password every account of the run gets; the fuzzer never learns it.
PASSWORD = "contract-fuzz-passphrase"


class Api:
    """client.call, counting every request that got an answer (the service counts those)."""

    def __init__(self, base):
        self.base = base
        self.answered = 0
        self.unanswered = 0

    def __call__(self, method, path, token=None, body=None, headers=None, expect=None):
        status, data, hdrs = call(self.base, method, path, token=token, body=body, headers=headers, timeout=60)
        if status == 0:
            self.unanswered += 1
        else:
            self.answered += 1
        if expect is not None and status not in expect:
            raise SystemExit(f"setup: {method} {path} answered {status}: {json.dumps(data, ensure_ascii=False)[:400]}")
        return status, data, {k.lower(): v for k, v in hdrs.items()}


def pool_name(path):
    """The pool of a collection path: /api/v1/compliance/exemptions -> compliance/exemptions."""
    return path[len("/api/v1/"):] if path.startswith("/api/v1/") else path.strip("/")


def items_of(data):
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        return data["items"], data.get("next_cursor")
    if isinstance(data, list):
        return data, None
    return [], None


def list_all(api, token, path, query="", pages=3, paged=True):
    """Up to `pages` pages of a list (200 a page), or None when the caller may not list it."""
    out, cursor = [], None
    for _ in range(pages):
        q = [query] if query else []
        if paged:
            q.append("limit=200")
        if cursor:
            q.append(f"cursor={cursor}")
        status, data, _ = api("GET", f"{path}?{'&'.join(q)}" if q else path, token=token)
        if status != 200:
            return None if not out else out
        items, cursor = items_of(data)
        out.extend(items)
        if not cursor:
            break
    return out


def login(api, username):
    _, data, _ = api("POST", "/api/v1/auth/token",
                     body={"grant_type": "password", "username": username, "password": PASSWORD}, expect=[200])
    return data["access_token"]


def set_password(api, admin, user_id):
    api("POST", f"/api/v1/users/{user_id}/password", token=admin, body={"password": PASSWORD}, expect=[200])


def national_id(region, birth, seq):
    """A valid 18-character resident identity number (GB 11643 check character)."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]


def child_input(c, **changes):
    """A child's record as the body of its PUT, with `changes`."""
    keys = ["region_id", "name", "sex", "birth_date", "categories", "household_id", "national_id", "school",
            "health_notes", "disability_notes", "organisation_id", "caseworker_id"]
    body = {k: c.get(k) for k in keys}
    body.update(changes)
    return body


def put_record(api, admin, path, record, body):
    api("PUT", path, token=admin, body=body, headers={"If-Match": f'"{record["version"]}"'}, expect=[200])


def enrich(api, admin, users, rng):
    """What the demo lacks for every operation to have something to act on."""
    today = datetime.date.today()
    year = today.year + 1
    # A statutory holiday ahead (the demo's end with this year), so home visits can be requested.
    status, data, _ = api("POST", "/api/v1/holidays", token=admin, body={
        "year": year, "holiday": "labour_day", "first_day": f"{year}-05-01", "last_day": f"{year}-05-05",
        "makeup_workdays": []}, expect=[201, 409])
    pairings = list_all(api, admin, "/api/v1/pairings", "status=active") or []
    # Home-visit requests in each open state: requested, consented, consented with the whole
    # checklist (to approve or reject), approved (to complete or cancel).
    items = ["supervising_adult_present", "home_environment_checked", "transport_arranged",
             "emergency_contact_reachable", "child_needs_briefed", "return_time_agreed"]
    # Most are ready to approve or approved: the steps that need those states come last.
    states = [0] * 5 + [1] * 5 + [2] * 8 + [3] * 6
    for i, (p, state) in enumerate(zip(pairings, states)):
        _, visit, hdrs = api("POST", "/api/v1/home-visit-requests", token=admin, body={
            "pairing_id": p["id"], "leaves_at": f"{year}-05-0{1 + i % 3}T09:00:00+08:00",
            "returns_at": f"{year}-05-0{2 + i % 3}T17:00:00+08:00", "address": "咸宁市咸安区温泉路1号",
            "transport": "公交", "supervisor": "王老师", "emergency_contact_name": "李阿姨",
            "emergency_contact_phone": "13900001111"}, expect=[201])
        vid, etag = visit["id"], hdrs.get("etag")
        if state >= 1:
            _, _, hdrs = api("POST", f"/api/v1/home-visit-requests/{vid}/consent", token=admin, headers={"If-Match": etag},
                             body={"given_by": "福利中心负责人", "relation": "institution",
                                   "given_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}, expect=[200])
            etag = hdrs.get("etag")
        if state >= 2:
            _, _, hdrs = api("POST", f"/api/v1/home-visit-requests/{vid}/checklist", token=admin, headers={"If-Match": etag},
                             body={"items": [{"item": it, "confirmed_by": "王老师"} for it in items]}, expect=[200])
            etag = hdrs.get("etag")
        if state >= 3:
            api("POST", f"/api/v1/home-visit-requests/{vid}/approve", token=admin, headers={"If-Match": etag}, expect=[200])
    # Two records of one child (the same national ID number), the second made by a caseworker
    # who cannot see the first: the pair waits for a coordinator's review.
    regions = list_all(api, admin, "/api/v1/regions") or []
    villages = [r for r in regions if r.get("level") == "village"]
    nid = national_id("421202", datetime.date(2014, 3, 15), 100 + rng.randrange(800))
    caseworker = next(u for u in users if u["role"] == "caseworker")
    set_password(api, admin, caseworker["id"])
    for token in (admin, login(api, caseworker["username"])):
        api("POST", "/api/v1/children", token=token, body={
            "region_id": villages[0]["id"], "name": "张晓", "sex": "female",
            "birth_date": "2014-03-15", "categories": ["left_behind"], "national_id": nid}, expect=[201])
    # Proposed pairings (the demo's are all active), to start or withdraw: demo mentors with
    # children in screening.
    screening = list_all(api, admin, "/api/v1/children", "status=screening") or []
    for p, c in zip(pairings[-4:], screening[:4]):
        api("POST", "/api/v1/pairings", token=admin, body={"mentor_id": p["mentor_id"], "child_id": c["id"]},
            expect=[201])
    # Two events ahead (the demo's are all over), with volunteers on their rosters.
    events = list_all(api, admin, "/api/v1/events") or []
    volunteers = list_all(api, admin, "/api/v1/volunteers") or []
    # Their clearances renewed (the demo's have expired by now).
    cleared = {"on": (today - datetime.timedelta(days=30)).isoformat(), "expires_on": f"{year + 1}-12-31"}
    for v in volunteers[:6]:
        body = {k: v.get(k) for k in ["name", "source", "organisation_id", "phone", "skills", "user_id", "active"]}
        put_record(api, admin, f"/api/v1/volunteers/{v['id']}", v,
                   dict(body, background_check=cleared, safety_training=cleared))
    for n in range(2):
        _, e, _ = api("POST", "/api/v1/events", token=admin, body={
            "title": f"寒假阅读陪伴 {n + 1}", "event_type": "care", "programme": "five_plus_n",
            "starts_at": f"{year}-01-1{n}T09:00:00+08:00", "ends_at": f"{year}-01-1{n}T11:30:00+08:00",
            "region_id": villages[n]["id"], "organiser_id": events[-1]["organiser_id"], "with_children": True,
            "service_forms": ["reading_companionship"]}, expect=[201])
        for i, v in enumerate(volunteers[n * 3:n * 3 + 3]):
            api("POST", f"/api/v1/events/{e['id']}/roster", token=admin,
                body={"volunteer_id": v["id"], "role": "lead" if i == 0 else "volunteer"}, expect=[201])
    # Accounts of the mentor and volunteer roles that no mentor or volunteer is linked to yet.
    for role in ("mentor", "volunteer"):
        for n in range(3):
            api("POST", "/api/v1/users", token=admin, body={
                "username": f"spare.{role}.{n}", "display_name": f"spare {role} {n}", "role": role,
                "password": PASSWORD}, expect=[201])
    return pairings


def organisation_named(orgs, kind):
    return next((o for o in orgs if o.get("kind") == kind), orgs[0])


def prepare_account(api, admin, role, users, pairings):
    """The role's account: (username, user id, the references it may only set to its own)."""
    by_name = {u["username"]: u for u in users}
    if role == "admin":
        me = api("GET", "/api/v1/me", token=admin, expect=[200])[1]
        return me["username"], me["id"], {}
    if role == "coordinator":
        u = by_name["demo.coordinator"]
        set_password(api, admin, u["id"])
        return u["username"], u["id"], {}
    if role == "caseworker":
        # The demo's cases are assigned to nobody and its caseworker works for no organisation:
        # make them staff of the organisation that runs most events, and give them a caseload:
        # the ten children in counselling, ten paired ones with home-visit requests, and thirty
        # others (so enrolments, pairings and home visits are reached too).
        u = by_name["demo.caseworker"]
        runs = {}
        for e in list_all(api, admin, "/api/v1/events") or []:
            runs[e["organiser_id"]] = runs.get(e["organiser_id"], 0) + 1
        org = max(sorted(runs), key=lambda o: runs[o])
        _, user, _ = api("GET", f"/api/v1/users/{u['id']}", token=admin, expect=[200])
        put_record(api, admin, f"/api/v1/users/{u['id']}", user, {
            "display_name": user["display_name"], "role": user["role"], "organisation_id": org,
            "region_id": user.get("region_id"), "active": True})
        set_password(api, admin, u["id"])
        enrolled = {e["child_id"] for e in list_all(api, admin, "/api/v1/counselling-enrolments") or []}
        paired = [p["child_id"] for p in pairings[:10]]
        children = list_all(api, admin, "/api/v1/children") or []
        chosen = [c for c in children if c["id"] in enrolled or c["id"] in paired]
        chosen += [c for c in children if c not in chosen][:30]
        for c in chosen:
            put_record(api, admin, f"/api/v1/children/{c['id']}", c, child_input(c, caseworker_id=u["id"]))
        return u["username"], u["id"], {"caseworker_id": u["id"], "organisation_id": org, "organiser_id": org}
    if role == "mentor":
        # Demo mentors have no sign-in account: link a new one to a mentor with an active pairing.
        _, u, _ = api("POST", "/api/v1/users", token=admin, body={
            "username": "fuzz.mentor", "display_name": "fuzz.mentor", "role": "mentor", "password": PASSWORD},
            expect=[201])
        pairing = (list_all(api, admin, "/api/v1/pairings", "status=active") or [])[0]
        _, m, _ = api("GET", f"/api/v1/mentors/{pairing['mentor_id']}", token=admin, expect=[200])
        body = {k: m.get(k) for k in ["name", "organisation", "phone", "email", "notes", "region_id", "active"]}
        body["user_id"] = u["id"]
        put_record(api, admin, f"/api/v1/mentors/{m['id']}", m, body)
        return u["username"], u["id"], {}
    if role == "volunteer":
        # Likewise for the volunteer on the most rosters.
        _, u, _ = api("POST", "/api/v1/users", token=admin, body={
            "username": "fuzz.volunteer", "display_name": "fuzz.volunteer", "role": "volunteer",
            "password": PASSWORD}, expect=[201])
        shifts = {}
        for e in list_all(api, admin, "/api/v1/events") or []:
            _, roster, _ = api("GET", f"/api/v1/events/{e['id']}/roster", token=admin, expect=[200])
            for entry in items_of(roster)[0]:
                shifts[entry["volunteer_id"]] = shifts.get(entry["volunteer_id"], 0) + 1
        vid = max(sorted(shifts), key=lambda v: shifts[v])
        _, v, _ = api("GET", f"/api/v1/volunteers/{vid}", token=admin, expect=[200])
        body = {k: v.get(k) for k in ["name", "source", "organisation_id", "phone", "skills", "background_check",
                                      "safety_training", "active"]}
        body["user_id"] = u["id"]
        put_record(api, admin, f"/api/v1/volunteers/{vid}", v, body)
        return u["username"], u["id"], {}
    raise AssertionError(role)


def prepare_partner(api, admin, contract_scopes):
    """An API client of the social-work centre, with every scope the contract lists, and guardians'
    consents to share twenty children's records with that centre."""
    orgs = list_all(api, admin, "/api/v1/organisations") or []
    org = organisation_named(orgs, "social_work_centre")
    children = list_all(api, admin, "/api/v1/children", "status=active") or []
    for c in children[:20]:
        api("POST", "/api/v1/consents", token=admin, body={
            "child_id": c["id"], "purpose": "data_sharing", "organisation_id": org["id"],
            "given_by_name": "监护人", "given_by_relation": "grandmother",
            "given_at": "2024-01-05T10:00:00+08:00"}, expect=[201])
    _, cred, _ = api("POST", "/api/v1/api-clients", token=admin, body={
        "organisation_id": org["id"], "name": "contract fuzzing", "scopes": contract_scopes}, expect=[201])
    return cred["client"]["id"], cred["client_secret"], org["id"]


# Reference fields whose ids are harvested from the records a role lists, by pool.
HARVEST = {
    "child_id": "children", "other_child_id": "children", "household_id": "households", "region_id": "regions",
    "mentor_id": "mentors", "pairing_id": "pairings", "organisation_id": "organisations",
    "event_id": "events", "enrolment_id": "counselling-enrolments", "volunteer_id": "volunteers",
    "rule_id": "cadence-rules", "holiday_id": "holidays", "caseworker_id": "users",
}


def gather(api, token, contract, role):
    """The ids the role reaches, by pool, listed with the role's own token."""
    pools, extra = {}, {"villages": [], "household_region": {}, "rule_subject": {}, "user_role": {},
                        "pairing_mentor": {}, "active_pairings": [], "org_kind": {},
                        "roster": {}}
    for path, item in contract["paths"].items():
        op = item.get("get")
        if not path.startswith("/api/v1/") or "{" in path or op is None:
            continue
        names = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
        # Every collection of records (the reports and /me are not).
        if not any(p.startswith(path + "/{") for p in contract["paths"]):
            continue
        records = list_all(api, token, path, paged="limit" in names)
        if records is None:
            continue
        name = pool_name(path)
        for r in records:
            if not isinstance(r, dict):
                continue
            if "id" in r:
                pools.setdefault(name, []).append(r["id"])
            for field, target in HARVEST.items():
                if isinstance(r.get(field), str):
                    pools.setdefault("seen:" + target, []).append(r[field])
            if name == "regions" and r.get("level") == "village":
                extra["villages"].append(r["id"])
            if name == "households":
                extra["household_region"][r["id"]] = r.get("region_id")
            if name == "cadence-rules":
                extra["rule_subject"][r["id"]] = r.get("subject")
            if name == "users":
                extra["user_role"][r["id"]] = r.get("role")
            if name == "organisations":
                extra["org_kind"][r["id"]] = r.get("kind")
            if name == "pairings":
                extra["pairing_mentor"][r["id"]] = r.get("mentor_id")
                if r.get("status") == "active":
                    extra["active_pairings"].append(r["id"])
    # Who attends and serves the role's events (a volunteer reaches children only so).
    for eid in (pools.get("events") or [])[:30]:
        for sub, field in (("roster", "volunteer_id"), ("attendance", "child_id")):
            status, data, _ = api("GET", f"/api/v1/events/{eid}/{sub}", token=token)
            if status == 200:
                for r in items_of(data)[0]:
                    if isinstance(r, dict) and r.get(field):
                        pools.setdefault("seen:" + HARVEST[field], []).append(r[field])
                        if sub == "roster":
                            extra["roster"].setdefault(eid, []).append(r[field])
    # Listed ids first; ids only seen in other records fill pools the role cannot list.
    for key in [k for k in pools if k.startswith("seen:")]:
        target = key[5:]
        seen = list(dict.fromkeys(pools.pop(key)))
        if not pools.get(target):
            pools[target] = seen
    return {k: list(dict.fromkeys(v)) for k, v in pools.items()}, extra


def callable_operations(api, token, contract, role, rng):
    """The operation ids the role may call, and those it may not. The guard refuses a role its
    rule does not admit (crates/api/src/api_v1.rs) with 403 `forbidden` before it reads the path's
    id or the body, so one request to each operation tells. The operations that need no token
    (health, metrics, signing keys, sign-in) do not depend on the role: only the admin run has
    them."""
    may, may_not = [], []
    for path, item in contract["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            if not op.get("security"):
                (may if role == "admin" else may_not).append(op["operationId"])
                continue
            if role == "admin":
                # Every rule admits administrators.
                may.append(op["operationId"])
                continue
            url = path.replace("{id}", "00000000-0000-4000-8000-%012d" % rng.randrange(10**12))
            status, data, _ = api(method.upper(), url, token=token, body={} if method in ("post", "put") else None)
            refused = status == 403 and isinstance(data, dict) and data.get("code") == "forbidden"
            (may_not if refused else may).append(op["operationId"])
    return may, may_not


def has_links(contract, operations):
    """Whether the contract links one of `operations` to another (the stateful phase needs it)."""
    for item in contract["paths"].values():
        for op in item.values():
            if not isinstance(op, dict) or op.get("operationId") not in operations:
                continue
            for response in op.get("responses", {}).values():
                for link in (response.get("links") or {}).values():
                    if link.get("operationId") in operations:
                        return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--contract", required=True)
    ap.add_argument("--role", required=True, choices=ROLES)
    ap.add_argument("--admin", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    contract = json.load(open(a.contract))
    rng = random.Random(a.seed)
    api = Api(a.base)
    try:
        _, data, _ = api("POST", "/api/v1/auth/token", body={
            "grant_type": "password", "username": a.admin, "password": a.password}, expect=[200])
        admin = data["access_token"]
        users = list_all(api, admin, "/api/v1/users") or []
        pairings = enrich(api, admin, users, rng)
        ids = {"role": a.role, "base": a.base, "seed": a.seed}
        if a.role == "partner":
            scopes = contract["components"]["schemas"]["ClientScope"]["enum"]
            client_id, secret, org = prepare_partner(api, admin, scopes)
            _, tok, _ = api("POST", "/api/v1/auth/client-token", body={
                "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                "scope": " ".join(scopes)}, expect=[200])
            ids.update(token=tok["access_token"], self_user_id=client_id, organisation_id=org)
        else:
            if a.role == "admin":
                # Something for the API-client operations to act on (the partner run makes its
                # own), and one whose credentials the hooks give to the client-token requests
                # (kept out of the pools, so that no rotation or revocation spoils them).
                orgs = list_all(api, admin, "/api/v1/organisations") or []
                scopes = contract["components"]["schemas"]["ClientScope"]["enum"]
                for n in range(4):
                    _, cred, _ = api("POST", "/api/v1/api-clients", token=admin, body={
                        "organisation_id": orgs[n % len(orgs)]["id"], "name": f"demo partner {n}",
                        "scopes": scopes[: 1 + n % len(scopes)]}, expect=[201])
                ids["client"] = {"client_id": cred["client"]["id"], "client_secret": cred["client_secret"]}
                # And an account for the sign-ins the hooks make succeed: the fuzzer's wrong
                # passwords for its own account (POST /me/password) make that one wait.
                api("POST", "/api/v1/users", token=admin, body={
                    "username": "fuzz.signin", "display_name": "fuzz.signin", "role": "auditor",
                    "password": PASSWORD}, expect=[201])
            username, user_id, own = prepare_account(api, admin, a.role, users, pairings)
            ids.update(token=admin if a.role == "admin" else login(api, username), self_user_id=user_id,
                       own=own, login={"username": "fuzz.signin", "password": PASSWORD})
        pools, extra = gather(api, ids["token"], contract, a.role)
        if "client" in ids:
            pools["api-clients"] = [c for c in pools.get("api-clients", []) if c != ids["client"]["client_id"]]
        ids.update(pools=pools, **extra)
        ids["operations"], ids["not_allowed"] = callable_operations(api, ids["token"], contract, a.role, rng)
        ids["linked"] = has_links(contract, set(ids["operations"]))
    finally:
        with open(os.path.join(a.out, "setup_requests"), "w") as f:
            f.write(f"{api.answered} {api.unanswered}\n")
    with open(os.path.join(a.out, "ids.json"), "w") as f:
        json.dump(ids, f, indent=1, ensure_ascii=False)
    sizes = ", ".join(f"{k} {len(v)}" for k, v in sorted(ids["pools"].items()))
    print(f"setup ({a.role}): {api.answered} requests; {len(ids['operations'])} operations to fuzz, "
          f"{len(ids['not_allowed'])} left out (refused to the role, or not the role's); reachable ids: {sizes}")


if __name__ == "__main__":
    main()
