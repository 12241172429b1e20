#!/usr/bin/env bash
# Make sure rsvg-convert is installed: console tests turn their SVG snapshots into PNGs with it
# (tests/test_console_oauth.py), as a person does to look at a screen (docs: "Look at it").
set -euo pipefail

readonly HINT="Postdesk's console tests need rsvg-convert: run 'sudo apt-get install librsvg2-bin'"

if command -v rsvg-convert >/dev/null 2>&1; then
    exit 0
fi

bash "$(dirname "$0")/apt-install.sh" "$HINT" --no-install-recommends librsvg2-bin

if ! command -v rsvg-convert >/dev/null 2>&1; then
    echo "librsvg2-bin was installed but rsvg-convert is missing. $HINT" >&2
    exit 1
fi
echo "rsvg-convert installed: $(rsvg-convert --version)"
