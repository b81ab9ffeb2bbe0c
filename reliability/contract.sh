#!/usr/bin/env bash
# Fuzzes the live service against its own contract with Schemathesis: every operation,
# authenticated as an administrator, in all four phases (examples, coverage, fuzzing, and the
# stateful phase that follows the contract's links from a create to the record's own
# operations), with every check. Then reads the service's own request counter and fails unless
# it answered at least --min-requests requests and none of them with a 5xx.
#
# Usage: reliability/contract.sh [--backend sqlite|postgres] [--binary PATH] [--examples N]
#                         [--seed S] [--min-requests N]
# PostgreSQL: TONGXING_FUZZ_POSTGRES_URL names the server (default
# postgres://postgres@127.0.0.1:5432/postgres); a fresh database is made and dropped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
backend=sqlite bin="$root/target/debug/tongxing" examples=15 seed=20261129 min_requests=5000
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --binary) bin="$2"; shift 2 ;;
    --examples) examples="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --min-requests) min_requests="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
bin="$(realpath "$bin")"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore schemathesis==4.32.5

work="$(mktemp -d)"
pg_url="${TONGXING_FUZZ_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db="tongxing_fuzz_$$"
cleanup() {
  kill "${server:-0}" 2>/dev/null || true
  wait "${server:-0}" 2>/dev/null || true
  if [ "$backend" = postgres ]; then psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
case "$backend" in
  sqlite) export DATABASE_URL="sqlite://$work/fuzz.db" ;;
  postgres)
    psql -q "$pg_url" -c "CREATE DATABASE $db" >/dev/null
    export DATABASE_URL="${pg_url%/*}/$db" ;;
  *) echo "backend is sqlite or postgres" >&2; exit 2 ;;
esac

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export TONGXING_BIND="127.0.0.1:$port" TONGXING_LOG=warn TONGXING_ACCESS_TOKEN_TTL=7200
echo "contract-fuzz-password" | "$bin" create-admin --username fuzz.admin >/dev/null
"$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "$base/readyz" >/dev/null && break; sleep 0.2; done
token="$(curl -fs -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' \
  -d '{"grant_type":"password","username":"fuzz.admin","password":"contract-fuzz-password"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')"

status=0
schemathesis --config-file "$root/reliability/schemathesis.toml" run "$root/openapi/openapi.json" \
  --url "$base" -H "Authorization: Bearer $token" --checks all \
  --phases examples,coverage,fuzzing,stateful --max-examples "$examples" --seed "$seed" \
  --generation-database none --workers 1 --no-color --request-timeout 30 \
  --report junit --report-dir "$work/report" >"$work/schemathesis.log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  # Every error and failure, with the request that reproduces it.
  sed -n '/= \(ERRORS\|FAILURES\) =/,/= SUMMARY =/p' "$work/schemathesis.log" | grep -v "^\s*$" | cut -c1-400 | head -400
fi
sed -n '/= SUMMARY =/,$p' "$work/schemathesis.log"

metrics="$(curl -fs "$base/metrics")"
requests="$(awk '/^tongxing_http_requests_total/ { n += $NF } END { print n + 0 }' <<<"$metrics")"
errors="$(awk '/^tongxing_http_requests_total.*status="5/ { n += $NF } END { print n + 0 }' <<<"$metrics")"
alive=yes
kill -0 "$server" 2>/dev/null || alive=no
panics="$(grep -c 'panicked' "$work/server.log" || true)"
printf 'contract fuzzing (%s): schemathesis exit %s; the service answered %s requests, %s with 5xx; panics %s; alive %s\n' \
  "$backend" "$status" "$requests" "$errors" "$panics" "$alive"
[ "$status" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$panics" -eq 0 ] && [ "$alive" = yes ] || exit 1
if [ "$requests" -lt "$min_requests" ]; then
  echo "fewer than $min_requests requests: raise --examples" >&2
  exit 1
fi
