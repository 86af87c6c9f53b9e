#!/usr/bin/env bash
# cargo-deny over the workspace's dependency graph, by deny.toml: licences (permissive only),
# bans (duplicate versions warn) and sources (crates.io only).
#
# Advisories are NOT checked here: the RustSec database is a git fetch and this project's build
# machines reach only the package registries. `--offline` makes sure deny itself fetches nothing; where a network exists,
# run `cargo deny check advisories` by hand.
#
# Installs the pinned cargo-deny first when `cargo deny --version` is anything else (a fresh
# machine: `cargo install --locked`, ~7 minutes on 2 cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

version=0.20.2
if [[ "$(cargo deny --version 2>/dev/null || true)" != "cargo-deny $version" ]]; then
    echo "== installing cargo-deny $version"
    cargo install cargo-deny --version "$version" --locked
fi

# cargo-deny reads `cargo metadata` for every platform, so crates only Windows or Android pull in
# (windows-sys, android_system_properties) must be in the local registry too: a build on Linux
# never downloads them. `cargo fetch` gets them from crates.io (reachable; only the advisory git
# fetch is not).
echo "== cargo fetch --locked (all platforms' crates, for cargo metadata)"
cargo fetch --locked

echo "== cargo deny check licenses bans sources (advisories skipped: no network)"
# Inclusion graphs hidden: the duplicate-version warnings would print ~800 lines. To see what
# pulls a crate in: `cargo tree -i <crate>`, or run this line without the flag.
cargo deny --offline --locked check --hide-inclusion-graph licenses bans sources
