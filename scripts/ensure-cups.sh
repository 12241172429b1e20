#!/usr/bin/env bash
# Make sure CUPS is installed for Postdesk's printing tests (tests/test_recording_print.py):
# they start their own scheduler (`cupsd -f`, a private config and socket in a temp dir)
# with a file-backed queue, and print to it with the real `lp`. The system's CUPS service is
# never started or configured. poppler-utils gives pdftoppm, which tests/test_printout.py
# renders the PDF with (and a person looks at it with).
set -euo pipefail

readonly HINT="Postdesk's printing tests need CUPS: run 'sudo apt-get install cups-daemon cups-client cups-core-drivers poppler-utils'"

have_cups() {
    command -v cupsd >/dev/null 2>&1 && command -v lp >/dev/null 2>&1 \
        && command -v lpadmin >/dev/null 2>&1 && [ -x /usr/lib/cups/filter/gziptoany ] \
        && command -v pdftoppm >/dev/null 2>&1
}

if have_cups; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$HINT" >&2
    exit 1
fi

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    cups-daemon cups-client cups-core-drivers poppler-utils

if ! have_cups; then
    echo "CUPS was installed but cupsd, lp, gziptoany or pdftoppm is missing. $HINT" >&2
    exit 1
fi
echo "CUPS installed: $(cupsd -? 2>&1 | head -1 || true)"
