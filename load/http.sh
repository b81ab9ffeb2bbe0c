#!/usr/bin/env bash
# The load harness: seeds a database at volume through the store, starts the service, drives it
# over loopback with wrk at 2 and 32 connections, measures the limits in the same run (the
# binary's own /healthz; on PostgreSQL `pgbench -S -M prepared`), and prints one table per
# backend, also written as JSON (load/results/<backend>.json) so that runs can be compared.
#
#   load/http.sh                      full volume, SQLite and PostgreSQL, 10 s per measurement
#   load/http.sh --short              small volume, 2 s per measurement (what CI runs)
#   options: --backend sqlite|postgres|both   --seconds N   --binary PATH (default: release build)
#
# PostgreSQL: TONGXING_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres)
# names a server where the harness may create and drop databases.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full backends="sqlite postgres" seconds="" binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --short) mode=short ;;
    --backend) shift; backends="${1/both/sqlite postgres}" ;;
    --seconds) shift; seconds="$1" ;;
    --binary) shift; binary="$1" ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
pg_admin="${TONGXING_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

# The load tools, from Debian's packages when missing.
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v pgbench >/dev/null || need+=(postgresql-contrib)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "$mode" = full ]; then
  sizes=(--children 100000 --contacts 1000000 --events 10000 --pairings 20000 --pair-contacts 500000 --audit 1000000)
  seconds="${seconds:-10}"
  settle=10
  profile=release
else
  sizes=(--children 2000 --contacts 20000 --events 200 --pairings 500 --pair-contacts 10000 --audit 20000)
  seconds="${seconds:-2}"
  settle=1
  profile=debug
fi
if [ -z "$binary" ]; then
  if [ "$profile" = release ]; then
    cargo build --locked --release -q -p tongxing -p tongxing-bench
  else
    cargo build --locked -q -p tongxing -p tongxing-bench
  fi
  binary="target/$profile/tongxing"
fi
seeder="$(dirname "$binary")/tongxing-bench"
[ -x "$seeder" ] || cargo build --locked -q -p tongxing-bench
[ -x "$seeder" ] || seeder=target/debug/tongxing-bench

work="$(mktemp -d)"
mkdir -p load/results
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }
rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# Resets the process's peak resident memory (VmHWM), so that each scenario's own peak is read.
reset_peak() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }

for backend in $backends; do
  echo "== $backend: seeding ($mode)" >&2
  seed="$work/seed-$backend.json"
  if [ "$backend" = postgres ]; then
    "$seeder" seed --out "$seed" --postgres "$pg_admin" "${sizes[@]}"
  else
    TONGXING_BENCH_KEEP=1 "$seeder" seed --out "$seed" "${sizes[@]}"
  fi
  json "$seed" "['child_ids']" >/dev/null
  python3 -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))['child_ids']))" "$seed" > "$work/ids"
  db_url="$(json "$seed" "['database_url']")"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  DATABASE_URL="$db_url" TONGXING_BIND="127.0.0.1:$port" TONGXING_LOG=warn "$binary" serve 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  base="http://127.0.0.1:$port"
  token="$(curl -sf -XPOST "$base/api/v1/auth/token" -H 'content-type: application/json' \
    -d "{\"grant_type\":\"password\",\"username\":\"$(json "$seed" "['username']")\",\"password\":\"$(json "$seed" "['password']")\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  sleep 1
  idle_kb="$(rss "$server_pid" VmRSS)"
  results="$work/runs-$backend.jsonl"
  : > "$results"
  for scenario in healthz get_child list_children create_contact alerts summary; do
    # Reports and the alert list queue for their turn up to 30 s, then answer 503 busy: wrk
    # waits longer than that, so that what counts is the service's answer.
    timeout=10s
    case $scenario in alerts | summary) timeout=40s ;; esac
    for c in 2 32; do
      reset_peak "$server_pid"
      line="$(SCENARIO=$scenario TOKEN=$token IDS_FILE="$work/ids" REGION="$(json "$seed" "['region_id']")" \
        wrk -t2 -c$c -d"${seconds}s" --timeout "$timeout" -s load/wrk/scenario.lua "$base" | tail -1)"
      echo "{\"scenario\":\"$scenario\",\"connections\":$c,\"peak_kb\":$(rss "$server_pid" VmHWM),\"result\":$line}" >> "$results"
      echo "   $scenario c=$c $line" >&2
      # Requests wrk gave up on may still be running: let them finish before the next run.
      sleep "$settle"
    done
  done
  # Memory under the heaviest concurrency the targets name.
  reset_peak "$server_pid"
  line="$(SCENARIO=get_child TOKEN=$token IDS_FILE="$work/ids" wrk -t2 -c64 -d"${seconds}s" --timeout 10s -s load/wrk/scenario.lua "$base" | tail -1)"
  peak_kb="$(rss "$server_pid" VmHWM)"
  echo "{\"scenario\":\"get_child\",\"connections\":64,\"peak_kb\":$peak_kb,\"result\":$line}" >> "$results"
  kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
  limits="$work/limits-$backend.json"
  echo '{}' > "$limits"
  if [ "$backend" = postgres ]; then
    pgdb="tongxing_pgbench_$$"
    psql "$pg_admin" -qc "CREATE DATABASE $pgdb" >/dev/null
    pg_url="${pg_admin%/*}/$pgdb"
    pgbench -q -i -s 10 "$pg_url" >/dev/null 2>&1
    for c in 2 32; do
      tps="$(pgbench -S -M prepared -c $c -j 2 -T "$seconds" "$pg_url" 2>/dev/null | awk '/^tps/ { print $3; exit }')"
      python3 - "$limits" "$c" "$tps" <<'PY'
import json, sys
path, c, tps = sys.argv[1], sys.argv[2], float(sys.argv[3])
d = json.load(open(path)); d[f"pgbench_{c}"] = tps; json.dump(d, open(path, "w"))
PY
    done
    psql "$pg_admin" -qc "DROP DATABASE $pgdb" >/dev/null
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS \"${db_url##*/}\" WITH (FORCE)" >/dev/null
  else
    rm -f "${db_url#sqlite://}" "${db_url#sqlite://}-wal" "${db_url#sqlite://}-shm"
  fi
  python3 load/report.py "$backend" "$mode" "$seed" "$results" "$limits" "$idle_kb" "$peak_kb" "load/results/$backend.json" \
    || failed=1
done
# Requests that failed (non-2xx, timeouts) fail the run, after every table is printed.
exit "${failed:-0}"
