"""Schemathesis hooks for reliability/contract.sh: they make the fuzzer's requests reach the domain.

The fuzzer still generates every body, query and header; just before each request
(`before_call`) these hooks fix what a random value can never get right, most of the time
(TONGXING_FUZZ_REAL_IDS, 0.85 by default). The rest of the time a reference stays as the fuzzer
made it, or half of that time becomes an id no record has, so the answers to an unknown record
(404, 422) are exercised too.

- references: an `{id}` in the path becomes the id of a record of the path's resource that the
  role reaches; reference fields of bodies and queries (`child_id`, `household_id`,
  `region_id`, `partner_ids`, `items[].child_id`, ...) become ids of the records they name, by
  field name (a child's or household's region is a village; a contract's purchaser a government
  agency; a mentor's or volunteer's account one of that role; a roster entry one of the event's;
  the references a caseworker may only set to their own, their own). A replacement (PUT) keeps
  the record's own references half the time. Only values that are UUIDs are replaced: a
  malformed id the fuzzer made on purpose stays, to get its 400.
- preconditions: `If-Match` becomes the record's current ETag, read with the role's token from
  the record's own URL just before the call (for `/children/{id}/status`, the child's); the
  sign-in operations get real credentials (of an account kept for them).
- keys: every call to an operation that takes an `Idempotency-Key` gets a fresh one, and a
  create's client-chosen `id` a fresh one most of the time.

The part a negative case is about (Schemathesis' phase data names it) is never touched. An
update of the caller's own account (role, password) would end the run's session: it is always
aimed at another account.

The role's ids come from <TONGXING_FUZZ_DIR>/ids.json (reliability/fuzz_setup.py); the choices
are drawn from a generator seeded by the run's seed. Ids of records the fuzzer creates join the
pools.

They also count, into <TONGXING_FUZZ_DIR>/counts.json: per operation, the cases sent, the 2xx
answers, the statuses with the problem codes of refusals, split by schema-valid and -invalid
cases; the record reads made here; and every HTTP request that left this process (the fuzzer's
own, those its checks and probes send, and the reads), by who answered it: the service (its
answers carry X-Request-Id), the HTTP layer before the service (a request it could not parse),
or nobody.

And one check of their own, `reference_is_not_a_conflict` (below).
"""

import atexit
import json
import os
import random
import re
import threading
import uuid

import requests
import requests.adapters
import schemathesis
from schemathesis.core.parameters import ParameterLocation

DIR = os.environ["TONGXING_FUZZ_DIR"]
IDS = json.load(open(os.path.join(DIR, "ids.json")))
CONTRACT = json.load(open(os.environ["TONGXING_FUZZ_CONTRACT"]))
REAL = float(os.environ.get("TONGXING_FUZZ_REAL_IDS", "0.85"))
RNG = random.Random(IDS.get("seed", 0))
POOLS = {k: list(v) for k, v in IDS.get("pools", {}).items()}
SELF = IDS.get("self_user_id")
LOCK = threading.Lock()

# Reference fields, by name, and the pool of the records they name. `region_id` of a child or a
# household must be a village (the domain refuses other levels); `subject_id` depends on the
# rule (see `subject_pool`).
FIELDS = {
    "child_id": "children", "other_child_id": "children", "household_id": "households",
    "region_id": "regions", "parent_id": "regions", "within": "regions",
    "mentor_id": "mentors", "pairing_id": "pairings", "organisation_id": "organisations",
    "organiser_id": "organisations", "partner_ids": "organisations", "purchaser_id": "organisations",
    "provider_id": "organisations", "event_id": "events", "enrolment_id": "counselling-enrolments",
    "volunteer_id": "volunteers", "volunteer_ids": "volunteers", "user_id": "users",
    "caseworker_id": "users", "actor_id": "users", "holiday_id": "holidays", "rule_id": "cadence-rules",
    "home_visit_request_id": "home-visit-requests", "consent_id": "consents", "team_id": "teams",
}
ACCOUNT_LINKS = {"create_mentor": "mentor", "update_mentor": "mentor", "create_volunteer": "volunteer",
                 "update_volunteer": "volunteer"}
VILLAGE_OPS = {"create_child", "update_child", "create_household", "update_household"}
# Operations whose success would end the run's own session (a change of the caller's role,
# region or password ends every token it holds): never aimed at the caller's own account.
OWN_ACCOUNT_OPS = {"update_user", "reset_user_password"}

OPS = {}  # "METHOD /path" -> (operation id, {header name (lower) -> parameter})
for _path, _item in CONTRACT["paths"].items():
    for _method, _op in _item.items():
        if isinstance(_op, dict) and "responses" in _op:
            headers = {p["name"].lower(): p for p in _op.get("parameters", []) if p.get("in") == "header"}
            OPS[f"{_method.upper()} {_path}"] = (_op.get("operationId", f"{_method} {_path}"), headers)

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

COUNTS = {
    "operations": {},  # key -> {"operation_id", "sent", "2xx", "statuses": {}, "codes": {}}
    "etag_reads": 0,  # ETag reads made here (also in "transport")
    "transport": {"service": 0, "http_layer": 0, "no_answer": 0},
}


def save():
    with LOCK:
        data = json.dumps(COUNTS, indent=1, sort_keys=True)
    tmp = os.path.join(DIR, "counts.json.tmp")
    with open(tmp, "w") as f:
        f.write(data)
    os.replace(tmp, os.path.join(DIR, "counts.json"))


atexit.register(save)

# Every request that leaves this process passes through an adapter's `send`; so do redirects.
_send = requests.adapters.HTTPAdapter.send


def _counted_send(self, request, *args, **kwargs):
    try:
        response = _send(self, request, *args, **kwargs)
    except Exception:
        with LOCK:
            COUNTS["transport"]["no_answer"] += 1
        raise
    who = "service" if "x-request-id" in response.headers else "http_layer"
    with LOCK:
        COUNTS["transport"][who] += 1
    return response


requests.adapters.HTTPAdapter.send = _counted_send

_session = requests.Session()


def is_uuid(v):
    return isinstance(v, str) and bool(UUID_RE.match(v))


def pick(pool, avoid=None):
    ids = [i for i in POOLS.get(pool, []) if i != avoid]
    return RNG.choice(ids) if ids else None


def chance():
    return RNG.random() < REAL


def fresh_uuid():
    return str(uuid.UUID(int=RNG.getrandbits(128), version=4))


def unreal(value):
    """A reference left to the fuzzer: half the time as generated (Schemathesis often reuses ids
    it saw in earlier answers), half the time an id no record has, so that the answers to an
    unknown record (404, 422) are exercised for sure."""
    return fresh_uuid() if RNG.random() < 0.5 else value


def resource_of(path):
    """('/api/v1/children/{id}', 'children') for '/api/v1/children/{id}/status'."""
    head = path.split("{id}")[0].rstrip("/")
    return head + "/{id}", head[len("/api/v1/"):]


def current(path_template, record_id):
    """(ETag, record) of the record as it is now, read with the role's token; (None, None) when
    it cannot be read."""
    record, _ = resource_of(path_template)
    collection = record[: -len("/{id}")]
    own_url = "get" in CONTRACT["paths"].get(record, {})
    # No GET of the record itself (holidays, API clients, duplicate reviews): its version from
    # the list, which is what its ETag is made of.
    url = IDS["base"] + (record.replace("{id}", record_id) if own_url else collection)
    with LOCK:
        COUNTS["etag_reads"] += 1
    try:
        r = _session.get(url, headers={"Authorization": f"Bearer {IDS['token']}"}, timeout=30)
        body = r.json() if r.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None, None
    if not isinstance(body, dict):
        return None, None
    if own_url:
        return r.headers.get("etag"), body
    for it in body.get("items", []):
        if isinstance(it, dict) and it.get("id") == record_id and "version" in it:
            return f'"{it["version"]}"', it
    return None, None


def negative_target(case):
    """The parts (locations) a negative case is about; empty for a positive case."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return set()
    location = getattr(meta.phase.data, "parameter_location", None)
    if location is not None:
        return {location}
    return {loc for loc, c in meta.components.items() if c.mode.is_negative}


def fix_value(field, value, op_id, extra):
    """A real id for `value` in reference field `field`, or `value` unchanged."""
    pool = FIELDS.get(field)
    if pool is None or not is_uuid(value):
        return value
    if not chance():
        return unreal(value)
    if field == "region_id" and op_id in VILLAGE_OPS:
        household = extra.get("household")
        region = IDS.get("household_region", {}).get(household) if is_uuid(household) else None
        return region or (RNG.choice(IDS["villages"]) if IDS.get("villages") else value)
    if field == "subject_id":
        return value
    if field == "purchaser_id":
        # Services are bought by a government agency.
        agencies = [o for o, kind in IDS.get("org_kind", {}).items() if kind == "government_agency"]
        return RNG.choice(agencies) if agencies else pick(pool) or value
    if field == "user_id" and op_id in ACCOUNT_LINKS:
        # A mentor's or volunteer's sign-in account holds that role.
        accounts = [u for u, role in IDS.get("user_role", {}).items() if role == ACCOUNT_LINKS[op_id]]
        return RNG.choice(accounts) if accounts else pick(pool) or value
    if field == "volunteer_id" and extra.get("event") in IDS.get("roster", {}) and op_id == "update_event_volunteer":
        # An entry of the event's roster.
        return RNG.choice(IDS["roster"][extra["event"]])
    if field in IDS.get("own", {}):
        # A reference the role may only set to its own (a caseworker's cases and events are
        # their own and their organisation's: another is 403 by design).
        return IDS["own"][field]
    return pick(pool) or value


def fix_body(node, op_id, extra):
    if isinstance(node, dict):
        if is_uuid(node.get("household_id")):
            node["household_id"] = fix_value("household_id", node["household_id"], op_id, extra)
            extra["household"] = node["household_id"]
        for k, v in list(node.items()):
            if k == "household_id":
                continue
            if k in FIELDS and isinstance(v, list):
                node[k] = [fix_value(k, x, op_id, extra) for x in v]
            elif k in FIELDS:
                node[k] = fix_value(k, v, op_id, extra)
            elif k == "subject_id" and is_uuid(v) and chance():
                rule = node.get("rule_id")
                subject = IDS.get("rule_subject", {}).get(rule) if is_uuid(rule) else None
                pool = "counselling-enrolments" if subject == "counselling_enrolment" else "pairings"
                node[k] = pick(pool) or v
            elif isinstance(v, (dict, list)):
                fix_body(v, op_id, extra)
    elif isinstance(node, list):
        for x in node:
            fix_body(x, op_id, extra)


@schemathesis.hook
def before_call(context, case, kwargs):
    op = case.operation
    key = f"{op.method.upper()} {op.path}"
    if key not in OPS or case.method.upper() != op.method.upper():
        return  # a probe with another method: sent as it is
    op_id, header_params = OPS[key]
    about = negative_target(case)

    def negative_at(location):
        # The part a negative case is about is left alone (in a body, only well-formed ids are
        # replaced, and the value a case is about is never one): an edit would undo what the
        # case tests, and a header it removed on purpose would come back. The other parts are
        # fixed even when Schemathesis filled them with invalid values too (the coverage phase
        # sends `If-Match: 0` with each invalid body, which would hide the body's validation
        # behind a 412).
        return location in about

    # Path: the record the operation acts on.
    if isinstance(case.path_parameters, dict) and "id" in case.path_parameters and not negative_at(ParameterLocation.PATH):
        value = case.path_parameters["id"]
        _, resource = resource_of(op.path)
        avoid = SELF if op_id in OWN_ACCOUNT_OPS else None
        if avoid and value == SELF:
            case.path_parameters["id"] = pick(resource, avoid=SELF) or fresh_uuid()
        elif not is_uuid(value):
            # A positive case with no UUID here: a link Schemathesis inferred from a list took a
            # field that was null (`/organisations/None`).
            case.path_parameters["id"] = pick(resource, avoid=avoid) or fresh_uuid()
        elif chance():
            case.path_parameters["id"] = pick(resource, avoid=avoid) or value
        else:
            case.path_parameters["id"] = unreal(value)
    record_id = (case.path_parameters or {}).get("id")
    headers_fixed = not negative_at(ParameterLocation.HEADER)
    if_match = headers_fixed and "if-match" in header_params and any(k.lower() == "if-match" for k in case.headers or {})
    use_etag = if_match and chance()
    # The record as it is now: its ETag for If-Match, its references for a replacement.
    etag, record = (None, None)
    if is_uuid(record_id) and (use_etag or (op.method.upper() == "PUT" and isinstance(case.body, dict))):
        etag, record = current(op.path, record_id)
    # Query and body: the records they refer to.
    if isinstance(case.query, dict) and not negative_at(ParameterLocation.QUERY):
        for k, v in list(case.query.items()):
            if k in FIELDS:
                case.query[k] = fix_value(k, v, op_id, {})
    if isinstance(case.body, (dict, list)):
        fix_body(case.body, op_id, {"event": record_id})
        if op.method.upper() == "POST" and isinstance(case.body, dict) and is_uuid(case.body.get("id")) and chance():
            # A client-chosen id is a key too: Schemathesis reuses the ones it generated, and a
            # create with a taken id is refused (409 `id_taken`) before it reaches the domain.
            case.body["id"] = fresh_uuid()
        if op.method.upper() == "PUT" and isinstance(case.body, dict) and isinstance(record, dict):
            # A replacement mostly keeps the record's references (some may not change at all,
            # such as an enrolment's child); the other half of the time they stay as above.
            for k, v in list(case.body.items()):
                if k in IDS.get("own", {}) and k in record and (v is None or is_uuid(v)) and chance():
                    # Who holds a case never changes in a caseworker's hands.
                    case.body[k] = record[k]
                elif k in FIELDS and is_uuid(v) and record.get(k) is not None and RNG.random() < 0.5:
                    case.body[k] = record[k]
        if op_id == "create_token" and isinstance(case.body, dict) and case.body.get("grant_type") == "password" \
                and IDS.get("login") and chance():
            # The account's own credentials: the sign-in itself is reached (a refresh token is
            # not given: a reused one would end the run's session).
            case.body.update(IDS["login"])
        if op_id == "create_client_token" and isinstance(case.body, dict) and IDS.get("client") and chance():
            case.body.update({k: v for k, v in IDS["client"].items() if k in case.body or k != "scope"})
        if op_id == "create_oauth_token" and isinstance(case.body, dict) and chance():
            # The standard token endpoint, for the grant drawn: the account's credentials or the
            # partner client's (the rest of the time, what Schemathesis drew).
            if case.body.get("grant_type") == "password" and IDS.get("login"):
                case.body.update(IDS["login"])
            elif case.body.get("grant_type") == "client_credentials" and IDS.get("client"):
                case.body.update({k: v for k, v in IDS["client"].items() if k != "scope"})
    if not headers_fixed:
        return
    # Headers: a fresh key; the record's current version.
    if "idempotency-key" in header_params:
        if case.headers is None:
            case.headers = {}
        for k in [k for k in case.headers if k.lower() == "idempotency-key"]:
            del case.headers[k]
        case.headers["Idempotency-Key"] = fresh_uuid()
    if use_etag and etag is not None:
        for k in [k for k in case.headers if k.lower() == "if-match"]:
            del case.headers[k]
        case.headers["If-Match"] = etag
    # The coverage phase fills If-None-Match with `0` (no entity-tag list, 400 by the contract's
    # pattern) in cases it counts as valid, as it does If-Match: a client's copy instead, the
    # current one (304) or one naming no version.
    declared = header_params.get("if-none-match")
    sent = [k for k in case.headers or {} if k.lower() == "if-none-match"]
    if declared and sent and not re.search(declared["schema"]["pattern"], str(case.headers[sent[0]])):
        del case.headers[sent[0]]
        if chance() and is_uuid(record_id):
            etag, _ = current(op.path, record_id)
        case.headers["If-None-Match"] = etag or '"0"'


def problem_code(response):
    try:
        body = response.json()
    except Exception:
        return None
    if isinstance(body, dict) and body.get("code"):
        field = ""
        if isinstance(body.get("errors"), list) and body["errors"]:
            first = body["errors"][0]
            if isinstance(first, dict):
                field = f" {first.get('field', '')}:{first.get('code', '')}"
        return f"{body['code']}{field}"
    return None


@schemathesis.hook
def after_call(context, case, response):
    op = case.operation
    key = f"{op.method.upper()} {op.path}"
    status = response.status_code
    created = None
    if status in (200, 201) and case.method.upper() == "POST" and op.path.count("{") == 0:
        try:
            body = response.json()
            created = body.get("id") if isinstance(body, dict) else None
        except Exception:
            created = None
    meta = case.meta
    positive = meta is not None and not meta.generation.mode.is_negative and case.method.upper() == op.method.upper()
    code = problem_code(response) if status >= 400 else None
    with LOCK:
        entry = COUNTS["operations"].setdefault(
            key, {"operation_id": OPS.get(key, (key,))[0], "sent": 0, "2xx": 0, "statuses": {}, "codes": {},
                  "positive": {}, "negative": {}})
        entry["sent"] += 1
        entry["statuses"][str(status)] = entry["statuses"].get(str(status), 0) + 1
        # What schema-valid and schema-invalid requests got (the statuses the exemptions in
        # reliability/schemathesis.toml must allow, by design).
        label = f"{status} {code.split()[0]}" if code else str(status)
        mode = entry["positive"] if positive else entry.setdefault("negative", {})
        mode[label] = mode.get(label, 0) + 1
        if 200 <= status < 300:
            entry["2xx"] += 1
        elif status >= 400:
            if code:
                entry["codes"][f"{status} {code}"] = entry["codes"].get(f"{status} {code}", 0) + 1
        # A record the fuzzer created can be acted on too.
        if is_uuid(created):
            POOLS.setdefault(op.path[len("/api/v1/"):], []).append(created)
    if sum(e["sent"] for e in COUNTS["operations"].values()) % 200 == 0:
        save()


@schemathesis.check
def reference_is_not_a_conflict(ctx, response, case):
    """A request that names a record that does not exist is refused with 422 (the contract's
    `validation_failed`, naming the field) or 404 (the path's record). 409 `reference_missing` is
    the storage's foreign-key error showing through: a check of the domain is missing."""
    if response.status_code == 409 and (problem_code(response) or "").startswith("reference_missing"):
        raise AssertionError("409 reference_missing: a reference to a record that does not exist must be "
                             "refused with 422 validation_failed naming the field")
