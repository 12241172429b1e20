#!/usr/bin/env bash
# Make sure a headless Chromium is installed for Postdesk's browser test of the public web
# service (tests/test_web_browser.py drives it over the DevTools protocol).
#
# Debian's `chromium` package: the tests start their own instance (private profile dir, a
# random DevTools port on loopback), so only the binary is needed.
set -euo pipefail

readonly HINT="Postdesk's browser test needs Chromium: run 'sudo apt-get install chromium'"

have_chromium() {
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

if have_chromium; then
    exit 0
fi

bash "$(dirname "$0")/apt-install.sh" "$HINT" --no-install-recommends chromium fonts-dejavu-core

if ! have_chromium; then
    echo "chromium was installed but no chromium binary was found. $HINT" >&2
    exit 1
fi
echo "Chromium installed: $(chromium --version 2>/dev/null || true)"
