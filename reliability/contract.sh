#!/usr/bin/env bash
# Fuzzes the live service against its own contract with Schemathesis, once per role: admin,
# coordinator, caseworker, mentor, volunteer, and a partner organisation's API client. Each run
# gets a fresh database loaded with the demo dataset, a fresh service, and an account of its
# role that holds data (reliability/fuzz_setup.py); then Schemathesis runs the operations the
# role may call, with every check: the admin in all four phases (examples, coverage, fuzzing, and
# the stateful phase, which follows the contract's links), the others without the coverage
# phase (see below). The hooks (reliability/fuzz_hooks.py) put the ids of records the role
# reaches into paths, bodies and queries, the record's current ETag into If-Match and a fresh
# Idempotency-Key into every create, most of the time.
#
# A run fails on any 5xx, a panic, a dead service, a failed check; when the service's request
# counter differs from what was sent to it; and, for the admin, when fewer than 90% of the
# operations got at least one 2xx (reliability/fuzz_report.py prints the figures of every role).
#
# Usage: reliability/contract.sh [--backend sqlite|postgres] [--binary PATH] [--examples N]
#                                [--seed S] [--roles admin,coordinator,...]
# --examples is the maximum of generated cases per operation and phase (every role).
# TONGXING_FUZZ_KEEP=1 keeps each run's logs, counts and ids (the path is printed at the end).
# PostgreSQL: TONGXING_FUZZ_POSTGRES_URL names the server (default
# postgres://postgres@127.0.0.1:5432/postgres); a fresh database is made and dropped per role.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
backend=sqlite bin="$root/target/debug/tongxing" examples=12 seed=20261129
roles="admin,coordinator,caseworker,mentor,volunteer,partner"
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="$2"; shift 2 ;;
    --binary) bin="$2"; shift 2 ;;
    --examples) examples="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --roles) roles="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
case "$backend" in sqlite | postgres) ;; *) echo "backend is sqlite or postgres" >&2; exit 2 ;; esac
for role in ${roles//,/ }; do
  case "$role" in admin | coordinator | caseworker | mentor | volunteer | partner) ;;
    *) echo "unknown role $role" >&2; exit 2 ;;
  esac
done
bin="$(realpath "$bin")"
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore schemathesis==4.32.5

work="$(mktemp -d)"
pg_url="${TONGXING_FUZZ_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
server="" db=""
stop() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=""
  if [ -n "$db" ]; then psql -q "$pg_url" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  db=""
}
# TONGXING_FUZZ_KEEP=1 keeps the logs, counts and databases' files of every run in $work.
cleanup() {
  stop
  if [ -n "${TONGXING_FUZZ_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# One role's run; returns non-zero when any of its gates fails.
fuzz_role() {
  local role="$1" dir="$work/$1" started=$SECONDS
  mkdir -p "$dir"
  case "$backend" in
    sqlite) export DATABASE_URL="sqlite://$dir/fuzz.db" ;;
    postgres)
      db="tongxing_fuzz_$$_$role"
      psql -q "$pg_url" -c "CREATE DATABASE $db" >/dev/null
      export DATABASE_URL="${pg_url%/*}/$db" ;;
  esac
  local port base
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  base="http://127.0.0.1:$port"
  # Two limits would turn most of a run into 429s: the partner client's requests a minute (600
  # by default), and the failed sign-ins an address may make (20 a quarter of an hour; every
  # request comes from 127.0.0.1, and the fuzzer's sign-ins mostly fail). Their own tests
  # cover them; the sign-in throttle per username stays as it is.
  export TONGXING_BIND="127.0.0.1:$port" TONGXING_LOG=warn TONGXING_ACCESS_TOKEN_TTL=7200 \
    TONGXING_CLIENT_RATE_LIMIT=1000000 TONGXING_LOGIN_FAILURES_PER_ADDRESS=10000
  # (A function called as a condition runs without `set -e`: each step says when it failed.)
  "$bin" seed-demo >/dev/null || { stop; return 1; }
  echo "contract-fuzz-password" | "$bin" create-admin --username fuzz.admin >/dev/null || { stop; return 1; }
  "$bin" serve >"$dir/server.log" 2>&1 &
  server=$!
  # Readiness polls: those answered are counted by the service, so by us.
  local polls=0 code
  for _ in $(seq 1 150); do
    code="$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz" || true)"
    [ "$code" != 000 ] && polls=$((polls + 1))
    [ "$code" = 200 ] && break
    sleep 0.2
  done
  python3 "$root/reliability/fuzz_setup.py" --base "$base" --contract "$root/openapi/openapi.json" --role "$role" \
    --admin fuzz.admin --password contract-fuzz-password --seed "$seed" --out "$dir" ||
    { echo "$backend/$role: setup failed" >&2; stop; return 1; }

  local include token phases=examples,coverage,fuzzing,stateful status=0
  include="$(python3 -c 'import json, sys; print("^(" + "|".join(json.load(open(sys.argv[1]))["operations"]) + ")$")' "$dir/ids.json")"
  token="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["token"])' "$dir/ids.json")"
  # The coverage phase's boundary values test input validation, which is the same whoever
  # calls (the guard admits the role first, then the same handler validates): the admin's run
  # covers it. The stateful phase follows the contract's links: a role none of whose
  # operations links to another (the partner's reads) has nothing for it.
  [ "$role" = admin ] || phases=examples,fuzzing,stateful
  python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["linked"] else 1)' "$dir/ids.json" ||
    phases="${phases%,stateful}"
  PYTHONPATH="$root/reliability" SCHEMATHESIS_HOOKS=fuzz_hooks TONGXING_FUZZ_DIR="$dir" \
    TONGXING_FUZZ_CONTRACT="$root/openapi/openapi.json" \
    schemathesis --config-file "$root/reliability/schemathesis.toml" run "$root/openapi/openapi.json" \
    --url "$base" -H "Authorization: Bearer $token" --include-operation-id-regex "$include" --checks all \
    --phases "$phases" --max-examples "$examples" --seed "$seed" \
    --generation-database none --workers 1 --no-color --request-timeout 30 \
    >"$dir/schemathesis.log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    # Every error and failure, with the request that reproduces it.
    sed -n '/= \(ERRORS\|FAILURES\) =/,/= SUMMARY =/p' "$dir/schemathesis.log" | grep -v "^\s*$" | cut -c1-2000 | head -400
  fi
  sed -n '/^Test Phases:/,/^$/p;/^Test cases:/,/^$/p' "$dir/schemathesis.log"

  curl -fs "$base/metrics" >"$dir/metrics.txt"
  local errors alive=yes panics rc=0
  errors="$(awk '/^tongxing_http_requests_total.*status="5/ { n += $NF } END { print n + 0 }' "$dir/metrics.txt")"
  kill -0 "$server" 2>/dev/null || alive=no
  panics="$(grep -c 'panicked' "$dir/server.log" || true)"
  local gate=()
  [ "$role" = admin ] && gate=(--min-coverage 90)
  python3 "$root/reliability/fuzz_report.py" --dir "$dir" --label "$backend/$role" --script-requests "$polls" \
    "${gate[@]}" || rc=1
  printf '%s/%s: schemathesis exit %s; %s answers with 5xx; panics %s; alive %s; %d s\n' \
    "$backend" "$role" "$status" "$errors" "$panics" "$alive" $((SECONDS - started))
  if [ "$errors" -ne 0 ] || [ "$panics" -ne 0 ]; then
    grep -m 20 -B2 -A10 'panicked\|ERROR' "$dir/server.log" | cut -c1-400 || true
  fi
  stop
  [ "$status" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$panics" -eq 0 ] && [ "$alive" = yes ] && [ "$rc" -eq 0 ]
}

overall=0 failed=()
for role in ${roles//,/ }; do
  printf '\n-- contract fuzzing: %s as %s\n' "$backend" "$role"
  if ! fuzz_role "$role"; then overall=1; failed+=("$role"); fi
done
if [ "$overall" -ne 0 ]; then
  echo "contract fuzzing ($backend): FAILED for ${failed[*]}" >&2
  exit 1
fi
echo "contract fuzzing ($backend): every role passed"
