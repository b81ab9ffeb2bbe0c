#!/usr/bin/env bash
# Generates the Python SDK from the committed contract (never committed itself) and runs the
# integrator scenario against a live service on loopback with a fresh SQLite database.
# Usage: sdks/python/run.sh [path to the tongxing binary]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$(realpath "${1:-$root/target/debug/tongxing}")"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore openapi-python-client==0.29.1
# The templates make enums tolerate values added later (sdks/README.md); the scenario checks it.
(cd "$work" && openapi-python-client generate --path "$root/openapi/openapi.json" --output-path tongxing_client --meta none \
  --custom-template-path "$root/sdks/python/templates" --config "$root/sdks/python/config.yml" >/dev/null)
if grep -rq "(IntEnum)" "$work/tongxing_client/models" && [ ! -f "$root/sdks/python/templates/int_enum.py.jinja" ]; then
  echo "the contract has an integer enum: add sdks/python/templates/int_enum.py.jinja with the same _missing_" >&2
  exit 1
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DATABASE_URL="sqlite://$work/sdk.db" TONGXING_BIND="127.0.0.1:$port" TONGXING_LOG=warn
echo "sdk-scenario-password" | "$bin" create-admin --username sdk.admin >/dev/null
"$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
PYTHONPATH="$work" python3 "$root/sdks/python/scenario.py" "http://127.0.0.1:$port" sdk.admin sdk-scenario-password
