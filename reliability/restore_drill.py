#!/usr/bin/env python3
"""Restore drill: a backup taken while writes go on, restored and served, loses nothing.

It loads the demo dataset and an administrator into a fresh database, starts the service and
drives creates of households, children and contacts, each with an Idempotency-Key, from several
threads. While they go on it takes a backup, recording the moment it began:
  - SQLite: `tongxing backup --to PATH` (an online copy, one consistent snapshot);
  - PostgreSQL: `pg_dump -Fc` (a logical copy, one snapshot).
It then restores the backup (SQLite: the copy is the database; PostgreSQL: `createdb` a new
database and `pg_restore` into it) and checks:
  1. every write acknowledged before the backup began is in the restored copy exactly once, read
     directly in the database and through the API (GET by id) of a service started on it; no
     write is there twice, whenever it was acknowledged;
  2. the audit log is whole for them: each has its one `create` entry (written in the write's own
     transaction) naming its id, and in the copy no create entry is without its record and no
     record the drill made is without its create entry; the audit log's append-only triggers
     came along;
  3. the restored service answers /readyz and the programme summary report.
The last line sums it up; the exit status is non-zero on any loss or failed check.

Usage: reliability/restore_drill.py --binary PATH [--backend sqlite|postgres] [--writes N]
                                    [--seconds S] [--threads N] [--keep]
--seconds is how long the writes go on (the backup starts at about a third of it), --writes the
most writes sent in that time. PostgreSQL: TONGXING_DRILL_POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432/postgres) names a server on which two databases are made and
dropped; pg_dump, pg_restore and psql must be on PATH, of the server's major version or newer.
"""

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from client import call, free_port

ADMIN, PASSWORD = "drill.admin", "restore-drill-password"
# kind: (table, the column that holds the drill's unique mark, the API's collection)
KINDS = {
    "household": ("households", "address", "/api/v1/households"),
    "child": ("children", "name", "/api/v1/children"),
    "contact": ("contacts", "notes", "/api/v1/contacts"),
}
SEP = "\x1f"


def ms(seconds):
    return int(round(seconds * 1000))


class Service:
    def __init__(self, binary, env, log_path):
        self.binary, self.env, self.log_path, self.proc = binary, env, log_path, None
        self.base = "http://" + env["TONGXING_BIND"]

    def start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the service exited with {self.proc.returncode}; see {self.log_path}")
            if call(self.base, "GET", "/readyz", timeout=2)[0] == 200:
                return
            time.sleep(0.05)
        raise SystemExit("the service did not become ready; see " + self.log_path)

    def stop(self):
        """SIGTERM, as an operator stops it: it must drain and exit with 0."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        return code

    def panics(self):
        with open(self.log_path, errors="replace") as f:
            return f.read().count("panicked")


class Db:
    """Direct reads: the sqlite3 module, or psql."""

    def __init__(self, backend, location):
        self.backend, self.location = backend, location

    def rows(self, sql):
        if self.backend == "sqlite":
            con = sqlite3.connect(f"file:{self.location}?mode=ro", uri=True)
            try:
                return [tuple("" if v is None else str(v) for v in r) for r in con.execute(sql)]
            finally:
                con.close()
        out = subprocess.run(["psql", "-X", "-q", "-At", "-F", SEP, "-v", "ON_ERROR_STOP=1", self.location, "-c", sql],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"psql failed ({out.returncode}) on {sql[:80]!r}: {out.stderr.strip()}")
        return [tuple(line.split(SEP)) for line in out.stdout.splitlines()]


class Drill:
    def __init__(self, args, service, db):
        self.args, self.service, self.db = args, service, db
        self.ops = []  # every write sent: dict(kind, key, path, body, mark, id, acked_at)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors = []
        self.households, self.children = [], []  # acknowledged, to hang children and contacts on

    def login(self, base):
        status, body, _ = call(base, "POST", "/api/v1/auth/token", body={"grant_type": "password", "username": ADMIN, "password": PASSWORD})
        if status != 200:
            raise SystemExit(f"login on {base} answered {status}: {body}")
        return body["access_token"]

    def setup(self):
        self.token = self.login(self.service.base)
        status, body, _ = call(self.service.base, "GET", "/api/v1/regions?level=village&limit=20", self.token)
        assert status == 200 and body["items"], (status, body)
        self.villages = [r["id"] for r in body["items"]]
        # What the demo dataset and the setup put there: the records the drill did not make.
        self.before = {kind: {r[0] for r in self.db.rows(f"SELECT id FROM {table}")} for kind, (table, _, _) in KINDS.items()}
        self.households = list(self.before["household"])[:20]

    # --- the load ---------------------------------------------------------------------------

    def next_op(self, rng):
        mark = uuid.uuid4().hex[:16]
        choice = rng.random()
        with self.lock:
            children = list(self.children[-50:])
            households = list(self.households[-50:])
        if choice < 0.2:
            kind, body = "household", {"region_id": rng.choice(self.villages), "address": f"演练路{mark}号",
                                       "guardians": [{"name": "王秀英", "relation": "grandmother", "phone": "13800001111", "is_primary": True}]}
            mark = body["address"]
        elif choice < 0.6 or not children:
            kind, body = "child", {"region_id": rng.choice(self.villages), "household_id": rng.choice(households),
                                   "name": f"演练-{mark}", "sex": rng.choice(["female", "male"]), "birth_date": "2014-03-02",
                                   "categories": ["left_behind"]}
            mark = body["name"]
        else:
            kind, body = "contact", {"kind": "home_visit", "child_id": rng.choice(children), "occurred_at": "2024-03-01T09:00:00+08:00",
                                     "outcome": "completed", "notes": f"演练联系-{mark}"}
            mark = body["notes"]
        return {"kind": kind, "key": f"drill-{kind}-{uuid.uuid4().hex}", "path": KINDS[kind][2], "body": body, "mark": mark}

    def worker(self):
        rng = random.Random()
        while not self.stop.is_set():
            op = self.next_op(rng)
            with self.lock:
                if len(self.ops) >= self.args.writes:
                    return
                self.ops.append(op)
            for attempt in range(5):
                status, body, _ = call(self.service.base, "POST", op["path"], self.token, op["body"], {"idempotency-key": op["key"]})
                if status != 0:
                    break
                time.sleep(0.2)  # no answer: the same request again, with the same key
            acked_at = time.monotonic()
            if status != 201:
                with self.lock:
                    self.errors.append(f"{op['kind']} {op['key']} answered {status}: {body}")
                self.stop.set()
                return
            op["id"], op["acked_at"], op["attempts"] = body["id"], acked_at, attempt + 1
            with self.lock:
                if op["kind"] == "household":
                    self.households.append(op["id"])
                elif op["kind"] == "child":
                    self.children.append(op["id"])

    def load_and_backup(self, backup):
        """The writes, from several threads; the backup in the middle of them. Returns when the
        writes have gone on for --seconds (and at least as long as the backup did)."""
        threads = [threading.Thread(target=self.worker, daemon=True) for _ in range(self.args.threads)]
        started = time.monotonic()
        for t in threads:
            t.start()
        # The backup begins a third of the way in, or sooner if the writes are nearly all sent.
        while time.monotonic() - started < self.args.seconds / 3 and len(self.ops) < self.args.writes * 0.8 and not self.stop.is_set():
            time.sleep(0.02)
        self.backup_began = time.monotonic()
        backup()
        self.backup_ended = time.monotonic()
        while time.monotonic() - started < self.args.seconds and not self.stop.is_set() and any(t.is_alive() for t in threads):
            time.sleep(0.05)
        self.stop.set()
        for t in threads:
            t.join(timeout=30)
        self.load_seconds = time.monotonic() - started

    # --- the checks -------------------------------------------------------------------------

    def due(self):
        """The writes acknowledged before the backup began: the copy must hold each."""
        return [op for op in self.ops if "acked_at" in op and op["acked_at"] < self.backup_began]

    def check_database(self, db):
        """Direct reads of the restored database. Returns (problems, writes present, audit
        entries checked, audit entries missing)."""
        problems = []
        marks, ids = {}, {}
        for kind, (table, column, _) in KINDS.items():
            ids[kind] = set()
            for rid, mark in db.rows(f"SELECT id, {column} FROM {table}"):
                ids[kind].add(rid)
                marks.setdefault((kind, mark), []).append(rid)
        paths = {path: kind for kind, (_, _, path) in KINDS.items()}
        entries = {}  # (kind, record id) -> [(changes written, status, child_id)]
        for resource, rid, written, status, child in db.rows(
                "SELECT resource, resource_id, CASE WHEN changes IS NULL THEN 0 ELSE 1 END, status, child_id FROM audit_log "
                f"WHERE action = 'create' AND resource IN ({', '.join(repr(p) for p in paths)})"):
            entries.setdefault((paths[resource], rid), []).append((written == "1", status, child))

        present = checked = missing = 0
        for op in self.due():
            found = marks.get((op["kind"], op["mark"]), [])
            if found == [op["id"]]:
                present += 1
            else:
                problems.append(f"{op['kind']} {op['id']} (acknowledged {ms(self.backup_began - op['acked_at'])} ms before the backup): "
                                f"{len(found)} rows with its mark in the copy")
            writes = [e for e in entries.get((op["kind"], op["id"]), []) if e[0]]
            checked += 1
            child = op["id"] if op["kind"] == "child" else op["body"].get("child_id", "")
            missing += not writes
            if len(writes) != 1 or writes[0][1] != "201" or writes[0][2] != (child or ""):
                problems.append(f"{op['kind']} {op['id']}: its create entries in the audit log are {writes}, one of status 201 naming child {child or '-'} due")
        # Whatever was acknowledged later may or may not be there, but never twice.
        for op in self.ops:
            if len(marks.get((op["kind"], op["mark"]), [])) > 1:
                problems.append(f"{op['kind']} {op['key']}: {len(marks[(op['kind'], op['mark'])])} rows")
        # Entries and records agree both ways in the copy, for every create.
        for (kind, rid), es in entries.items():
            if rid not in ids[kind]:
                problems.append(f"a create entry for {kind} {rid} without its record in the copy")
            if sum(1 for e in es if e[0]) > 1:
                problems.append(f"{kind} {rid}: {sum(1 for e in es if e[0])} create entries with changes")
        for kind, all_ids in ids.items():
            for rid in all_ids - self.before[kind]:
                if not any(e[0] for e in entries.get((kind, rid), [])):
                    problems.append(f"{kind} {rid} in the copy without its create entry")
        return problems, present, checked, missing

    def check_api(self, base):
        """Every write due, read through the restored service; then its readiness and a report."""
        token = self.login(base)
        problems = []

        def read(op):
            status, body, _ = call(base, "GET", f"{op['path']}/{op['id']}", token)
            if status != 200:
                return f"GET {op['path']}/{op['id']} answered {status}: {body}"
            column = KINDS[op["kind"]][1]
            if body.get(column) != op["mark"] or body.get("id") != op["id"]:
                return f"GET {op['path']}/{op['id']} answered another record: {body.get('id')} {body.get(column)!r}"
            return None

        with ThreadPoolExecutor(self.args.threads) as pool:
            problems += [p for p in pool.map(read, self.due()) if p]
        status, body, _ = call(base, "GET", "/readyz")
        if status != 200:
            problems.append(f"/readyz answered {status}: {body}")
        status, body, _ = call(base, "GET", "/api/v1/reports/summary", token)
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("children_registered"), int):
            problems.append(f"GET /api/v1/reports/summary answered {status}: {str(body)[:300]}")
        return problems


def triggers(db):
    """The audit log's append-only triggers in a database."""
    if db.backend == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log' ORDER BY name"
    else:
        sql = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal ORDER BY tgname"
    return [r[0] for r in db.rows(sql)]


def run(cmd, env=None, input=None):
    out = subprocess.run(cmd, env=env, input=input, capture_output=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.decode(errors='replace').strip()}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--writes", type=int, default=5000, help="the most writes sent (default 5000)")
    ap.add_argument("--seconds", type=float, default=8, help="how long the writes go on (default 8)")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--keep", action="store_true", help="keep the work directory (kept anyway on failure)")
    args = ap.parse_args()

    begun = time.monotonic()
    work = tempfile.mkdtemp(prefix=f"tongxing-restore-{args.backend}-")
    # A copy of the binary: the one named may be rebuilt while the drill runs.
    binary = os.path.join(work, "tongxing")
    shutil.copy2(args.binary, binary)
    env = dict(os.environ)
    env.update({"TONGXING_LOG": "warn", "TONGXING_ACCESS_TOKEN_TTL": "3600"})
    for name in ("DATABASE_URL_FILE", "TONGXING_REPLICA_URL", "TONGXING_REPLICA_URL_FILE"):
        env.pop(name, None)
    server = os.environ.get("TONGXING_DRILL_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    pg_dbs = []
    failures = []
    services = []

    def pg_url(name):
        return server.rsplit("/", 1)[0] + "/" + name

    try:
        if args.backend == "sqlite":
            source_path = os.path.join(work, "source.db")
            source_url, source_db = "sqlite://" + source_path, Db("sqlite", source_path)
        else:
            name = f"tongxing_drill_{tag}"
            run(["psql", "-X", "-q", server, "-c", f"CREATE DATABASE {name}"])
            pg_dbs.append(name)
            source_url = pg_url(name)
            source_db = Db("postgres", source_url)
        source_env = dict(env, DATABASE_URL=source_url, TONGXING_BIND=f"127.0.0.1:{free_port()}")
        run([binary, "seed-demo"], env=source_env)
        run([binary, "create-admin", "--username", ADMIN], env=source_env, input=(PASSWORD + "\n").encode())
        source = Service(binary, source_env, os.path.join(work, "source.log"))
        services.append(source)
        source.start()
        drill = Drill(args, source, source_db)
        drill.setup()

        backup_path = os.path.join(work, "backup.db" if args.backend == "sqlite" else "backup.dump")

        def backup():
            if args.backend == "sqlite":
                run([binary, "backup", "--to", backup_path], env=source_env)
            else:
                run(["pg_dump", "-Fc", "-f", backup_path, "-d", source_url])

        drill.load_and_backup(backup)
        backup_ms = ms(drill.backup_ended - drill.backup_began)
        acked = [op for op in drill.ops if "acked_at" in op]
        during = sum(1 for op in acked if drill.backup_began <= op["acked_at"] < drill.backup_ended)
        due = drill.due()
        failures += drill.errors
        if not due:
            failures.append("no write was acknowledged before the backup began: the drill tested nothing")
        print(f"load: {len(drill.ops)} writes in {drill.load_seconds:.1f} s from {args.threads} threads, {len(acked)} acknowledged "
              f"({len(due)} before the backup, {during} while it ran, {len(acked) - len(due) - during} after); "
              f"backup ({'tongxing backup' if args.backend == 'sqlite' else 'pg_dump -Fc'}) {backup_ms} ms, "
              f"{os.path.getsize(backup_path)} bytes", flush=True)
        code = source.stop()
        if code != 0:
            failures.append(f"the service on the source database exited with {code} on SIGTERM")

        # --- restore --------------------------------------------------------------------------
        restore_began = time.monotonic()
        if args.backend == "sqlite":
            restored_url, restored_db = "sqlite://" + backup_path, Db("sqlite", backup_path)
            integrity = restored_db.rows("PRAGMA integrity_check")
            if integrity != [("ok",)]:
                failures.append(f"integrity_check of the copy: {integrity[:5]}")
            dangling = restored_db.rows("PRAGMA foreign_key_check")
            if dangling:
                failures.append(f"foreign_key_check of the copy: {dangling[:5]}")
        else:
            name = f"tongxing_drill_{tag}_restored"
            run(["createdb", "--maintenance-db", server, name])
            pg_dbs.append(name)
            restored_url = pg_url(name)
            run(["pg_restore", "--exit-on-error", "--single-transaction", "--no-owner", "-d", restored_url, backup_path])
            restored_db = Db("postgres", restored_url)
        data_restored = time.monotonic()
        problems, present, entries_checked, missing = drill.check_database(restored_db)
        failures += [f"database: {p}" for p in problems]
        if triggers(restored_db) != triggers(source_db):
            failures.append(f"the audit log's triggers in the copy are {triggers(restored_db)}, at the source {triggers(source_db)}")
        checks_done = time.monotonic()

        restored_env = dict(env, DATABASE_URL=restored_url, TONGXING_BIND=f"127.0.0.1:{free_port()}")
        restored = Service(binary, restored_env, os.path.join(work, "restored.log"))
        services.append(restored)
        started_at = time.monotonic()
        restored.start()
        ready_at = time.monotonic()
        restore_ms = ms(data_restored - restore_began + ready_at - started_at)
        api_problems = drill.check_api(restored.base)
        failures += [f"api: {p}" for p in api_problems]
        print(f"restore: data {ms(data_restored - restore_began)} ms ({'the copy itself' if args.backend == 'sqlite' else 'createdb + pg_restore'}), "
              f"the service ready on it {ms(ready_at - started_at)} ms later; database checks {ms(checks_done - data_restored)} ms, "
              f"{len(due)} GETs by id, /readyz and the summary report {'answered' if not api_problems else 'FAILED'}", flush=True)
        code = restored.stop()
        if code != 0:
            failures.append(f"the restored service exited with {code} on SIGTERM")
        for s in services:
            if s.panics():
                failures.append(f"{s.panics()} panics in {s.log_path}")
    except SystemExit as e:
        # A step that could not be done: the logs stay for a look.
        print(f"restore drill ({args.backend}) stopped: {e}\nwork directory kept: {work}", file=sys.stderr)
        raise SystemExit(1)
    finally:
        for s in services:
            if s.proc and s.proc.poll() is None:
                s.proc.kill()
                s.proc.wait()
        for name in pg_dbs:
            subprocess.run(["psql", "-X", "-q", server, "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)

    keep = args.keep or failures
    for f in failures[:50]:
        print("  " + f)
    if len(failures) > 50:
        print(f"  ... and {len(failures) - 50} more")
    if keep:
        print(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    n = len(due)
    print(f"restore drill ({args.backend}): {n} writes acknowledged before the backup, "
          f"{'all ' + str(n) if present == n else str(present) + ' of ' + str(n)} restored, "
          f"{entries_checked} audit entries checked, {missing} missing; backup {backup_ms} ms, restore {restore_ms} ms "
          f"({len(failures)} failures, {time.monotonic() - begun:.1f} s in all)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
