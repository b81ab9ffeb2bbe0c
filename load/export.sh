#!/usr/bin/env bash
# The export benchmark: the children's workbook (`GET /api/v1/children.xlsx`) of a large
# register, asked for by an administrator of the release binary over a seeded database; prints
# how long the download took, its size, the rows it holds (read back with openpyxl), and the
# service's resident memory idle and at its peak during the export (the target: under the
# service's 150 MB peak).
#
#   load/export.sh                       100,000 children, both backends
#   options: --children N  --backend sqlite|postgres|both  --binary PATH
#
# PostgreSQL: TONGXING_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

children=100000 backends="sqlite postgres" binary=""
while [ $# -gt 0 ]; do
  case "$1" in
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
rss() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

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
  token="$(curl -sf "http://127.0.0.1:$port/api/v1/auth/token" -H 'content-type: application/json' \
    -d "{\"grant_type\":\"password\",\"username\":\"$(json "$seed" "['username']")\",\"password\":\"$(json "$seed" "['password']")\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  idle_kb="$(rss "$server_pid" VmRSS)"
  # The peak is read for the export alone.
  echo 5 > "/proc/$server_pid/clear_refs" 2>/dev/null || true
  start="$(date +%s.%N)"
  status="$(curl -s -o "$work/children.xlsx" -w '%{http_code}' --max-time 1200 \
    -H "authorization: Bearer $token" -H 'accept-language: zh-CN' "http://127.0.0.1:$port/api/v1/children.xlsx")"
  seconds="$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")"
  peak_kb="$(rss "$server_pid" VmHWM)"
  [ "$status" = 200 ] || { echo "export $backend: answered $status" >&2; exit 1; }
  rows="$(python3 -c "import openpyxl,sys; ws=openpyxl.load_workbook(sys.argv[1], read_only=True).worksheets[0]; print(sum(1 for r in ws.iter_rows(values_only=True) if r and r[-1] and len(str(r[-1])) == 36))" "$work/children.xlsx")"
  echo "export $backend: children.xlsx of $children seeded children: $seconds s, $(( $(stat -c %s "$work/children.xlsx") / 1024 )) KiB, $rows children rows; memory idle $(( idle_kb / 1024 )) MB, peak during the export $(( peak_kb / 1024 )) MB"
  kill -TERM "$server_pid"; wait "$server_pid" || true; server_pid=""
  if [ "$backend" = postgres ]; then
    psql "$pg_admin" -qc "DROP DATABASE IF EXISTS \"${db_url##*/}\" WITH (FORCE)" >/dev/null
  else
    rm -f "${db_url#sqlite://}" "${db_url#sqlite://}-wal" "${db_url#sqlite://}-shm"
  fi
done
