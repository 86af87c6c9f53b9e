#!/usr/bin/env bash
# Installs what the platform tests (scripts/test-platforms.sh) need, pinned where a registry has
# versions: Debian's mingw-w64 (the Windows linker and C compiler for aws-lc), wine64 (runs the
# Windows tests) and musl-tools (the static Linux build); the Rust targets; zig from PyPI
# (ziglang, in .venv-cross) with cargo-zigbuild from crates.io (the macOS C compiler: the macOS
# builds are checked, not linked, as linking needs Apple's SDK). Idempotent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ZIGLANG=0.15.2
ZIGBUILD=0.24.1
TARGETS=(x86_64-pc-windows-gnu aarch64-apple-darwin x86_64-apple-darwin x86_64-unknown-linux-musl)

need=()
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
[ -x /usr/lib/wine/wine64 ] || need+=(wine64)
command -v musl-gcc >/dev/null || need+=(musl-tools)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

installed=$(rustup target list --installed)
for t in "${TARGETS[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t" >/dev/null
done

venv="$root/.venv-cross"
if [ "$("$venv/bin/python" -m ziglang version 2>/dev/null)" != "$ZIGLANG" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ziglang==$ZIGLANG"
fi

tools="$root/target/tools"
if [ "$("$tools/bin/cargo-zigbuild" --version 2>/dev/null)" != "cargo-zigbuild $ZIGBUILD" ]; then
  cargo install --quiet --locked --root "$tools" --version "$ZIGBUILD" cargo-zigbuild
fi
echo "cross tools ready: mingw-w64, wine64, musl-tools, zig $ZIGLANG, cargo-zigbuild $ZIGBUILD" >&2
