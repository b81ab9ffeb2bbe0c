#!/usr/bin/env python3
"""Outages and shutdown, against the real binary.

  postgres  A private PostgreSQL cluster (initdb in a temporary directory, its own port) is
            stopped abruptly under load: every answer must be a 503 problem+json with
            Retry-After, /readyz must fail, nothing may panic, and the causes are logged at a
            bounded rate (a line per cause per second, not one per request); once PostgreSQL is
            back, the service must serve again within 5 s without a restart, with every
            acknowledged write present.
  sqlite    The SQLite database lives on a small tmpfs. The disk is filled, then the file system
            is remounted read-only: writes must get a clear 503, reads keep working or get 503,
            never a 500. After space returns and the file system is writable again, writes
            succeed, `PRAGMA integrity_check` says ok, and every acknowledged write is there.
  sigterm   Requests in flight when SIGTERM arrives (bodies still being sent) complete with their
            answers; new connections are refused; the process exits with code 0.

Usage: reliability/outage.py --binary PATH [postgres] [sqlite] [sigterm]
Needs root for initdb (run as the postgres user) and for mounting the tmpfs.
"""

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

from client import call, free_port

PASSWORD = "outage-test-password"


class Service:
    def __init__(self, binary, database_url, work):
        self.binary, self.work = binary, work
        self.env = dict(os.environ)
        self.env.update({
            "DATABASE_URL": database_url,
            "TONGXING_BIND": f"127.0.0.1:{free_port()}",
            "TONGXING_LOG": "warn",
            "TONGXING_ACCESS_TOKEN_TTL": "3600",
        })
        self.base = "http://" + self.env["TONGXING_BIND"]
        self.log = os.path.join(work, "server.log")
        self.proc = None

    def create_admin(self):
        subprocess.run([self.binary, "create-admin", "--username", "outage.admin"], input=(PASSWORD + "\n").encode(), env=self.env, check=True, capture_output=True)

    def start(self):
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if call(self.base, "GET", "/readyz", timeout=2)[0] == 200:
                break
            time.sleep(0.1)
        else:
            raise SystemExit("the service did not become ready; see " + self.log)
        status, body, _ = call(self.base, "POST", "/api/v1/auth/token", body={"grant_type": "password", "username": "outage.admin", "password": PASSWORD})
        assert status == 200, body
        self.token = body["access_token"]

    def panics(self):
        with open(self.log) as f:
            return f.read().count("panicked")

    def log_size(self):
        return os.path.getsize(self.log)

    def log_lines_since(self, offset):
        """Warning and error lines the service logged since `offset` (a size of the log)."""
        with open(self.log, errors="replace") as f:
            f.seek(offset)
            return [line for line in f if " WARN " in line or " ERROR " in line]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)


class Fixture:
    """A child to read and contacts to write, the acknowledged ones remembered."""

    def __init__(self, service):
        self.s = service
        status, body, _ = call(service.base, "GET", "/api/v1/regions?q=" + urllib.parse.quote("柏墩村"), service.token)
        village = body["items"][0]["id"]
        status, body, _ = call(service.base, "POST", "/api/v1/children", service.token, {"region_id": village, "name": "周小雨", "sex": "female", "birth_date": "2014-03-02", "categories": ["left_behind"]})
        assert status == 201, body
        self.child = body["id"]
        self.acked = []
        self.lock = threading.Lock()
        self.n = 0

    def read(self):
        return call(self.s.base, "GET", f"/api/v1/children/{self.child}", self.s.token)

    def write(self):
        with self.lock:
            self.n += 1
            note = f"outage-{os.getpid()}-{self.n}"
        status, body, headers = call(self.s.base, "POST", "/api/v1/contacts", self.s.token, {"kind": "home_visit", "child_id": self.child, "occurred_at": "2024-03-01T09:00:00+08:00", "outcome": "completed", "notes": note}, {"idempotency-key": note})
        if status == 201:
            with self.lock:
                self.acked.append(body["id"])
        return status, body, headers

    def all_acked_present(self):
        missing = 0
        for cid in self.acked:
            if call(self.s.base, "GET", f"/api/v1/contacts/{cid}", self.s.token)[0] != 200:
                missing += 1
        return missing


def drive(fixture, seconds, threads=4):
    """Reads and writes from several threads for `seconds`; returns [(time, kind, status, headers, body)]."""
    out, lock, stop = [], threading.Lock(), time.time() + seconds

    def loop(i):
        while time.time() < stop:
            kind = "read" if i % 2 else "write"
            status, body, headers = fixture.read() if kind == "read" else fixture.write()
            with lock:
                out.append((time.time(), kind, status, headers, body))

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def is_unavailable(status, headers, body):
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    retry = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    return status == 503 and ctype.startswith("application/problem+json") and retry and isinstance(body, dict) and body.get("code") == "unavailable"


def scenario_postgres(binary):
    failures = []
    bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
    work = tempfile.mkdtemp(prefix="tongxing-outage-pg-")
    shutil.chown(work, "postgres")
    data, port = os.path.join(work, "data"), free_port()
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run(as_pg + [f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"], check=True, capture_output=True)

    def pg(action, *extra):
        subprocess.run(as_pg + [f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(work, "pg.log"), "-o", f"-p {port} -k {work} -c listen_addresses=127.0.0.1", action, *extra], check=True, capture_output=True)

    pg("start")
    service = Service(binary, f"postgres://postgres@127.0.0.1:{port}/postgres", work)
    try:
        service.create_admin()
        service.start()
        fixture = Fixture(service)
        healthy = drive(fixture, 2)
        bad = [r for r in healthy if r[2] not in (200, 201)]
        if bad:
            failures.append(f"before the outage: {len(bad)} of {len(healthy)} answers were not 2xx: {bad[0][2]} {bad[0][4]}")
        pg("stop", "-m", "immediate")
        mark, stopped = service.log_size(), time.time()
        down = drive(fixture, 4)
        ready = call(service.base, "GET", "/readyz")
        # The causes of the 503s are logged at a bounded rate: a line per cause per second,
        # whatever the number of requests.
        logged, seconds = service.log_lines_since(mark), time.time() - stopped
        causes = {line.split("cause=", 1)[-1][:60] for line in logged if "answering 503" in line}
        bound = (int(seconds) + 2) * max(len(causes), 1) + 10
        print(f"postgres outage log: {len(logged)} warning and error lines in {seconds:.1f} s for {len(down)} answers "
              f"({len(causes)} causes of 503s; at most {bound} allowed)")
        if len(logged) > bound:
            failures.append(f"the outage logged {len(logged)} lines in {seconds:.1f} s for {len(down)} answers (at most {bound})")
        # The first answers may still come from requests that were under way: look from 1 s on.
        settled = [r for r in down if r[0] > down[0][0] + 1.0] if down else []
        wrong = [r for r in settled if not is_unavailable(r[2], r[3], r[4])]
        if not settled:
            failures.append("no answers at all while PostgreSQL was down")
        if wrong:
            failures.append(f"while PostgreSQL was down: {len(wrong)} of {len(settled)} answers were not 503 problem+json with Retry-After (first: {wrong[0][2]} {wrong[0][4]})")
        if ready[0] != 503:
            failures.append(f"/readyz answered {ready[0]} while PostgreSQL was down")
        pg("start")
        back = time.time()
        recovered = None
        while time.time() - back < 30:
            if fixture.read()[0] == 200 and fixture.write()[0] == 201:
                recovered = time.time() - back
                break
            time.sleep(0.05)
        after = drive(fixture, 2)
        bad = [r for r in after if r[2] not in (200, 201)]
        missing = fixture.all_acked_present()
        alive = service.proc.poll() is None
        print(f"postgres outage: {len(healthy)} answers before, {len(down)} during ({len(settled) - len(wrong)} of {len(settled)} settled ones 503 with Retry-After), "
              f"/readyz {ready[0]} while down; serving again {recovered:.2f} s after PostgreSQL returned; {len(after)} answers after, {len(bad)} not 2xx; "
              f"{len(fixture.acked)} acknowledged writes, {missing} missing; alive {alive}; panics {service.panics()}" if recovered is not None else "postgres outage: the service did not recover within 30 s")
        if recovered is None or recovered > 5:
            failures.append(f"recovery took {recovered} s (at most 5 s)")
        if bad:
            failures.append(f"after recovery: {len(bad)} answers were not 2xx")
        if missing or not alive or service.panics():
            failures.append(f"{missing} acknowledged writes missing, alive {alive}, {service.panics()} panics")
    finally:
        service.stop()
        try:
            pg("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(work, ignore_errors=True)
    return failures


def scenario_sqlite(binary):
    failures = []
    work = tempfile.mkdtemp(prefix="tongxing-outage-sqlite-")
    disk = os.path.join(work, "disk")
    os.mkdir(disk)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", disk], check=True)
    db = os.path.join(disk, "tongxing.db")
    service = Service(binary, "sqlite://" + db, work)
    try:
        service.create_admin()
        service.start()
        fixture = Fixture(service)
        healthy = drive(fixture, 1)
        # Fill the disk: a filler file takes every free byte.
        filler = os.path.join(disk, "filler")
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        mark, filled = service.log_size(), time.time()
        full = drive(fixture, 2)
        logged, seconds = service.log_lines_since(mark), time.time() - filled
        bound = (int(seconds) + 2) * 4 + 10
        print(f"sqlite disk full log: {len(logged)} warning and error lines in {seconds:.1f} s for {len(full)} answers (at most {bound} allowed)")
        if len(logged) > bound:
            failures.append(f"the full disk logged {len(logged)} lines in {seconds:.1f} s for {len(full)} answers (at most {bound})")
        os.remove(filler)
        time.sleep(0.5)
        after = drive(fixture, 2)
        writes = [r for r in full if r[1] == "write"]
        reads = [r for r in full if r[1] == "read"]
        # A write that still fits in pages the file already has succeeds (and must be kept);
        # every other one is a 503.
        refused = [r for r in writes if is_unavailable(r[2], r[3], r[4])]
        wrong_writes = [r for r in writes if r[2] != 201 and not is_unavailable(r[2], r[3], r[4])]
        wrong_reads = [r for r in reads if r[2] != 200 and not is_unavailable(r[2], r[3], r[4])]
        print(f"sqlite disk full: {len(writes)} writes, {len(refused)} refused with 503 problem+json and Retry-After, "
              f"{sum(1 for r in writes if r[2] == 201)} still fitted; "
              f"{len(reads)} reads, {sum(1 for r in reads if r[2] == 200)} served, {sum(1 for r in reads if r[2] == 503)} 503")
        if not refused:
            failures.append("disk full: no write was refused, so the disk never filled")
        if wrong_writes:
            failures.append(f"disk full: {len(wrong_writes)} writes answered otherwise (first: {wrong_writes[0][2]} {wrong_writes[0][4]})")
        if wrong_reads:
            failures.append(f"disk full: {len(wrong_reads)} reads answered otherwise (first: {wrong_reads[0][2]} {wrong_reads[0][4]})")
        bad_after = [r for r in after if r[2] not in (200, 201)]
        missing = fixture.all_acked_present()
        panics = service.panics()
        service.stop()
        # Read-only: an open file stays writable to the process that opened it, so the file
        # system is made read-only while the service is stopped, and the service started on it.
        subprocess.run(["mount", "-o", "remount,ro", disk], check=True)
        started = subprocess.run([binary, "serve"], env=service.env, capture_output=True, text=True, timeout=30)
        message = (started.stderr + started.stdout).strip().splitlines()[-1:] or [""]
        message = [m.replace("\x1b", "") for m in message]
        print(f"sqlite read-only: the service refused to start with exit code {started.returncode}: {message[0][:200]}")
        if started.returncode == 0 or "panicked" in started.stderr or "read" not in message[0].lower():
            failures.append(f"read-only: start-up answered {started.returncode}: {message}")
        subprocess.run(["mount", "-o", "remount,rw", disk], check=True)
        integrity = sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0]
        print(f"sqlite recovery: {len(after)} answers after space and writing returned, {len(bad_after)} not 2xx; "
              f"{len(fixture.acked)} acknowledged writes ({len(healthy)} answers before), {missing} missing; integrity_check {integrity}; panics {panics}")
        if bad_after:
            failures.append(f"after recovery: {len(bad_after)} answers not 2xx (first: {bad_after[0][2]} {bad_after[0][4]})")
        if missing or integrity != "ok" or panics:
            failures.append(f"{missing} acknowledged writes missing, integrity {integrity}, {panics} panics")
    finally:
        service.stop()
        subprocess.run(["umount", "-l", disk], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return failures


def scenario_sigterm(binary):
    failures = []
    work = tempfile.mkdtemp(prefix="tongxing-sigterm-")
    service = Service(binary, "sqlite://" + os.path.join(work, "t.db"), work)
    try:
        service.create_admin()
        service.start()
        fixture = Fixture(service)
        host, port = service.env["TONGXING_BIND"].split(":")
        body = json.dumps({"kind": "home_visit", "child_id": fixture.child, "occurred_at": "2024-03-01T09:00:00+08:00", "outcome": "completed", "notes": "在途"}).encode()
        # Requests in flight: headers and half the body sent, the rest after SIGTERM.
        socks = []
        for i in range(8):
            s = socket.create_connection((host, int(port)))
            head = (f"POST /api/v1/contacts HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {service.token}\r\n"
                    f"Content-Type: application/json\r\nIdempotency-Key: inflight-{i}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
            s.sendall(head + body[: len(body) // 2])
            socks.append(s)
        time.sleep(0.3)
        service.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        refused = call(service.base, "GET", "/healthz", timeout=2)[0] == 0
        statuses = []
        for s in socks:
            s.sendall(body[len(body) // 2:])
            s.settimeout(20)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            line = data.split(b"\r\n", 1)[0].decode(errors="replace")
            statuses.append(int(line.split()[1]) if line.startswith("HTTP/1.1") else 0)
        code = service.proc.wait(timeout=60)
        completed = sum(1 for st in statuses if st == 201)
        print(f"sigterm: {completed} of {len(statuses)} requests in flight completed with 201 after SIGTERM; "
              f"a new connection {'was refused' if refused else 'was still accepted'}; exit code {code}; panics {service.panics()}")
        if completed != len(statuses):
            failures.append(f"in-flight requests answered {statuses}")
        if not refused:
            failures.append("a new connection was accepted after SIGTERM")
        if code != 0:
            failures.append(f"exit code {code}")
        # The writes are there after a restart.
        service.start()
        listed = call(service.base, "GET", f"/api/v1/contacts?child_id={fixture.child}", service.token)[1]["items"]
        if sum(1 for c in listed if c.get("notes") == "在途") != len(socks):
            failures.append("the in-flight writes are not all stored")
    finally:
        service.stop()
        shutil.rmtree(work, ignore_errors=True)
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("scenarios", nargs="*", default=["postgres", "sqlite", "sigterm"])
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    runs = {"postgres": scenario_postgres, "sqlite": scenario_sqlite, "sigterm": scenario_sigterm}
    failures = []
    for name in args.scenarios:
        failures += [f"{name}: {f}" for f in runs[name](binary)]
    for f in failures:
        print("FAILED " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
