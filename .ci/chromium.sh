#!/usr/bin/env bash
# Debian's Chromium for the browser tests (mlops_assets_tests/test_ui.py), installed only when
# no Chromium (`chromium`, `chromium-browser` or `google-chrome`) is on PATH. The tests drive it with the playwright package (a dev extra) and
# never download Playwright's own browsers. Idempotent and quick when it is there already.
set -euo pipefail

log() { echo "chromium.sh: $*" >&2; }

for name in chromium chromium-browser google-chrome; do
  if command -v "$name" >/dev/null 2>&1; then
    log "found $(command -v "$name")"
    exit 0
  fi
done
if [[ $(id -u) -ne 0 ]]; then
  log "Chromium is not installed and installing it needs root: apt-get install chromium"
  exit 1
fi
log "installing Chromium from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
log "installed $(command -v chromium)"
