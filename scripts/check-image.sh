#!/usr/bin/env bash
# The image's binary without a container engine: builds portcullis as deploy/Containerfile does
# (release, x86_64-unknown-linux-musl, static), checks that it is static (no ELF interpreter, no
# shared libraries), and runs `portcullis check` in a network namespace of its own (no network at
# all: only a down loopback), with an empty environment and a non-root user, as in the image.
# Needs `rustup target add x86_64-unknown-linux-musl`, Debian's musl-tools and unshare(1).
# Own target dir: target/musl. Not part of scripts/test.sh (a cold release build takes ~15 min).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=x86_64-unknown-linux-musl
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
command -v musl-gcc >/dev/null || { echo "check-image: musl-gcc missing (apt-get install musl-tools)" >&2; exit 1; }
CARGO_TARGET_DIR="$root/target/musl" cargo build --release --locked --target "$target" -p portcullis
bin="$root/target/musl/$target/release/portcullis"
if readelf -l "$bin" | grep -q INTERP || readelf -d "$bin" | grep -q NEEDED; then
  echo "check-image: $bin is not static" >&2
  readelf -d "$bin" | grep NEEDED >&2 || true
  exit 1
fi
echo "static: $(du -h "$bin" | cut -f1) $bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$(unshare -rn env -i HOME="$work" AWS_API_MCP_WORKING_DIR="$work" \
  "$bin" check "aws s3api delete-bucket --bucket prod-data")
echo "$out" | head -12
echo "$out" | grep -q "DeleteBucket" || { echo "check-image: unexpected output" >&2; exit 1; }
echo "check-image: the static binary runs \`check\` with no network"
