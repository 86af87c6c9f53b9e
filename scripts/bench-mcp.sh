#!/usr/bin/env bash
# Portcullis `serve` and the pinned awslabs.aws-api-mcp-server side by side, offline against the
# same moto server, driven by the same MCP client (bench/mcp_bench.py): start-up to `initialize`,
# `call_aws` latency of a read and of a denied command, RSS after 100 calls, and the raw moto floor.
# Prints a table; asserts nothing (a benchmark, not a test).
# Over streamable HTTP under concurrent load, the same two servers: scripts/bench-load.sh --awslabs.
#
#   scripts/bench-mcp.sh [--calls 50] [--startup-runs 10] [--awslabs-startup-runs 5] [--only portcullis|awslabs]
#
# PORTCULLIS_BIN=path benchmarks that binary instead of building target/release/portcullis.
# The awslabs server gets its own venv, .venv-awslabs (it pins awscli 1.46.0 and mcp<2), installed
# from bench/requirements-awslabs.txt; creating it needs PyPI once, the benchmark itself is offline.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# The project venv: moto, botocore and the mcp 2.3.0 client.
scripts/setup-venv.sh

# The awslabs venv, idempotent: rebuilt only when the requirements file changes.
venv="$root/.venv-awslabs"
req="$root/bench/requirements-awslabs.txt"
want=$(sha256sum "$req" | cut -d' ' -f1)
if ! [ -x "$venv/bin/python" ] || [ "$(cat "$venv/.portcullis-lock" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$venv/.portcullis-lock"
  echo "venv ready: $venv" >&2
fi

if [ -n "${PORTCULLIS_BIN:-}" ]; then
  bin=$PORTCULLIS_BIN
else
  cargo build --release -p portcullis --quiet
  bin="$root/target/release/portcullis"
fi
[ -x "$bin" ] || { echo "no portcullis binary at $bin" >&2; exit 1; }

exec "$root/.venv/bin/python" "$root/bench/mcp_bench.py" --portcullis "$bin" \
  --awslabs-python "$venv/bin/python" "$@"
