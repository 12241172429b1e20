#!/usr/bin/env bash
# Make sure mbsync (package isync) is installed: bench/ingest measures Postdesk against it.
set -euo pipefail

if command -v mbsync >/dev/null 2>&1; then
    exit 0
fi
bash "$(dirname "$0")/apt-install.sh" \
    "bench/ingest needs mbsync (package isync): run 'sudo apt-get install isync'" isync
