#!/usr/bin/env bash
# Generates Kotlin and Swift clients from the committed contract with openapi-generator (PyPI
# wheel with the generator's jar; needs Java 11 or newer) and fails on any generator error.
# The output is thrown away: the check is that mobile teams can generate from the contract, and
# (kotlin_token_check.py) that the Kotlin client can express every token request.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore openapi-generator-cli==7.17.0
for generator in kotlin swift5; do
  openapi-generator-cli generate -i "$root/openapi/openapi.json" -g "$generator" -o "$work/$generator" >"$work/$generator.log" 2>&1 || {
    tail -20 "$work/$generator.log" >&2
    echo "$generator generation failed" >&2
    exit 1
  }
  if grep -E "\[main\] ERROR|Exception" "$work/$generator.log" >&2; then
    echo "$generator generation reported errors" >&2
    exit 1
  fi
  inline=$(find "$work/$generator" -iname '*inline*' | wc -l)
  if [ "$inline" -gt 0 ]; then
    echo "$generator: $inline anonymous inline models; name the schemas" >&2
    exit 1
  fi
  echo "$generator client generated, no anonymous inline models"
  if [ "$generator" = kotlin ]; then
    python3 "$root/sdks/mobile/kotlin_token_check.py" "$work/kotlin"
  fi
done
