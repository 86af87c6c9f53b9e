#!/usr/bin/env bash
# Builds and tests what can be built and tested here for the other platforms (part of
# scripts/test.sh; installs its tools with scripts/setup-cross.sh):
#  1. Windows (x86_64-pc-windows-gnu): the binary is built and `portcullis.exe check` runs under
#     Wine; the sandbox, audit, platform, parser and policy tests run under Wine (what they skip
#     there, and why, is in ARCHITECTURE.md, "Platforms");
#  2. Linux, static (x86_64-unknown-linux-musl): the binary is built, is static, and runs `check`;
#  3. macOS (aarch64-apple-darwin, x86_64-apple-darwin): every crate of the binary is compiled, C
#     included (zig), and the test executables of the crates tested under Wine are linked; the
#     binary is not linked here (why: below; scripts/release.sh builds it on a Mac).
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
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$root/scripts/wine/run.sh"
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

# macOS: the binary is compiled, not linked: zig 0.15.2's Mach-O linker exits 1 without a message
# on one of aws-lc's assembly objects (p384_montjscalarmul.o; bisected), and the system certificate
# store needs Apple's Security and CoreFoundation. The crates tested under Wine need neither: their
# test executables are linked against zig's libSystem, so every libc call they make exists on macOS.
for t in aarch64-apple-darwin x86_64-apple-darwin; do
  echo "== macOS ($t): every crate of the binary compiled; the portable crates' tests linked"
  cargo-zigbuild check --locked --target "$t" -p portcullis --bins --lib
  cargo-zigbuild test --no-run --locked --target "$t" "${WINDOWS_TESTS[@]}" --lib --tests
done
echo "== the release script (dev profile: the builds above), a macOS target refused with its reason"
rel=$(mktemp -d)
trap 'rm -rf "$rel"' EXIT
set +e
scripts/release.sh --base-url https://example.invalid/v0 --profile dev --out "$rel" \
  --targets "x86_64-unknown-linux-musl x86_64-pc-windows-gnu aarch64-apple-darwin" > "$rel/release.log" 2>&1
status=$?
set -e
fail() { echo "FAIL: release.sh: $1" >&2; cat "$rel/release.log" >&2; exit 1; }
[ "$status" -eq 1 ] || fail "exit status $status, expected 1 (the macOS target not built)"
grep -q "^not built: aarch64-apple-darwin$" "$rel/release.log" || fail "no 'not built' line for the macOS target"
grep -q "built on a Mac" "$rel/release.log" || fail "the macOS refusal does not say where it is built"
(cd "$rel" && sha256sum --quiet -c SHA256SUMS) || fail "SHA256SUMS does not match the archives"
[ "$(wc -l < "$rel/SHA256SUMS")" -eq 2 ] || fail "SHA256SUMS should list exactly the two archives built"
v=$(awk '{print $2}' "$rel/SHA256SUMS" | sed -n 's/^portcullis-\(.*\)-x86_64-unknown-linux-musl.tar.gz$/\1/p')
[ -n "$v" ] || fail "no musl archive in SHA256SUMS"
listed=$(tar -tzf "$rel/portcullis-$v-x86_64-unknown-linux-musl.tar.gz" | sort | tr '\n' ' ')
[ "$listed" = "portcullis-$v-x86_64-unknown-linux-musl/ portcullis-$v-x86_64-unknown-linux-musl/LICENSE portcullis-$v-x86_64-unknown-linux-musl/NOTICE portcullis-$v-x86_64-unknown-linux-musl/README.md portcullis-$v-x86_64-unknown-linux-musl/portcullis " ] \
  || fail "musl archive holds: $listed"
zipped=$(python3 -c 'import sys,zipfile; print(" ".join(sorted(zipfile.ZipFile(sys.argv[1]).namelist())))' "$rel/portcullis-$v-x86_64-pc-windows-gnu.zip")
[ "$zipped" = "LICENSE NOTICE README.md portcullis.exe" ] || fail "Windows archive holds: $zipped"
musl_sum=$(awk '$2 ~ /musl/ {print $1}' "$rel/SHA256SUMS")
grep -q "sha256 \"$musl_sum\"" "$rel/portcullis.rb" || fail "the Homebrew formula does not carry the musl archive's sum"
! grep -q on_macos "$rel/portcullis.rb" || fail "the Homebrew formula names a macOS archive that was not built"
win_sum=$(awk '$2 ~ /windows/ {print toupper($1)}' "$rel/SHA256SUMS")
grep -q "InstallerSha256: $win_sum" "$rel"/winget/manifests/p/Portcullis/Portcullis/"$v"/Portcullis.Portcullis.installer.yaml \
  || fail "the winget manifest does not carry the Windows archive's sum"
echo "release: 2 archives (README, LICENSE, NOTICE, binary), SHA256SUMS verified, formula and winget manifest carry their sums; macOS refused"
echo "== platforms: all passed"
