#!/usr/bin/env bash
# Resilience scenarios of `portcullis serve --transport http` (crates/loadtest,
# `portcullis-scenarios`), against the release build, with fault-injecting AWS stand-ins inside
# the scenario runner and everything on loopback:
#   spike     policy-only calls at 300/s, 3000/s for a few seconds, 300/s again
#   slowdown  SQS turns slow (2 s) while SNS stays fast; latencies and concurrency limits
#   throttle  SQS throttles every request for 30 s (8 s with --quick); attempts, breaker, budget
#   harddown  SQS refuses connections; fail-fast latency with the breaker open, /readyz
#   sessions  10 000 idle MCP sessions; RSS, a new session's latency, eviction at the default caps
# Each scenario starts its own server (temporary HOME, audit trail, token), stops by itself and
# prints its figures and PASS/FAIL per criterion. Exit status: 0 all passed, 1 a criterion
# failed, 2 a scenario could not run.
#
#   scripts/bench-scenarios.sh [--quick] [--only NAME[,NAME...]] [--spike-base RATE] [--no-build]
#
# PORTCULLIS_BIN / PORTCULLIS_SCENARIOS_BIN: use those binaries instead of building the release
# ones. PORTCULLIS_SCENARIOS_KEEP=1 keeps each server's temporary directory (printed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

args=()
build=1
while [ $# -gt 0 ]; do
  case $1 in
    --quick) args+=(--quick); shift ;;
    --only) args+=(--only "$2"); shift 2 ;;
    --spike-base) args+=(--spike-base "$2"); shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "${PORTCULLIS_BIN:-}" ] || [ -z "${PORTCULLIS_SCENARIOS_BIN:-}" ]; then
  if [ "$build" = 1 ]; then
    cargo build --release -p portcullis -p portcullis-loadtest --offline --quiet
  fi
fi
bin=${PORTCULLIS_BIN:-$root/target/release/portcullis}
runner=${PORTCULLIS_SCENARIOS_BIN:-$root/target/release/portcullis-scenarios}
for b in "$bin" "$runner"; do
  [ -x "$b" ] || { echo "missing binary: $b" >&2; exit 1; }
done

# The runner bounds every scenario itself (and kills the servers it started); this is the outer
# bound on the whole run.
exec timeout -k 10 900 "$runner" --bin "$bin" "${args[@]}"
