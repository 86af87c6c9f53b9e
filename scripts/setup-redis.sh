#!/usr/bin/env bash
# Installs Debian's redis-server (/usr/bin/redis-server) for the replica tests, which start their
# own on a loopback port (crates/portcullis/tests/teams.rs). Idempotent: instant when it is there.
# Needs root (or sudo) and the Debian package archive; runs `apt-get update` only when the install
# fails without it. The package's own service is not used (and not started here).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
install_redis() {
  $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
}
if ! install_redis 2>/dev/null; then
  $sudo apt-get update -qq >/dev/null
  install_redis
fi
command -v redis-server >/dev/null 2>&1 || { echo "setup-redis: redis-server did not install" >&2; exit 1; }
echo "redis ready: $(redis-server --version | head -1)" >&2
