#!/usr/bin/env bash
# Creates or refreshes .venv with the pinned Python test tools (awscli oracle, moto server, MCP client).
# Idempotent: does nothing when the venv already matches scripts/requirements-lock.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
stamp="$venv/.portcullis-lock"
want=$(cat "$root/scripts/requirements-test.txt" "$root/scripts/requirements-lock.txt" | sha256sum | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  -r "$root/scripts/requirements-test.txt" -c "$root/scripts/requirements-lock.txt"
echo "$want" > "$stamp"
echo "venv ready: $venv" >&2
