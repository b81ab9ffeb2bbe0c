#!/usr/bin/env python3
"""The load and the checks of the local cluster proof (docker/cluster.sh starts the cluster).

Several threads drive a mixed load through HAProxy: reads of children by id and of lists, the
programme summary as JSON and CSV and the compliance alert list, and creates of households,
children and contacts, each with an Idempotency-Key. Meanwhile a schedule kills a node with
SIGKILL and restarts it on the same port, and stops the streaming replica (pg_ctl stop -m fast)
and starts it again. A write that gets no answer (refused, cut, timed out, or 502/503/504 from
the proxy) is sent again with the same key and body until it is answered: a 201, the first
answer replayed if the lost attempt had committed.

At the end every acknowledged write is looked for through the API (the lists, paged, and a
sample read by id) and in the primary database with psql, by the distinguishing value each
create wrote (an address, a name, a note, unique to the write): L counts acknowledged writes
that are missing, or there with another id, in either; D counts writes whose value is on more
than one row in either. The last line:

  cluster: R requests, L acknowledged writes lost, D duplicates, P% of report reads served by the replica, failover S s

R: requests sent through the proxy during the load and its retries. P: the share of report and
alert reads answered with `X-Data-Source: replica`. S: for each kill, the time from the kill to
the end of the last request that failed while the node was down (0.0 when none failed), the
longest over the kills. Exit 1 when L or D is not 0, a write was refused, a write stayed
unanswered, a report read failed (other than the proxy's own 503 with no node up), or a node
answered an error of its own.

Standard library only; reuses reliability/client.py.
"""

import argparse
import collections
import datetime
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

sys.dont_write_bytecode = True  # no __pycache__ left in reliability/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reliability"))
from client import call  # noqa: E402

RETRYABLE = (0, 502, 503, 504)
# Report and alert reads by the account that only reads (P is their share from the replica), and
# the writer's own summary reads, which must come from the primary while it writes.
REPORTS = ("summary", "summary_csv", "alerts")
OWN_REPORT = "own_summary"


def header(headers, name):
    name = name.lower()
    for k, v in (headers or {}).items():
        if k.lower() == name:
            return v
    return None


class Node:
    """A service node: started by cluster.sh, killed and restarted here, on the same port."""

    def __init__(self, name, bind, binary, work):
        self.name, self.bind, self.binary = name, bind, binary
        self.base = "http://" + bind
        self.pidfile = os.path.join(work, f"{name}.pid")
        self.log = os.path.join(work, f"{name}.log")

    def pid(self):
        with open(self.pidfile) as f:
            return int(f.read().strip())

    def alive(self, pid):
        try:
            return os.readlink(f"/proc/{pid}/exe") == self.binary and open(f"/proc/{pid}/stat").read().split(") ")[1][0] != "Z"
        except OSError:
            return False

    def kill(self):
        pid = self.pid()
        if not self.alive(pid):
            raise RuntimeError(f"{self.name} (pid {pid}) is not running")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while self.alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def start(self):
        env = dict(os.environ, TONGXING_BIND=self.bind)
        with open(self.log, "a") as log:
            proc = subprocess.Popen([self.binary, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        with open(self.pidfile, "w") as f:
            f.write(str(proc.pid))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {proc.returncode} on restart; see {self.log}")
            if call(self.base, "GET", "/readyz", timeout=2)[0] == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become ready after its restart; see {self.log}")


class Replica:
    def __init__(self, pg_bin, data, port, work):
        self.pg_ctl = os.path.join(pg_bin, "pg_ctl")
        self.pg_isready = os.path.join(pg_bin, "pg_isready")
        self.data, self.port = data, port
        self.log = os.path.join(work, "pg-replica.log")

    def ctl(self, *args):
        subprocess.run(["runuser", "-u", "postgres", "--", self.pg_ctl, "-D", self.data, "-w", "-t", "60", *args],
                       check=True, capture_output=True)

    def stop(self):
        self.ctl("-m", "fast", "stop")

    def start(self):
        self.ctl("-l", self.log, "start")
        subprocess.run([self.pg_isready, "-q", "-U", "postgres", "-d", "tongxing", "-h", "127.0.0.1", "-p", str(self.port), "-t", "30"], check=True)


class Load:
    def __init__(self, args):
        self.args = args
        self.base = args.proxy
        self.tag = uuid.uuid4().hex[:8]
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.requests = []  # (start, end, kind, status, data source, served by, body snippet)
        self.ops = []  # every write
        self.counter = 0
        self.child_ids = []
        self.stop = threading.Event()
        self.events = []  # (time, what)
        self.down = {}  # node name -> [(killed at, restarted at)]
        self.replica_down = []
        self.errors = []

    def now(self):
        return time.monotonic() - self.t0

    # --- HTTP --------------------------------------------------------------------------------

    def send(self, kind, method, path, body=None, headers=None, timeout=10, record=True, token=None):
        start, wall = self.now(), time.time()
        status, answer, hdrs = call(self.base, method, path, token or self.token, body, headers, timeout=timeout)
        end = self.now()
        if record:
            snippet = None
            if status not in (200, 201):
                snippet = (answer if isinstance(answer, (dict, list)) else (answer or b"")[:200])
            row = (start, end, kind, status, header(hdrs, "x-data-source"), header(hdrs, "x-served-by"), snippet,
                   header(hdrs, "x-data-as-of"), wall)
            with self.lock:
                self.requests.append(row)
        return status, answer, hdrs

    def login(self, username, password):
        status, body, _ = call(self.base, "POST", "/api/v1/auth/token", body={
            "grant_type": "password", "username": username, "password": password})
        if status != 200:
            raise SystemExit(f"cluster: the login of {username} answered {status}: {body}")
        return body["access_token"]

    def setup(self):
        self.token = self.login("admin", os.environ["ADMIN_PASSWORD"])
        self.reader = self.login("reporter", os.environ["READER_PASSWORD"])
        status, body, _ = call(self.base, "GET", "/api/v1/regions?q=" + urllib.parse.quote("柏墩村"), self.token)
        assert status == 200 and body["items"], (status, body)
        self.village = body["items"][0]["id"]
        status, body, _ = call(self.base, "POST", "/api/v1/households", self.token, {
            "region_id": self.village, "address": f"集群测试户-{self.tag}",
            "guardians": [{"name": "王秀英", "relation": "grandmother", "phone": "13800001111", "is_primary": True}]})
        assert status == 201, (status, body)
        self.household = body["id"]
        status, body, _ = call(self.base, "POST", "/api/v1/children", self.token, {
            "region_id": self.village, "household_id": self.household, "name": f"联系对象-{self.tag}",
            "sex": "female", "birth_date": "2014-03-02", "categories": ["left_behind"]})
        assert status == 201, (status, body)
        self.contact_child = body["id"]
        status, body, _ = call(self.base, "GET", "/api/v1/children?limit=200", self.token)
        assert status == 200, (status, body)
        self.child_ids = [c["id"] for c in body["items"]] + [self.contact_child]

    # --- the load ----------------------------------------------------------------------------

    def next_n(self):
        with self.lock:
            self.counter += 1
            return self.counter

    def write(self, rng, kind):
        n = self.next_n()
        if kind == "household":
            marker = f"集群路{self.tag}-{n}号"
            path, field = "/api/v1/households", "address"
            body = {"region_id": self.village, "address": marker, "parents_work_away": rng.random() < 0.5,
                    "guardians": [{"name": "李秀英", "relation": "grandmother", "phone": f"139{rng.randrange(10**8):08d}", "is_primary": True}]}
        elif kind == "child":
            marker = f"集群{self.tag}-{n}"
            path, field = "/api/v1/children", "name"
            body = {"region_id": self.village, "household_id": self.household, "name": marker,
                    "sex": rng.choice(["female", "male"]), "birth_date": f"201{rng.randrange(10)}-0{rng.randrange(1, 10)}-1{rng.randrange(10)}",
                    "categories": ["left_behind"]}
        else:
            marker = f"cluster {self.tag} {n}"
            path, field = "/api/v1/contacts", "notes"
            body = {"kind": "home_visit", "child_id": self.contact_child, "occurred_at": "2024-03-01T09:00:00+08:00",
                    "outcome": "completed", "notes": marker}
        op = {"kind": kind, "key": f"cluster-{self.tag}-{n}", "marker": marker, "field": field, "path": path,
              "body": body, "attempts": 0, "acked": False, "id": None, "replayed": False, "error": None}
        with self.lock:
            self.ops.append(op)
        self.deliver(op)
        if op["acked"] and kind == "child":
            with self.lock:
                self.child_ids.append(op["id"])

    def deliver(self, op, until=None):
        """Sends the write, and again with the same key and body while no answer comes."""
        until = until or (lambda: self.stop.is_set() and self.now() > self.end + 60)
        delay = 0.1
        while True:
            status, body, hdrs = self.send("write", "POST", op["path"], op["body"], {"idempotency-key": op["key"]})
            op["attempts"] += 1
            if status == 201:
                op["acked"], op["id"] = True, body["id"]
                op["replayed"] = header(hdrs, "idempotent-replayed") == "true"
                return
            if status not in RETRYABLE or header(hdrs, "x-served-by") and status != 503:
                op["error"] = (status, body)
                return
            if until():
                return
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def read(self, rng, kind):
        if kind == "child":
            with self.lock:
                cid = rng.choice(self.child_ids)
            status, body, _ = self.send("read", "GET", f"/api/v1/children/{cid}")
        elif kind == "list":
            path = rng.choice([
                f"/api/v1/children?region_id={self.village}&limit=20",
                f"/api/v1/households?region_id={self.village}&limit=20",
                f"/api/v1/contacts?child_id={self.contact_child}&limit=20",
            ])
            self.send("list", "GET", path)
        elif kind == "summary":
            self.send("summary", "GET", "/api/v1/reports/summary?from=2023-06-01", token=self.reader)
        elif kind == "summary_csv":
            self.send("summary_csv", "GET", "/api/v1/reports/summary.csv?from=2023-06-01", token=self.reader)
        elif kind == "alerts":
            self.send("alerts", "GET", "/api/v1/compliance/alerts", token=self.reader)
        else:
            self.send(OWN_REPORT, "GET", "/api/v1/reports/summary?from=2023-06-01")

    MIX = [("read", "child", 25), ("read", "list", 10), ("read", "summary", 10), ("read", "summary_csv", 5),
           ("read", "alerts", 10), ("read", OWN_REPORT, 3), ("write", "household", 10), ("write", "child", 15), ("write", "contact", 15)]

    def worker(self, seed):
        rng = random.Random(seed)
        population = [(a, b) for a, b, _ in self.MIX]
        weights = [w for _, _, w in self.MIX]
        while not self.stop.is_set():
            action, kind = rng.choices(population, weights)[0]
            try:
                if action == "write":
                    self.write(rng, kind)
                else:
                    self.read(rng, kind)
            except Exception as e:  # noqa: BLE001 - a driver bug must not hide as a quiet thread
                with self.lock:
                    self.errors.append(f"{action} {kind}: {e!r}")
                time.sleep(0.1)

    def schedule(self, nodes, replica):
        """The failures, at fixed shares of the run."""
        s = self.args.seconds
        n1, n2 = nodes
        if self.args.short:
            plan = [(0.18, "kill", n1), (0.40, "restart", n1), (0.50, "stop replica", None), (0.75, "start replica", None)]
        else:
            plan = [(0.11, "kill", n1), (0.22, "restart", n1), (0.30, "stop replica", None), (0.44, "start replica", None),
                    (0.55, "kill", n2), (0.66, "restart", n2), (0.75, "stop replica", None), (0.80, "kill", n1),
                    (0.86, "restart", n1), (0.89, "start replica", None)]
        for share, what, node in plan:
            delay = share * s - self.now()
            if delay > 0 and self.stop.wait(delay):
                return
            at = self.now()
            if what == "kill":
                node.kill()
                self.down.setdefault(node.name, []).append([at, None])
                label = f"SIGKILL {node.name}"
            elif what == "restart":
                node.start()
                self.down[node.name][-1][1] = at
                label = f"restart {node.name} (ready after {self.now() - at:.1f} s)"
            elif what == "stop replica":
                replica.stop()
                self.replica_down.append([at, None])
                label = f"replica stopped (pg_ctl stop -m fast, {self.now() - at:.1f} s)"
            else:
                replica.start()
                self.replica_down[-1][1] = at
                label = f"replica started ({self.now() - at:.1f} s)"
            self.events.append((at, label))
            print(f"  {at:6.1f} s  {label}", flush=True)

    def run(self, nodes, replica):
        self.end = self.args.seconds
        self.t0 = time.monotonic()
        threads = [threading.Thread(target=self.worker, args=(i,), daemon=True) for i in range(self.args.threads)]
        for t in threads:
            t.start()
        failures = []
        sched = threading.Thread(target=lambda: self._guard(failures, self.schedule, nodes, replica), daemon=True)
        sched.start()
        self.stop.wait(self.args.seconds)
        self.stop.set()
        sched.join(timeout=120)
        for t in threads:
            t.join(timeout=120)
        # Whatever is still down (a failed schedule) comes back before the checks.
        for node in nodes:
            if self.down.get(node.name) and self.down[node.name][-1][1] is None:
                node.start()
                self.down[node.name][-1][1] = self.now()
        if self.replica_down and self.replica_down[-1][1] is None:
            replica.start()
            self.replica_down[-1][1] = self.now()
        # Writes that never got an answer: sent again, same key, until answered (60 s at most).
        pending = [op for op in self.ops if not op["acked"] and op["error"] is None]
        deadline = time.monotonic() + 60
        for op in pending:
            self.deliver(op, until=lambda: time.monotonic() > deadline)
        return failures + [f"driver: {e}" for e in self.errors]

    @staticmethod
    def _guard(failures, fn, *a):
        try:
            fn(*a)
        except Exception as e:  # noqa: BLE001
            failures.append(f"schedule: {e!r}")

    # --- the checks --------------------------------------------------------------------------

    def listed(self, path):
        """Every item of a list, page by page."""
        items, cursor = [], None
        while True:
            sep = "&" if "?" in path else "?"
            url = path + sep + "limit=200" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
            status, body, _ = call(self.base, "GET", url, self.token, timeout=30)
            if status != 200:
                raise SystemExit(f"cluster: GET {url} answered {status}: {body}")
            items += body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return items

    def rows_api(self):
        rows = {"household": [], "child": [], "contact": []}
        for h in self.listed(f"/api/v1/households?region_id={self.village}"):
            rows["household"].append((h["id"], h.get("address")))
        for c in self.listed(f"/api/v1/children?household_id={self.household}"):
            rows["child"].append((c["id"], c.get("name")))
        for c in self.listed(f"/api/v1/contacts?child_id={self.contact_child}"):
            rows["contact"].append((c["id"], c.get("notes")))
        return rows

    def rows_db(self):
        queries = {
            "household": f"SELECT id, address FROM households WHERE address LIKE '集群路{self.tag}-%'",
            "child": f"SELECT id, name FROM children WHERE name LIKE '集群{self.tag}-%'",
            "contact": f"SELECT id, notes FROM contacts WHERE notes LIKE 'cluster {self.tag} %'",
        }
        rows = {}
        for kind, sql in queries.items():
            out = subprocess.run(["psql", "-X", "-At", "-F", "\t", self.args.primary_url, "-c", sql],
                                 check=True, capture_output=True, text=True).stdout
            rows[kind] = [tuple(line.split("\t", 1)) for line in out.splitlines() if line]
        return rows

    def compare(self, rows):
        """(acknowledged writes missing, writes on more than one row)."""
        by_marker = {kind: collections.defaultdict(list) for kind in rows}
        for kind, pairs in rows.items():
            for rid, value in pairs:
                by_marker[kind][value].append(rid)
        lost, dups = [], []
        for op in self.ops:
            ids = by_marker[op["kind"]].get(op["marker"], [])
            if op["acked"] and op["id"] not in ids:
                lost.append(op)
            if len(ids) > 1:
                dups.append((op, ids))
        return lost, dups

    def sample_by_id(self, n):
        """A sample of acknowledged writes read back by id: (read, missing or different)."""
        paths = {"household": "/api/v1/households/", "child": "/api/v1/children/", "contact": "/api/v1/contacts/"}
        acked = [op for op in self.ops if op["acked"]]
        sample = random.sample(acked, min(n, len(acked)))
        bad = []
        for op in sample:
            status, body, _ = call(self.base, "GET", paths[op["kind"]] + op["id"], self.token, timeout=30)
            if status != 200 or body.get(op["field"]) != op["marker"]:
                bad.append((op, status))
        return len(sample), bad


def failover(load):
    """Per kill: seconds from the kill to the end of the last request that failed while the node
    was down (requests in flight at the kill included); 0 when none failed."""
    worst, lines = 0.0, []
    for name, spans in load.down.items():
        for killed, restarted in spans:
            restarted = restarted if restarted is not None else load.now()
            failed = [r for r in load.requests if r[3] in RETRYABLE and r[1] >= killed and r[0] < restarted]
            answered = [r for r in load.requests if r[0] >= killed and r[3] not in RETRYABLE]
            first_ok = min((r[1] for r in answered), default=None)
            s = max((r[1] - killed for r in failed), default=0.0)
            worst = max(worst, s)
            lines.append(f"  {name} killed at {killed:.1f} s: {len(failed)} requests failed until {s:.1f} s after the kill"
                         + (f", first answer {first_ok - killed:.2f} s after it" if first_ok is not None else ""))
    return worst, lines


def scan_logs(work):
    """Warnings, errors and panics in the nodes' logs: counts and a few distinct lines."""
    out = []
    for name in ("node1", "node2"):
        path = os.path.join(work, f"{name}.log")
        if not os.path.exists(path):
            continue
        counts, samples = collections.Counter(), collections.OrderedDict()
        with open(path, errors="replace") as f:
            for line in f:
                level = "panic" if "panicked" in line else "ERROR" if " ERROR " in line else "WARN" if " WARN " in line else None
                if not level:
                    continue
                counts[level] += 1
                key = re.sub(r"^\S+\s+", "", line.strip())
                key = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|\d+(\.\d+)?(ms|s|µs)?", "#", key)[:160]
                samples.setdefault(key, line.rstrip()[:400])
        out.append(f"  {name}.log: " + (", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no warnings or errors"))
        for line in list(samples.values())[:8]:
            out.append("    " + line)
    path = os.path.join(work, "haproxy.log")
    if os.path.exists(path):
        by = collections.Counter()
        with open(path, errors="replace") as f:
            for line in f:
                m = re.search(r" nodes/(\S+) \S+ (\d{3}) ", line)
                if m and not m.group(2).startswith("2"):
                    by[(m.group(1), m.group(2))] += 1
        out.append("  haproxy.log, answers other than 2xx: " + (", ".join(f"{s} {st}: {n}" for (s, st), n in sorted(by.items())) or "none"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--node", action="append", required=True, help="name=host:port, twice")
    ap.add_argument("--pg-bin", required=True)
    ap.add_argument("--primary-url", required=True)
    ap.add_argument("--replica-data", required=True)
    ap.add_argument("--replica-port", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--short", action="store_true")
    args = ap.parse_args()

    nodes = [Node(*spec.split("=", 1), os.path.abspath(args.binary), args.work) for spec in args.node]
    replica = Replica(args.pg_bin, args.replica_data, args.replica_port, args.work)
    load = Load(args)
    load.setup()
    print(f"cluster: {args.threads} threads for {args.seconds:.0f} s through {args.proxy} (writes tagged {load.tag})", flush=True)
    failures = load.run(nodes, replica)
    loaded = time.monotonic()

    # Every write, acknowledged or not, with its key, value and id (kept with TONGXING_CLUSTER_KEEP=1).
    with open(os.path.join(args.work, "writes.jsonl"), "w") as f:
        for op in load.ops:
            f.write(json.dumps({k: op[k] for k in ("kind", "key", "marker", "id", "acked", "attempts", "replayed")},
                               ensure_ascii=False) + "\n")

    # Checks: through the proxy, and in the primary.
    api_lost, api_dups = load.compare(load.rows_api())
    db_lost, db_dups = load.compare(load.rows_db())
    sampled, sample_bad = load.sample_by_id(200)
    lost = {op["key"] for op in api_lost} | {op["key"] for op in db_lost} | {op["key"] for op, _ in sample_bad}
    dups = {op["key"] for op, _ in api_dups} | {op["key"] for op, _ in db_dups}

    reqs = load.requests
    acked = [op for op in load.ops if op["acked"]]
    refused = [op for op in load.ops if op["error"] is not None]
    unanswered = [op for op in load.ops if not op["acked"] and op["error"] is None]
    retried = [op for op in load.ops if op["attempts"] > 1]
    replayed = [op for op in load.ops if op["replayed"]]
    reports = [r for r in reqs if r[2] in REPORTS]
    own = [r for r in reqs if r[2] == OWN_REPORT]
    from_replica = [r for r in reports if r[3] == 200 and r[4] == "replica"]
    from_primary = [r for r in reports if r[3] == 200 and r[4] == "primary"]

    def replica_up(r):
        return not any(a <= r[1] and r[0] <= (b if b is not None else load.now()) for a, b in load.replica_down)

    up = [r for r in reports if r[3] == 200 and replica_up(r)]
    stale, no_as_of = [], 0
    for r in reports:
        if r[3] != 200:
            continue
        try:
            as_of = datetime.datetime.fromisoformat(r[7]).timestamp()
        except (TypeError, ValueError):
            no_as_of += 1
            continue
        if r[4] == "replica":
            stale.append(r[8] - as_of)

    def no_node_up(r):  # HAProxy's own 503: no node in rotation
        return r[3] == 503 and r[5] is None and isinstance(r[6], bytes) and b"No server is available" in r[6]

    report_failed = [r for r in reports + own if r[3] != 200 and not no_node_up(r)]
    read_failed = [r for r in reqs if r[2] in ("read", "list") and r[3] != 200]
    node_errors = [r for r in reqs if r[5] is not None and r[3] >= 400]
    proxy_failed = [r for r in reqs if r[5] is None and r[3] in RETRYABLE]
    in_replica_outage = [r for r in reqs if any(a <= r[0] and (b is None or r[1] <= b) for a, b in load.replica_down)]
    s, failover_lines = failover(load)

    by_kind = collections.Counter(r[2] for r in reqs)
    print(f"cluster: {len(reqs)} requests ({', '.join(f'{k} {v}' for k, v in sorted(by_kind.items()))}); "
          f"checks took {time.monotonic() - loaded:.1f} s")
    print(f"  writes: {len(load.ops)} ({', '.join(f'{k} {v}' for k, v in sorted(collections.Counter(op['kind'] for op in load.ops).items()))}), "
          f"{len(acked)} acknowledged, {len(retried)} sent more than once, {len(replayed)} answered as a replay "
          f"(committed before their answer was lost), {len(refused)} refused, {len(unanswered)} never answered")
    print(f"  through the API: {len(api_lost)} acknowledged writes missing, {len(api_dups)} duplicated; "
          f"by id: {sampled} read back, {len(sample_bad)} missing or different")
    print(f"  in the primary (psql): {len(db_lost)} acknowledged writes missing, {len(db_dups)} duplicated")
    print(f"  report and alert reads: {len(reports)}, {len(from_replica)} from the replica, {len(from_primary)} from the primary, "
          f"{sum(1 for r in reports if r[3] == 200 and r[4] is None)} without X-Data-Source, {len(report_failed)} failed; "
          f"{len(in_replica_outage)} requests while the replica was down, "
          f"{sum(1 for r in in_replica_outage if r[3] not in (200, 201))} of them not answered 2xx")
    print(f"  reads of children and lists: {sum(1 for r in reqs if r[2] in ('read', 'list'))}, {len(read_failed)} failed; "
          f"failed at the proxy (no answer, 502/503/504): {len(proxy_failed)}; errors answered by a node: {len(node_errors)}")
    print(f"  while the replica was up: {sum(1 for r in up if r[4] == 'replica')} of {len(up)} report reads from it; "
          f"answers from the replica were {max(stale, default=0):.1f} s old at most (X-Data-As-Of against the request's "
          f"time; max lag {os.environ.get('TONGXING_REPLICA_MAX_LAG', '?')} s); {no_as_of} answers without a valid X-Data-As-Of")
    print(f"  the writer's own summary reads: {len(own)}, {sum(1 for r in own if r[4] == 'primary')} from the primary, "
          f"{sum(1 for r in own if r[4] == 'replica')} from the replica (it writes all the time: the primary is expected)")
    for line in failover_lines:
        print(line)
    outside = [r for r in proxy_failed if not any(k <= r[1] and r[0] <= (b if b is not None else load.now()) + 2
                                                  for spans in load.down.values() for k, b in spans)]
    if outside:
        print(f"  failed at the proxy outside the kills (and 2 s after each restart): {len(outside)}; first: "
              f"{outside[0][2]} at {outside[0][0]:.1f} s answered {outside[0][3]}")
    for line in scan_logs(args.work):
        print(line)

    problems = list(failures)
    problems += [f"write {op['kind']} {op['key']} refused: {op['error'][0]} {op['error'][1]}" for op in refused[:10]]
    problems += [f"write {op['kind']} {op['key']} never answered after {op['attempts']} attempts" for op in unanswered[:10]]
    problems += [f"report read {r[2]} at {r[0]:.1f} s answered {r[3]} (node {r[5]}): {r[6]!r}"[:400] for r in report_failed[:10]]
    problems += [f"{r[2]} at {r[0]:.1f} s: node {r[5]} answered {r[3]}: {r[6]!r}"[:400] for r in node_errors[:10]
                 if r[2] not in REPORTS + (OWN_REPORT,)]
    for p in problems:
        print("  FAIL " + p)
    for r in read_failed[:5]:
        print(f"  note: {r[2]} at {r[0]:.1f}-{r[1]:.1f} s answered {r[3]} (node {r[5]}): {r[6]!r}"[:400])

    share = 100.0 * len(from_replica) / len(reports) if reports else 0.0
    print(f"cluster: {len(reqs)} requests, {len(lost)} acknowledged writes lost, {len(dups)} duplicates, "
          f"{share:.1f}% of report reads served by the replica, failover {s:.1f} s", flush=True)
    sys.exit(1 if lost or dups or problems or unanswered or refused or report_failed else 0)


if __name__ == "__main__":
    main()
