#!/usr/bin/env bash
# Runs sdks/docs/browser_check.py, headless Chromium driven by Selenium (PyPI), against the docs
# page (/docs/) of a live service on loopback with a fresh SQLite database: the page renders the
# contract, asks nothing of another host, and its Try-it-out calls the API with a token.
# Usage: sdks/docs/run.sh [path to the tongxing binary]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$(realpath "${1:-$root/target/debug/tongxing}")"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore selenium==4.51.0
# Debian's Chromium and its matching driver (Selenium never downloads a browser here).
if [ ! -x /usr/bin/chromedriver ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DATABASE_URL="sqlite://$work/docs.db" TONGXING_BIND="127.0.0.1:$port" TONGXING_LOG=warn
echo "docs-check-password" | "$bin" create-admin --username sdk.admin >/dev/null
"$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done
python3 "$root/sdks/docs/browser_check.py" "http://127.0.0.1:$port" sdk.admin docs-check-password
