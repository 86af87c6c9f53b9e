#!/usr/bin/env bash
# The quick loop: the Rust tests that need no Python venv, then clippy. No .venv, no moto, no
# npm, no network; a warm run takes a couple of minutes on 2 cores.
#
# Covers:
#  * every crate's unit tests and the binary's (`cargo test --workspace --lib --bins`);
#  * every integration test binary (crates/*/tests/*.rs) that starts neither moto nor the Python
#    MCP client: those that use the venv (they mention `.venv`, `venv_python`, `Moto::` or
#    `McpEnv`, themselves or through a `mod support` that does) are skipped and listed;
#  * clippy over the workspace, all targets (the deny-level lints: no subprocess, no
#    unwrap/expect outside tests).
# Not covered: doc tests, the embedded-data and oracle checks, the moto/MCP end-to-end suites and
# the fuzz smoke run. The full suite, the README's test command, is scripts/test.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

venv_pattern='\.venv|venv_python|Moto::|McpEnv'
declare -A skip=() keep=()
for file in crates/*/tests/*.rs; do
    dir=$(dirname "$file")
    name=$(basename "$file" .rs)
    if grep -qE "$venv_pattern" "$file" \
        || { grep -qE '^\s*mod support;' "$file" \
            && grep -rqE "$venv_pattern" "$dir/support" "$dir/support.rs" 2>/dev/null; }; then
        skip[$name]=1
    else
        keep[$name]=1
    fi
done
# `--test NAME` selects that test in every crate that has one: a name that needs the venv in any
# crate is skipped everywhere.
tests=()
for name in $(printf '%s\n' "${!keep[@]}" | sort); do
    if [[ -z "${skip[$name]:-}" ]]; then
        tests+=(--test "$name")
    fi
done
skipped=$(printf '%s\n' "${!skip[@]}" | sort | tr '\n' ' ')

echo "== cargo test: unit tests and $(( ${#tests[@]} / 2 )) venv-free integration test binaries"
echo "   (skipped, they need the venv: ${skipped:-none})"
cargo test --workspace --locked --lib --bins "${tests[@]}"

echo "== the sandbox's tables on its portable backend (cap-std, as on macOS and Windows)"
PORTCULLIS_TEST_SANDBOX_BACKEND=cap-std cargo test --locked -p portcullis-sandbox --tests

echo "== cargo clippy (deny-level lints: no subprocess, no unwrap/expect outside tests)"
cargo clippy --workspace --all-targets --locked
