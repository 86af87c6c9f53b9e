#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium (/usr/bin/chromium) for the HTML report tests
# (crates/portcullis/tests/blast_html.rs). Idempotent: silent and instant when it is there.
# Needs root (or sudo) and the Debian package archive; runs `apt-get update` only when the
# install fails without it.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
install_chromium() {
  $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
}
if ! install_chromium 2>/dev/null; then
  $sudo apt-get update -qq >/dev/null
  install_chromium
fi
command -v chromium >/dev/null 2>&1 || { echo "setup-browser: chromium did not install" >&2; exit 1; }
echo "browser ready: $(command -v chromium)" >&2
