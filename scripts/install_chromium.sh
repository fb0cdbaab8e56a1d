#!/usr/bin/env bash
# Debian's Chromium for the browser test of the web page (Playwright drives /usr/bin/chromium;
# no browser download). Installed when apt-get can run (root or passwordless sudo); never fails:
# without it the browser tests are skipped with the reason.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium: no apt-get here; browser tests will be skipped" >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "chromium: not root and no passwordless sudo; run: sudo apt-get install -y chromium" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
  || { $SUDO apt-get update >/dev/null 2>&1 && $SUDO apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } \
  || echo "chromium: apt-get install failed; browser tests will be skipped" >&2
exit 0
