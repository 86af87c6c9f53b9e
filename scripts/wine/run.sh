#!/usr/bin/env bash
# Runs a Windows test executable under Wine for cargo (CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER,
# set by scripts/test-platforms.sh). Wine 8 now and then fails to start a process: it exits 1
# before the program prints a byte (seen once in about 80 test-executable starts in CI). Rust's
# test harness always prints "running N tests" first, so only a non-zero exit with no output at
# all is started again (twice at most, said on stderr); a failure after any output never is.
set -uo pipefail
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for attempt in 1 2 3; do
  /usr/lib/wine/wine64 "$@" > "$out"
  status=$?
  if [ "$status" -eq 0 ] || [ -s "$out" ] || [ "$attempt" -eq 3 ]; then
    cat "$out"
    exit "$status"
  fi
  echo "wine: $1 exited $status before printing anything (Wine failed to start it); starting it again" >&2
done
