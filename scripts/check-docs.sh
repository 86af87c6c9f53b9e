#!/usr/bin/env bash
# The API documentation of every workspace crate builds without a warning: broken or ambiguous
# intra-doc links, invalid code-block attributes, bare URLs, ... are errors (`-D warnings`).
# Only our crates are documented (`--no-deps`); the doc tests run with `cargo test`. With
# `--keep-going`, one run names every crate that fails, not just the first.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

echo "== cargo doc --workspace --no-deps (RUSTDOCFLAGS=-D warnings)"
RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -D warnings" cargo doc --workspace --no-deps --locked --keep-going
