#!/usr/bin/env bash
# Runs sdks/oauth/scenario.py, a standard OAuth 2.0 client library (authlib, PyPI) against a live
# service on loopback with a fresh SQLite database: discovery, every grant with both client
# authentication methods, refresh, revocation, and each error read as an OAuth error.
# Usage: sdks/oauth/run.sh [path to the tongxing binary]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$(realpath "${1:-$root/target/debug/tongxing}")"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore authlib==1.9.10 requests

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DATABASE_URL="sqlite://$work/oauth.db" TONGXING_BIND="127.0.0.1:$port" TONGXING_LOG=warn
echo "oauth-scenario-password" | "$bin" create-admin --username oauth.admin >/dev/null
"$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
python3 "$root/sdks/oauth/scenario.py" "http://127.0.0.1:$port" oauth.admin oauth-scenario-password
