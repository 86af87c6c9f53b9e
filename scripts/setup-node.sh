#!/usr/bin/env bash
# Installs Node.js and the pinned npm packages of the test OpenID provider
# (crates/portcullis/tests/oidc: panva's oidc-provider, locked by package-lock.json).
# Idempotent: silent apart from one line on stderr when everything is already there.
# Installs Debian's nodejs and npm only when node or npm is missing (needs root or sudo;
# runs `apt-get update` only when the install fails without it), and runs `npm ci` only when
# node_modules is missing or older than package-lock.json.
set -euo pipefail
oidc_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/crates/portcullis/tests/oidc"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  install_node() {
    $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  }
  if ! install_node 2>/dev/null; then
    $sudo apt-get update -qq >/dev/null
    install_node
  fi
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
    || { echo "setup-node: node/npm did not install" >&2; exit 1; }
fi

if [ ! -d "$oidc_dir/node_modules" ] || [ "$oidc_dir/package-lock.json" -nt "$oidc_dir/node_modules" ]; then
  (cd "$oidc_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$oidc_dir/node_modules" # npm ci may keep an old mtime; mark it up to date
fi
echo "oidc provider ready: node $(node --version), $oidc_dir/provider.mjs" >&2
