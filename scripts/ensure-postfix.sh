#!/usr/bin/env bash
# Make sure postfix's smtp-sink and smtp-source are installed for bench/dialer.py.
#
# The bench starts its own smtp-sink (a loopback port of its own); postfix's mail service is
# not needed: it is kept from starting during the install and disabled after it, and
# debconf is told "No configuration" so nothing asks a question or touches /etc/mailname.
set -euo pipefail

readonly HINT="bench/dialer.py needs postfix's smtp-sink: run 'sudo apt-get install postfix'"

have_sink() {
    command -v smtp-sink >/dev/null 2>&1 || [ -x /usr/sbin/smtp-sink ]
}

if have_sink; then
    exit 0
fi

# "No configuration": nothing asks a question or touches /etc/mailname (root only; without
# root apt-install.sh prints the hint).
if [ "$(id -u)" -eq 0 ] && command -v debconf-set-selections >/dev/null 2>&1; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
fi
bash "$(dirname "$0")/apt-install.sh" "$HINT" --no-install-recommends postfix

if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now postfix.service >/dev/null 2>&1 || true
fi
if ! have_sink; then
    echo "postfix was installed but no smtp-sink was found. $HINT" >&2
    exit 1
fi
echo "postfix installed: $(command -v smtp-sink || echo /usr/sbin/smtp-sink)"
