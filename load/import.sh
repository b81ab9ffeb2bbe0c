#!/usr/bin/env bash
# The import benchmark: a register of new children (CSV, each row with its household and
# guardian, half of them with a national ID number) uploaded to the release binary, checked
# (the dry run) and committed, on each backend over a seeded database; prints how long each step
# took, from the upload to `checked` and from the commit to `committed`, as a client sees it.
#
#   load/import.sh                       20,000 rows over 20,000 seeded children, both backends
#   options: --rows N  --children N  --backend sqlite|postgres|both  --binary PATH
#
# PostgreSQL: TONGXING_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

rows=20000 children=20000 backends="sqlite postgres" binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) shift; rows="$1" ;;
    --children) shift; children="$1" ;;
    --backend) shift; backends="${1/both/sqlite postgres}" ;;
    --binary) shift; binary="$1" ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
pg_admin="${TONGXING_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if [ -z "$binary" ]; then
  cargo build --locked --release -q -p tongxing -p tongxing-bench
  binary=target/release/tongxing
fi
seeder="$(dirname "$binary")/tongxing-bench"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

for backend in $backends; do
  seed="$work/seed-$backend.json"
  if [ "$backend" = postgres ]; then
    "$seeder" seed --out "$seed" --postgres "$pg_admin" --children "$children" --contacts 0 --events 0 --pairings 0 --pair-contacts 0 --audit 0 >&2
  else
    TONGXING_BENCH_KEEP=1 "$seeder" seed --out "$seed" --children "$children" --contacts 0 --events 0 --pairings 0 --pair-contacts 0 --audit 0 >&2
  fi
  db_url="$(json "$seed" "['database_url']")"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  DATABASE_URL="$db_url" TONGXING_BIND="127.0.0.1:$port" TONGXING_LOG=warn "$binary" serve 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  python3 - "http://127.0.0.1:$port" "$seed" "$rows" "$backend" "$children" <<'PY'
import datetime, json, sys, time, urllib.request

base, seed, rows, backend, children = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3]), sys.argv[4], sys.argv[5]

def call(method, path, body=None, token=None, content_type="application/json"):
    req = urllib.request.Request(base + path, data=body, method=method)
    req.add_header("content-type", content_type)
    if token:
        req.add_header("authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)

token = call("POST", "/api/v1/auth/token", json.dumps({"grant_type": "password", "username": seed["username"], "password": seed["password"]}).encode())["access_token"]
# A village of the seeded town (the seed names the town its children live in).
village = call("GET", f"/api/v1/regions?parent_id={seed['region_id']}&level=village&limit=1", token=token)["items"][0]["name"]

def national_id(born, n):
    body = "421202" + born.strftime("%Y%m%d") + "%03d" % (n % 1000)
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * k for c, k in zip(body, w)) % 11]

lines = ["姓名,性别,出生日期,身份证号,类别,村/社区,地址,监护人,监护人关系,联系电话"]
for i in range(rows):
    # Birth dates spread over sixteen years, as a register's are (about one child in six thousand
    # shares a date); the sequence number keeps every ID number distinct.
    born = datetime.date(2008, 1, 1) + datetime.timedelta(days=(i * 7919) % 5844)
    nid = national_id(born, (i // 5844) % 1000) if i % 2 == 0 else ""
    lines.append(f"导入{i:05d}号,{'男' if i % 2 else '女'},{born},{nid},留守儿童,{village},幸福路{i}号,监护人{i},祖母,139{i:08d}")
csv = ("\n".join(lines) + "\n").encode()

def settle(iid, until):
    while True:
        imp = call("GET", f"/api/v1/imports/{iid}", token=token)
        if imp["state"] in (until, "failed", "checked" if until == "committed" and imp.get("failure") else "-"):
            return imp
        time.sleep(0.1)

t0 = time.monotonic()
imp = call("POST", "/api/v1/imports", csv, token, "text/csv")
imp = settle(imp["id"], "checked")
checked = time.monotonic() - t0
t1 = time.monotonic()
call("POST", f"/api/v1/imports/{imp['id']}/commit", json.dumps({"skip_invalid": True}).encode(), token)
done = settle(imp["id"], "committed")
committed = time.monotonic() - t1
print(f"import {backend}: {rows} rows over {children} seeded children: dry run {checked:.1f} s "
      f"(creates {imp['creates']}, updates {imp['updates']}, possible duplicates {imp['possible_duplicates']}, invalid {imp['invalid']}), "
      f"commit {committed:.1f} s ({done['state']}{', ' + done['failure'] if done.get('failure') else ''})")
PY
  kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
  if [ "$backend" = postgres ]; then
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS \"${db_url##*/}\" WITH (FORCE)" >/dev/null
  else
    rm -f "${db_url#sqlite://}" "${db_url#sqlite://}-wal" "${db_url#sqlite://}-shm"
  fi
done
