#!/usr/bin/env bash
# Gateway overhead benchmark: what a proxied tools/call costs over calling the upstream directly.
# One upstream (the tests' hostile server in its benign mode: Python standard library, `echo`),
# called (1) directly over stdio and (2) through `portcullis gateway` over stdio, with the same
# native load generator (`portcullis-load`, release builds), one request in flight (latency, not
# throughput) and then 8. The gateway writes one audit record per call with
# PORTCULLIS_AUDIT_FSYNC=always (the default), then with `never` to show what the disk's fdatasync
# costs. Prints the table of each run and the overhead (gateway minus direct) at p50 and p99.
# Asserts nothing (a benchmark, not a test).
#
#   scripts/bench-gateway.sh [--duration 5s] [--no-build]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
duration=5s
build=1
while [ $# -gt 0 ]; do
  case $1 in
    --duration) duration=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$build" = 1 ]; then
  cargo build --release -p portcullis -p portcullis-loadtest --quiet
fi
bin=$root/target/release/portcullis
load=$root/target/release/portcullis-load
hostile=$root/crates/portcullis/tests/gateway/hostile.py
tmp=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-bench-gateway.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/gateway.toml" <<TOML
[policy]
mode = "allow"
[upstreams.bench]
command = "python3"
args = ["$hostile"]
pass_env = ["PATH"]
env = { HOSTILE_MODE = "benign" }
TOML
base_env=(env -i "PATH=$PATH" "HOME=$tmp" "XDG_STATE_HOME=$tmp/state" "PORTCULLIS_GATEWAY_CONFIG=$tmp/gateway.toml")
"${base_env[@]}" "$bin" gateway pin >/dev/null

common=(--arguments '{"text":"hello"}' --duration "$duration" --warmup 2s --timeout 10s --json)
run() { # label connections fsync|direct
  local label=$1 conns=$2 mode=$3 out
  if [ "$mode" = direct ]; then
    out=$("${base_env[@]}" HOSTILE_MODE=benign "$load" "${common[@]}" --tool echo --connections "$conns" \
      --stdio python3 "$hostile" 2>"$tmp/$label.err")
  else
    out=$("${base_env[@]}" "PORTCULLIS_AUDIT_FSYNC=$mode" "$load" "${common[@]}" --tool bench__echo \
      --connections "$conns" --stdio "$bin" gateway serve 2>"$tmp/$label.err")
  fi
  echo "$out" > "$tmp/$label.json"
}
for conns in 1 8; do
  run "direct-$conns" "$conns" direct
  run "gateway-always-$conns" "$conns" always
  run "gateway-never-$conns" "$conns" never
done
python3 - "$tmp" <<'PY'
import json, sys, os
tmp = sys.argv[1]
def level(label):
    with open(os.path.join(tmp, label + ".json")) as f:
        v = json.load(f)
    return v["levels"][0]
print(f"{'run':<24}{'calls/s':>10}{'ok':>8}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}")
rows = {}
for conns in (1, 8):
    for kind in ("direct", "gateway-always", "gateway-never"):
        label = f"{kind}-{conns}"
        l = level(label)
        rows[label] = l
        lat = l["latency_ms"]
        errors = l["requests"] - l["ok"]
        print(f"{label:<24}{l['rps']:>10.0f}{l['ok']:>8}{errors:>8}{lat['p50']:>9.3f}{lat['p99']:>9.3f}")
print()
for conns in (1, 8):
    d = rows[f"direct-{conns}"]["latency_ms"]
    for fs in ("always", "never"):
        g = rows[f"gateway-{fs}-{conns}"]["latency_ms"]
        print(f"overhead, {conns} in flight, audit fsync {fs}: p50 +{g['p50'] - d['p50']:.3f} ms, p99 +{g['p99'] - d['p99']:.3f} ms")
PY
