#!/usr/bin/env bash
# Make sure Dovecot's IMAP server is installed for Postdesk's test suite.
#
# tests/servers.py starts its own private Dovecot instance (own config, random loopback port)
# for every test session, so only the binaries are needed: the distribution's system-wide
# service is kept from starting and disabled when this script installs the package.
set -euo pipefail

readonly HINT="Postdesk's tests need Dovecot (package dovecot-imapd): run 'sudo apt-get install dovecot-imapd'"

have_dovecot() {
    command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]
}

# On dpkg systems dovecot-core alone has no IMAP server; elsewhere trust the binary.
have_imapd() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        return 0
    fi
    dpkg-query -W -f='${Status}' dovecot-imapd 2>/dev/null | grep -q 'install ok installed'
}

if have_dovecot && have_imapd; then
    exit 0
fi

bash "$(dirname "$0")/apt-install.sh" "$HINT" dovecot-imapd

# The system instance is not needed: disable it at boot and stop it if it did start
# (it would hold ports 143/993). `dovecot stop` only signals the instance recorded in the
# default config's base_dir (/run/dovecot), never the tests' private instances.
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
fi
if command -v update-rc.d >/dev/null 2>&1; then
    update-rc.d dovecot disable >/dev/null 2>&1 || true
fi
if [ -e /run/dovecot/master.pid ]; then
    dovecot stop >/dev/null 2>&1 || /usr/sbin/dovecot stop >/dev/null 2>&1 || true
fi

if ! have_dovecot; then
    echo "dovecot-imapd was installed but no dovecot binary was found. $HINT" >&2
    exit 1
fi
echo "Dovecot installed: $(dovecot --version 2>/dev/null || /usr/sbin/dovecot --version)"
