#!/usr/bin/env bash
# Builds and tests what can be built and tested here for the other platforms (part of
# scripts/test.sh; installs its tools with scripts/setup-cross.sh):
#  1. Windows (x86_64-pc-windows-gnu): the binary is built and `portcullis.exe check` runs under
#     Wine; the sandbox, audit, platform, parser and policy tests run under Wine (what they skip
#     there, and why, is in ARCHITECTURE.md, "Platforms");
#  2. Linux, static (x86_64-unknown-linux-musl): the binary is built, is static, and runs `check`;
#  3. macOS (aarch64-apple-darwin, x86_64-apple-darwin): every crate of the binary and the
#     portable crates' tests are compiled, C included (zig); not linked: that needs Apple's SDK,
#     which no registry here carries (scripts/release.sh links on a Mac, or with SDKROOT set).
# Debug builds without debug info (CI time); scripts/release.sh makes the release archives.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/setup-cross.sh
export PATH="$root/.venv-cross/bin:$root/target/tools/bin:$PATH"
# The Linux build the others are compared with by scripts/same-check.sh (the test suite's own,
# so nothing is rebuilt).
cargo build --locked -p portcullis --bin portcullis
# Cross builds without debug info (CI time; their target directories are their own).
export CARGO_PROFILE_DEV_DEBUG=0
export WINEDEBUG=-all WINEPREFIX="$root/target/wine"
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=/usr/lib/wine/wine64
# The crates whose tests run under Wine (the parser, shorthand, policy, sandbox, audit, platform,
# the egress guard's address facts).
WINDOWS_TESTS=(-p portcullis-netaddr -p portcullis-platform -p portcullis-sandbox -p portcullis-audit -p portcullis-shorthand -p portcullis-cli -p portcullis-policy)

# Wine 8.0 (Debian 12) lacks bcryptprimitives.dll, which Rust's std needs on Windows: a stand-in
# (scripts/wine/bcryptprimitives.c) beside the executables, for Wine only.
win=target/x86_64-pc-windows-gnu/debug
mkdir -p "$win/deps"
x86_64-w64-mingw32-gcc -O2 -shared -o "$win/bcryptprimitives.dll" \
  scripts/wine/bcryptprimitives.c scripts/wine/bcryptprimitives.def -ladvapi32
cp "$win/bcryptprimitives.dll" "$win/deps/"

echo "== Windows: the binary, under Wine"
# A fresh Wine prefix announces itself on stderr at its first start: made here, once, quietly.
/usr/lib/wine/wine64 wineboot --init >/dev/null 2>&1 || true
cargo build --locked --target x86_64-pc-windows-gnu -p portcullis --bin portcullis
scripts/same-check.sh "Windows (Wine)" /usr/lib/wine/wine64 target/x86_64-pc-windows-gnu/debug/portcullis.exe

echo "== Windows: the parser, policy, sandbox and audit tests, under Wine"
# Unit and integration tests; the doctests (the same code) run natively only: rustdoc builds
# them in a temporary directory, away from the DLL stand-in.
# Skipped by name under Wine only (ARCHITECTURE.md, "Platforms"): Wine 8 cannot create a
# junction (ERROR_NOT_SUPPORTED), and keeps no access control list on a file (it derives one from
# the Unix mode and ignores SetNamedSecurityInfo), so those two tests run on real Windows only.
WINE_SKIPS=(a_junction_leading_out_is_never_followed secrets_files_have_an_owner_only_access_list)
# What Wine derives from a file's Unix mode is its access list: with this umask the files the tests
# create are listed for their owner (and SYSTEM) only, as the owner-only lists Windows keeps.
umask 077
echo "skipped under Wine: ${WINE_SKIPS[*]}"
cargo test --locked --target x86_64-pc-windows-gnu "${WINDOWS_TESTS[@]}" --lib --tests -- \
  $(printf -- '--skip %s ' "${WINE_SKIPS[@]}")

echo "== Linux, static (musl): the binary"
cargo build --locked --target x86_64-unknown-linux-musl -p portcullis --bin portcullis
static=target/x86_64-unknown-linux-musl/debug/portcullis
# Static: no program interpreter and no shared library needed.
if readelf -l "$static" | grep -q "program interpreter" || readelf -d "$static" | grep -q NEEDED; then
  echo "FAIL: $static is dynamically linked:" >&2
  readelf -d "$static" | grep NEEDED >&2 || true
  exit 1
fi
echo "static: $(readelf -h "$static" | awk -F: '/Type:/ {print $2}' | xargs), no interpreter, no shared libraries"
scripts/same-check.sh "static musl" "$static"

for t in aarch64-apple-darwin x86_64-apple-darwin; do
  echo "== macOS ($t): every crate compiled (not linked: no Apple SDK here)"
  cargo-zigbuild check --locked --target "$t" -p portcullis --bins --lib
  cargo-zigbuild check --locked --target "$t" --tests -p portcullis-platform -p portcullis-sandbox -p portcullis-audit
done
echo "== platforms: all passed"
