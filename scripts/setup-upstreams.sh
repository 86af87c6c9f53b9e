#!/usr/bin/env bash
# Installs the pinned third-party MCP servers that the gateway tests put behind Portcullis
# (crates/portcullis/tests/gateway):
# * .venv-upstreams/dynamodb and .venv-upstreams/iam: awslabs.dynamodb-mcp-server and
#   awslabs.iam-mcp-server, one venv each (their dependencies conflict), each installed from
#   requirements-<name>.txt constrained by requirements-<name>.lock;
# * npm/node_modules: @modelcontextprotocol/server-filesystem and server-everything, locked by
#   npm/package-lock.json.
# Idempotent: a venv is rebuilt only when the sha256 of its requirements and lock differs from the
# one stamped in it, and `npm ci` runs only when node_modules is missing or older than
# package-lock.json. Assumes node and npm are installed (scripts/setup-node.sh runs first).
# Silent apart from one line on stderr saying what is ready.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
gateway="$root/crates/portcullis/tests/gateway"
venvs="$root/.venv-upstreams"

for name in dynamodb iam; do
  venv="$venvs/$name"
  req="$gateway/requirements-$name.txt"
  lock="$gateway/requirements-$name.lock"
  stamp="$venv/.portcullis-lock"
  want=$(cat "$req" "$lock" | sha256sum | cut -d' ' -f1)
  if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    continue
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" -c "$lock"
  echo "$want" > "$stamp"
done

npm_dir="$gateway/npm"
command -v npm >/dev/null 2>&1 \
  || { echo "setup-upstreams: npm is missing (run scripts/setup-node.sh first)" >&2; exit 1; }
if [ ! -d "$npm_dir/node_modules" ] || [ "$npm_dir/package-lock.json" -nt "$npm_dir/node_modules" ]; then
  (cd "$npm_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$npm_dir/node_modules" # npm ci may keep an old mtime; mark it up to date
fi
echo "upstream MCP servers ready: $venvs/{dynamodb,iam}/bin/awslabs.{dynamodb,iam}-mcp-server," \
  "$npm_dir/node_modules/.bin/mcp-server-{filesystem,everything}" >&2
