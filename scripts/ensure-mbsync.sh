#!/usr/bin/env bash
# Make sure mbsync (package isync) is installed: bench/ingest measures Postdesk against it.
set -euo pipefail

if command -v mbsync >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "bench/ingest needs mbsync (package isync): run 'sudo apt-get install isync'" >&2
    exit 1
fi
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y isync
