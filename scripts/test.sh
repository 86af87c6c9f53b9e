#!/usr/bin/env bash
# The project's whole test suite (the README's test command; .ci/run calls it).
#  1. the pinned Python tools in .venv (the awscli oracle, moto, the MCP client, cloudsplaining),
#     Debian's chromium for the blast-radius report's browser check (scripts/setup-browser.sh) and
#     Node.js with the pinned OpenID provider for the OAuth tests (scripts/setup-node.sh) and
#     Debian's redis-server for the replica tests (scripts/setup-redis.sh), and the pinned upstream MCP
#     servers the gateway tests front (scripts/setup-upstreams.sh: npm and PyPI), and the cross
#     tools (scripts/setup-cross.sh: mingw-w64, wine64, musl-tools, zig, cargo-zigbuild);
#  2. the embedded data is what its generators produce from the pinned upstream packages;
#  3. the parser corpus expectations are what the pinned awscli says today;
#  4. the lints that make invariants structural (no subprocess: clippy's disallowed types);
#  5. every Rust test of the workspace;
#     the sandbox's tables again on its portable (cap-std) backend;
#  6. the other platforms (scripts/test-platforms.sh: Windows built and tested under Wine, a static
#     musl build, macOS compiled and its portable tests linked) and `cargo install` from the
#     packaged crates (scripts/test-package.sh);
#  7. a short run of every fuzz target (scripts/fuzz.sh);
#  8. formatting (`cargo fmt --check`, rustfmt.toml);
#  9. dependency licences, duplicate versions and sources (scripts/check-deny.sh, deny.toml);
# 10. the API docs build without warnings (scripts/check-docs.sh);
# 11. the workspace builds with the rust-version it declares (scripts/check-msrv.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# A clean clone's run needs about need_gb of free disk (target/, the venvs, Wine's prefix, the
# fuzz and MSRV builds); without it the build stops half-way with "No space left on device".
need_gb=20
free_gb=$(df -Pk "$root" | awk 'NR==2 { print int($4 / 1048576) }')
echo "== free disk: ${free_gb} GB (a clean clone's run needs about ${need_gb} GB)"
if [ "$free_gb" -lt "$need_gb" ]; then
  echo "warning: less than ${need_gb} GB free under $root: the build may run out of space" >&2
fi
scripts/setup-venv.sh
scripts/setup-browser.sh
scripts/setup-node.sh
scripts/setup-redis.sh
scripts/setup-upstreams.sh
scripts/setup-cross.sh
py="$root/.venv/bin/python"

echo "== embedded data is reproducible"
scripts/check-data.sh

echo "== parser corpus matches the pinned awscli"
"$py" scripts/oracle_parse.py --check

echo "== endpoint oracle matches the pinned botocore"
"$py" scripts/oracle_endpoints.py --check

echo "== formatting (cargo fmt --check; the fuzz workspace too)"
cargo fmt --all --check
(cd fuzz && cargo fmt --check)

echo "== dependency licences, bans and sources (cargo-deny; advisories need the network: not run)"
scripts/check-deny.sh

echo "== cargo clippy (deny-level lints: no subprocess, no unwrap/expect outside tests)"
cargo clippy --workspace --all-targets --locked

echo "== cargo test"
cargo test --workspace --locked

echo "== the sandbox's tables on its portable backend (cap-std, as on macOS and Windows)"
PORTCULLIS_TEST_SANDBOX_BACKEND=cap-std cargo test --locked -p portcullis-sandbox --tests

echo "== other platforms: Windows (Wine), static musl, macOS (compiled; portable tests linked)"
scripts/test-platforms.sh

echo "== cargo install from the packaged crates"
scripts/test-package.sh

echo "== API docs build without warnings"
scripts/check-docs.sh

echo "== fuzz smoke run (every target, 10 s each; the 10-minute runs are in the closing notes)"
CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" scripts/fuzz.sh 10

echo "== the workspace builds with its declared MSRV (own target dir: target/msrv)"
scripts/check-msrv.sh
