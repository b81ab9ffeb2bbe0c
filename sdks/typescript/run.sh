#!/usr/bin/env bash
# Generates the TypeScript SDK from the committed contract (never committed itself), type-checks
# the integrator scenario against it, and runs the scenario against a live service on loopback.
# Usage: sdks/typescript/run.sh [path to the tongxing binary]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$(realpath "${1:-$root/target/debug/tongxing}")"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work" "$here/client"' EXIT

cd "$here"
npm install --silent --no-audit --no-fund >/dev/null
npx openapi-ts -i "$root/openapi/openapi.json" -o client -c @hey-api/client-fetch --silent
npx tsc -p tsconfig.json

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DATABASE_URL="sqlite://$work/sdk.db" TONGXING_BIND="127.0.0.1:$port" TONGXING_LOG=warn
echo "sdk-scenario-password" | "$bin" create-admin --username sdk.admin >/dev/null
"$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
npx tsx scenario.ts "http://127.0.0.1:$port" sdk.admin sdk-scenario-password
