#!/usr/bin/env python3
"""Crash safety: concurrent writes, SIGKILL at a random moment, restart, retry, verify.

Each round starts the service, drives four kinds of write from several threads, and kills the
service with SIGKILL after a random delay, while requests are in flight:
  - creates of a child with an Idempotency-Key,
  - contacts with an Idempotency-Key,
  - attendance batches of several children with an Idempotency-Key (all or nothing),
  - case-file workflow steps (screening -> registered -> active), each one status change that
    writes the child and a history row together.

With the service dead, the database is read directly and every write, acknowledged or not, is
checked: a create is there once or not at all (once if acknowledged), a batch is whole or absent,
a child's status agrees with its history, and every write that is there has its audit entries
(written in the write's own transaction, so a crash can lose none). Then the service is restarted, every unacknowledged
request is sent again with the same key until it is answered, and the checks run once more:
now everything must be there exactly once.

Usage: reliability/crash.py --binary PATH [--backend sqlite|postgres] [--rounds N]
                            [--threads N] [--max-delay SECONDS]
PostgreSQL: TONGXING_CRASH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres);
a fresh database is made and dropped.
"""

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

from client import call, free_port

CHAIN = ["screening", "registered", "active"]


class Service:
    def __init__(self, binary, env, log_path):
        self.binary, self.env, self.log_path, self.proc = binary, env, log_path, None
        self.base = "http://" + env["TONGXING_BIND"]

    def start(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=log, stderr=log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if call(self.base, "GET", "/readyz", timeout=2)[0] == 200:
                return
            time.sleep(0.1)
        raise SystemExit("the service did not become ready; see " + self.log_path)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Db:
    """Direct reads of the database while the service is down."""

    def __init__(self, backend, location):
        self.backend, self.location = backend, location

    def first_rows(self, queries):
        """The first row of each (sql, params) query, read in one pass: one connection on
        SQLite, one psql run on PostgreSQL."""
        if self.backend == "sqlite":
            con = sqlite3.connect(self.location)
            try:
                return [tuple(str(v) for v in con.execute(sql, params).fetchone()) for sql, params in queries]
            finally:
                con.close()
        script = []
        for sql, params in queries:
            for p in params:
                sql = sql.replace("?", "'" + str(p).replace("'", "''") + "'", 1)
            script.append(sql + ";")
        out = subprocess.run(["psql", "-At", "-F", "\t", "-X", "-q", self.location, "-f", "-"], input="\n".join(script), check=True, capture_output=True, text=True)
        rows = [tuple(line.split("\t")) for line in out.stdout.splitlines()]
        assert len(rows) == len(queries), (len(rows), len(queries))
        return rows


class Run:
    def __init__(self, args, service, db):
        self.args, self.service, self.db = args, service, db
        self.token = None
        self.ops = []  # every write: dict(kind, key, payload, acked, ...)
        self.lock = threading.Lock()
        self.totals = {"requests": 0, "acknowledged": 0, "unacknowledged": 0, "retried": 0, "checked": 0, "committed_unanswered": 0, "entries_checked": 0, "entries_missing": 0}

    def login(self):
        status, body, _ = call(self.service.base, "POST", "/api/v1/auth/token", body={"grant_type": "password", "username": "crash.admin", "password": "crash-test-password"})
        assert status == 200, (status, body)
        self.token = body["access_token"]

    def post(self, path, body, key=None, op=None):
        h = {}
        if key:
            h["idempotency-key"] = key
        if op is not None:
            # Each request of a write has its own id, which its audit entries record.
            rid = "crash-" + uuid.uuid4().hex
            op.setdefault("requests", []).append(rid)
            h["x-request-id"] = rid
        return call(self.service.base, "POST", path, self.token, body, h)

    def setup(self):
        status, body, _ = call(self.service.base, "GET", "/api/v1/regions?q=" + urllib.parse.quote("柏墩村"), self.token)
        self.village = body["items"][0]["id"]
        status, org, _ = self.post("/api/v1/organisations", {"name": "咸安区社工站", "kind": "social_organisation"})
        assert status == 201, org
        self.org = org["id"]
        self.household = self.created("/api/v1/households", {"region_id": self.village, "address": "幸福路8号", "guardians": [{"name": "王秀英", "relation": "grandmother", "phone": "13800001111", "is_primary": True}]})
        self.child = self.created("/api/v1/children", self.child_body("联系对象"))

    def created(self, path, body):
        status, b, _ = self.post(path, body)
        assert status == 201, (path, status, b)
        return b["id"]

    def child_body(self, name):
        return {"region_id": self.village, "household_id": self.household, "name": name, "sex": "female", "birth_date": "2014-03-02", "categories": ["left_behind"]}

    def round_setup(self, n):
        """An event and children for this round's batches and steps, made before the load."""
        day = f"2024-{(n % 12) + 1:02d}-{(n % 27) + 1:02d}"
        event = self.created("/api/v1/events", {"title": f"关爱活动{n}", "event_type": "care", "programme": "five_plus_n", "starts_at": f"{day}T09:00:00+08:00", "ends_at": f"{day}T11:30:00+08:00", "region_id": self.village, "organiser_id": self.org})
        kids = [self.created("/api/v1/children", self.child_body(f"轮{n}儿童{i}")) for i in range(self.args.threads * 12)]
        return event, kids

    # --- the load ---------------------------------------------------------------------------

    def worker(self, rnd, event, kids, stop):
        rng = random.Random()
        while not stop.is_set():
            choice = rng.random()
            if choice < 0.3:
                name = "孩子-" + uuid.uuid4().hex[:12]
                op = {"kind": "child", "key": "c-" + uuid.uuid4().hex, "path": "/api/v1/children", "body": self.child_body(name), "name": name}
            elif choice < 0.6:
                note = "联系-" + uuid.uuid4().hex[:12]
                op = {"kind": "contact", "key": "k-" + uuid.uuid4().hex, "path": "/api/v1/contacts", "body": {"kind": "home_visit", "child_id": self.child, "occurred_at": "2024-03-01T09:00:00+08:00", "outcome": "completed", "notes": note}, "note": note}
            elif choice < 0.8:
                with self.lock:
                    batch = [kids.pop() for _ in range(min(3, len(kids)))]
                if len(batch) < 3:
                    continue
                op = {"kind": "batch", "key": "b-" + uuid.uuid4().hex, "path": f"/api/v1/events/{event}/attendance", "body": {"items": [{"child_id": k} for k in batch]}, "event": event, "children": batch}
            else:
                with self.lock:
                    if not kids:
                        continue
                    child = kids.pop()
                op = {"kind": "steps", "child": child, "done": 0}
                with self.lock:
                    self.ops.append(op)
                for target in CHAIN[1:]:
                    status, _, _ = self.post(f"/api/v1/children/{child}/status", {"status": target, "effective_on": "2024-03-01"}, op=op)
                    with self.lock:
                        self.totals["requests"] += 1
                    if status != 200:
                        break
                    op["done"] += 1
                continue
            with self.lock:
                self.ops.append(op)
            status, body, _ = self.post(op["path"], op["body"], key=op["key"], op=op)
            with self.lock:
                self.totals["requests"] += 1
            if status == 201:
                op["acked"] = True
                op["id"] = body.get("id") if isinstance(body, dict) else None
            elif status != 0:
                raise SystemExit(f"round {rnd}: {op['kind']} answered {status}: {body}")

    def load_and_kill(self, rnd):
        event, kids = self.round_setup(rnd)
        stop = threading.Event()
        threads = [threading.Thread(target=self.worker, args=(rnd, event, kids, stop), daemon=True) for _ in range(self.args.threads)]
        for t in threads:
            t.start()
        time.sleep(random.uniform(0.2, self.args.max_delay))
        self.service.kill()
        stop.set()
        for t in threads:
            t.join(timeout=30)

    # --- the checks -------------------------------------------------------------------------

    def query(self, op):
        """One query whose single row tells the state of one write: its rows, then the audit
        entries its requests wrote with it (a write's entries copy the fields it wrote; a
        replay's entry copies none; a batch's entries also name the children recorded before
        it, which its answer shows, so only the batch's own count)."""
        rids = op.get("requests") or ["-"]
        audited = f"(SELECT COUNT(*) FROM audit_log WHERE changes IS NOT NULL AND request_id IN ({','.join('?' * len(rids))})"
        if op["kind"] == "child":
            return f"SELECT COUNT(*), {audited}) FROM children WHERE name = ?", [*rids, op["name"]]
        if op["kind"] == "contact":
            return f"SELECT COUNT(*), {audited}) FROM contacts WHERE notes = ?", [*rids, op["note"]]
        if op["kind"] == "batch":
            marks = ",".join("?" * len(op["children"]))
            return (f"SELECT COUNT(*), {audited} AND child_id IN ({marks}))"
                    f" FROM event_attendance WHERE event_id = ? AND child_id IN ({marks})",
                    [*rids, *op["children"], op["event"], *op["children"]])
        return (f"SELECT status, (SELECT COUNT(*) FROM child_status_changes WHERE child_id = ?), {audited})"
                " FROM children WHERE id = ?", [op["child"], *rids, op["child"]])

    def check(self, final):
        """Every write whole or absent, with its audit entries exactly when it is there;
        acknowledged ones (all of them when final) present once."""
        problems = []
        rows = self.db.first_rows([self.query(op) for op in self.ops])
        for op, row in zip(self.ops, rows):
            must = final or op.get("acked")
            if op["kind"] == "steps":
                status, changes, audited = row[0], int(row[1]), int(row[2])
                reached = CHAIN.index(status)
                ok = changes == reached and reached >= op["done"] and (not final or reached == len(CHAIN) - 1)
                what = f"steps of {op['child']}: status {status}, {changes} history rows, {op['done']} acknowledged"
                # One entry per step taken, written with the step.
                audit_ok, entries_due = audited == changes, changes
            else:
                n, audited = int(row[0]), int(row[1])
                whole = len(op["children"]) if op["kind"] == "batch" else 1
                ok = n == whole if must else n in (0, whole)
                what = f"{op['kind']} {op.get('key')}: {n} of {whole} rows"
                # A child's or a contact's create has one entry; a batch one per child in it.
                audit_ok, entries_due = audited == n, n
                if not final and not op.get("acked") and n > 0:
                    # Committed, but the answer was lost with the process: the retry must replay it.
                    self.totals["committed_unanswered"] += 1
            self.totals["checked"] += 1
            self.totals["entries_checked"] += entries_due
            if not ok:
                problems.append(what)
            if not audit_ok:
                self.totals["entries_missing"] += max(entries_due - audited, 0)
                problems.append(f"{what}: {audited} audit entries, {entries_due} due")
        return problems

    def retry(self):
        """Sends every unanswered request again, with the same key, until it is answered."""
        for op in self.ops:
            if op["kind"] == "steps":
                status = self.status_of(op["child"])
                while status != CHAIN[-1]:
                    code, body, _ = self.post(f"/api/v1/children/{op['child']}/status", {"status": CHAIN[CHAIN.index(status) + 1], "effective_on": "2024-03-01"}, op=op)
                    if code != 200:
                        raise SystemExit(f"step retry answered {code}: {body}")
                    self.totals["retried"] += 1
                    status = body["status"]
                continue
            if op.get("acked"):
                continue
            code, body, headers = self.post(op["path"], op["body"], key=op["key"], op=op)
            if code != 201:
                raise SystemExit(f"retry of {op['kind']} answered {code}: {body}")
            self.totals["retried"] += 1
            op["acked"] = True

    def status_of(self, child):
        code, body, _ = call(self.service.base, "GET", f"/api/v1/children/{child}", self.token)
        assert code == 200, body
        return body["status"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--max-delay", type=float, default=1.5)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="tongxing-crash-")
    env = dict(os.environ)
    port = free_port()
    pg_db = None
    if args.backend == "sqlite":
        path = os.path.join(work, "crash.db")
        env["DATABASE_URL"] = "sqlite://" + path
        db = Db("sqlite", path)
    else:
        server = os.environ.get("TONGXING_CRASH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        pg_db = f"tongxing_crash_{os.getpid()}"
        subprocess.run(["psql", "-q", server, "-c", f"CREATE DATABASE {pg_db}"], check=True, capture_output=True)
        env["DATABASE_URL"] = server.rsplit("/", 1)[0] + "/" + pg_db
        db = Db("postgres", env["DATABASE_URL"])
    env.update({"TONGXING_BIND": f"127.0.0.1:{port}", "TONGXING_LOG": "warn", "TONGXING_ACCESS_TOKEN_TTL": "3600"})
    subprocess.run([args.binary, "create-admin", "--username", "crash.admin"], input=b"crash-test-password\n", env=env, check=True, capture_output=True)
    service = Service(os.path.abspath(args.binary), env, os.path.join(work, "server.log"))
    run = Run(args, service, db)
    failures = []
    try:
        service.start()
        run.login()
        run.setup()
        for rnd in range(1, args.rounds + 1):
            run.ops = []
            run.load_and_kill(rnd)
            acked = sum(1 for op in run.ops if op.get("acked")) + sum(op["done"] for op in run.ops if op["kind"] == "steps")
            pending = sum(1 for op in run.ops if op["kind"] != "steps" and not op.get("acked"))
            run.totals["acknowledged"] += acked
            run.totals["unacknowledged"] += pending
            after_kill = run.check(final=False)
            service.start()
            run.retry()
            service.kill()
            after_retry = run.check(final=True)
            service.start()
            kinds = {k: sum(1 for op in run.ops if op["kind"] == k) for k in ("child", "contact", "batch", "steps")}
            print(f"round {rnd}: {len(run.ops)} writes ({kinds}), {acked} acknowledged, {pending} unanswered and retried; "
                  f"after the kill {len(after_kill)} problems, after the retries {len(after_retry)}", flush=True)
            failures += [f"round {rnd}, after the kill: {p}" for p in after_kill]
            failures += [f"round {rnd}, after the retries: {p}" for p in after_retry]
        service.kill()
        with open(service.log_path) as log:
            panics = log.read().count("panicked")
        if panics:
            failures.append(f"{panics} panics in the service log")
    finally:
        if service.proc and service.proc.poll() is None:
            service.kill()
        if pg_db:
            subprocess.run(["psql", "-q", server, "-c", f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)"], capture_output=True)
    t = run.totals
    print(f"crash safety ({args.backend}): {args.rounds} SIGKILL rounds, {t['requests']} write requests, "
          f"{t['acknowledged']} acknowledged, {t['unacknowledged']} unanswered and retried ({t['retried']} retries; "
          f"{t['committed_unanswered']} of them had committed before the kill), "
          f"{t['checked']} write checks; {t['entries_checked']} audit entries of committed writes checked, "
          f"{t['entries_missing']} missing; {len(failures)} failures")
    for f in failures[:50]:
        print("  " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
