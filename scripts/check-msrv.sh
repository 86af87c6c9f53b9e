#!/usr/bin/env bash
# The workspace builds (every target: libs, bins, tests, benches, examples) with its declared
# minimum supported Rust version, `rust-version` in the root Cargo.toml's [workspace.package].
# Installs that toolchain with rustup if it is missing (minimal profile), and checks into its own
# target directory (target/msrv) so the main build cache is not thrown away by a second compiler.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

msrv=$(sed -n '/^\[workspace\.package\]/,/^\[/{s/^rust-version *= *"\([^"]*\)".*/\1/p}' Cargo.toml)
if [[ -z "$msrv" ]]; then
    echo "check-msrv: no rust-version in [workspace.package] of Cargo.toml" >&2
    exit 2
fi

if ! rustup run "$msrv" rustc --version >/dev/null 2>&1; then
    echo "== installing Rust $msrv (minimal profile)"
    rustup toolchain install "$msrv" --profile minimal
fi

echo "== cargo +$msrv check --workspace --all-targets ($(rustup run "$msrv" rustc --version))"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR_MSRV:-$root/target/msrv}" \
    cargo "+$msrv" check --workspace --all-targets --locked
