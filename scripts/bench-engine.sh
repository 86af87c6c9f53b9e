#!/usr/bin/env bash
# The engine against the network floor: starts moto server from the project venv on a loopback
# port, then runs the criterion benchmark `engine` of portcullis-wire (release build).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup-venv.sh
log=$(mktemp)
.venv/bin/python -m moto.server -H 127.0.0.1 -p 0 >"$log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
  port=$(grep -o 'Running on http://127.0.0.1:[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "moto did not start" >&2; cat "$log" >&2; exit 1; }
export PORTCULLIS_BENCH_ENDPOINT="http://127.0.0.1:$port"
cargo bench -p portcullis-wire --bench engine "$@"
