#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser tests (tests/test_web.py).
# Idempotent: does nothing when /usr/bin/chromium exists. Never downloads a browser build of
# its own (no `playwright install`): Playwright drives this system chromium.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium
[ -x /usr/bin/chromium ] || { echo "chromium was not installed at /usr/bin/chromium" >&2; exit 1; }
