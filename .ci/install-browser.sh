#!/usr/bin/env bash
# Install Debian's headless-capable Chromium and its WebDriver for the
# browser tests (pytest -m browser).  Idempotent: does nothing when both are
# already present.  Nothing here (nor in the tests) lets Selenium Manager
# download a browser: the tests point at /usr/bin/chromium and
# /usr/bin/chromedriver explicitly.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    echo "chromium and chromedriver already installed:"
    /usr/bin/chromium --version || true
    /usr/bin/chromedriver --version || true
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium chromium-driver fonts-dejavu-core

/usr/bin/chromium --version
/usr/bin/chromedriver --version
