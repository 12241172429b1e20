#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries (initdb, pg_ctl, postgres) are installed for
# Postdesk's test suite.
#
# tests/servers.py starts its own throwaway cluster (initdb + pg_ctl in a temp dir, a random
# loopback port) for every test session, so only the binaries are needed: the distribution's
# own cluster is kept from starting and disabled when this script installs the package.
set -euo pipefail

readonly HINT="Postdesk's tests need PostgreSQL's server (package postgresql): run 'sudo apt-get install postgresql'"

have_postgres() {
    # The recordings search's extensions (migration 0029) ship with the server package.
    { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; } &&
        ls /usr/share/postgresql/*/extension/pg_trgm.control >/dev/null 2>&1 &&
        ls /usr/share/postgresql/*/extension/unaccent.control >/dev/null 2>&1
}

if have_postgres; then
    exit 0
fi

bash "$(dirname "$0")/apt-install.sh" "$HINT" postgresql

# The packaged cluster is not needed: keep it from starting at boot (the tests make their own).
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now postgresql.service >/dev/null 2>&1 || true
fi
if command -v update-rc.d >/dev/null 2>&1; then
    update-rc.d postgresql disable >/dev/null 2>&1 || true
fi

if ! have_postgres; then
    echo "postgresql was installed but no initdb was found. $HINT" >&2
    exit 1
fi
echo "PostgreSQL installed: $(ls -d /usr/lib/postgresql/*/bin | tail -1)"
