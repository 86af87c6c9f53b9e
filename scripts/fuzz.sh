#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS_PER_TARGET seconds each (default 30), one
# after another, each from a fresh temporary corpus seeded with fuzz/seeds/<target>/ (so the
# committed seeds never change). Prints each target's exec count, coverage and exit status; exits
# non-zero if any target crashed, timed out or leaked past the RSS limit, leaving the crashing
# input under fuzz/artifacts/<target>/ (its path is printed).
#
#   scripts/fuzz.sh            # 30 s per target (CI)
#   scripts/fuzz.sh 600        # 10 minutes per target
#   TARGETS="words decode" scripts/fuzz.sh 60
#
# Environment: FUZZ_TOOLCHAIN (default nightly), CARGO_BUILD_JOBS (default 1), TARGETS (default:
# all), KEEP_CORPUS=1 keeps the temporary corpora (their path is printed).
set -uo pipefail

secs="${1:-30}"
toolchain="${FUZZ_TOOLCHAIN:-nightly}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz" || exit 2

if ! cargo "+$toolchain" fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 2
fi

# No sanitizer: the workspace forbids unsafe code, so what fuzzing finds here are panics, aborts,
# hangs and runaway memory; without ASan the targets run about twice as fast. Debug assertions
# on, so integer overflow and other debug checks fail loudly.
flags=(--sanitizer none --debug-assertions)

echo "== building fuzz targets ($toolchain, CARGO_BUILD_JOBS=$CARGO_BUILD_JOBS)"
build_start=$SECONDS
cargo "+$toolchain" fuzz build "${flags[@]}" || exit 2
echo "   built in $((SECONDS - build_start)) s"

targets="${TARGETS:-$(cargo "+$toolchain" fuzz list)}"
work="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-fuzz.XXXXXX")"
[ "${KEEP_CORPUS:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

failed=0
summary=()
for t in $targets; do
    corpus="$work/corpus/$t"
    mkdir -p "$corpus"
    cp -r "seeds/$t/." "$corpus/" 2>/dev/null || true
    log="$work/$t.log"
    echo "== $t: ${secs}s from $(ls "$corpus" | wc -l) seeds"
    start=$SECONDS
    cargo "+$toolchain" fuzz run "${flags[@]}" "$t" "$corpus" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
    status=$?
    took=$((SECONDS - start))
    runs="$(grep -oE 'Done [0-9]+ runs' "$log" | tail -1 | grep -oE '[0-9]+')"
    stats="$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -E 's/^#[0-9]+\s+//')"
    line="$t: status $status, ${runs:-?} execs in ${took}s; ${stats:-no stats}"
    if [ "$status" -ne 0 ]; then
        failed=1
        echo "!! $t FAILED (exit $status); last lines of the log:"
        tail -n 60 "$log"
        artifact="$(grep -oE '(Test unit written to|artifact_prefix.*Test unit written to) \S+' "$log" | awk '{print $NF}' | tail -1)"
        line="$line; artifact: ${artifact:-none written}"
    fi
    echo "   $line"
    summary+=("$line")
done

echo "== summary (${secs}s per target)"
printf '   %s\n' "${summary[@]}"
[ "${KEEP_CORPUS:-0}" = 1 ] && echo "   corpora kept in $work/corpus"
exit "$failed"
