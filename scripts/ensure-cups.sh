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

bash "$(dirname "$0")/apt-install.sh" "$HINT" --no-install-recommends \
    cups-daemon cups-client cups-core-drivers poppler-utils

# The system scheduler is not needed: keep it from starting at boot (the tests run their own).
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now cups.service cups.socket cups.path >/dev/null 2>&1 || true
fi

if ! have_cups; then
    echo "CUPS was installed but cupsd, lp, gziptoany or pdftoppm is missing. $HINT" >&2
    exit 1
fi
echo "CUPS installed: $(cupsd -? 2>&1 | head -1 || true)"
