#!/usr/bin/env bash
# Install Debian packages for Postdesk's tests and benches, the one way every
# scripts/ensure-*.sh does: only as root on a machine with apt-get (otherwise print the hint
# and fail), and without starting the services the packages bring, since the tests run
# private instances of their own (policy-rc.d denies service starts during the install,
# unless the machine already has its own policy).
#
#   scripts/apt-install.sh HINT [APT-GET INSTALL OPTIONS] PACKAGE...
set -euo pipefail

hint=$1
shift

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$hint" >&2
    exit 1
fi

# Exit code 101 = "not allowed" (invoke-rc.d and deb-systemd-invoke honour it).
readonly POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" -eq 1 ]; then
        rm -f "$POLICY"
    fi
}
trap cleanup EXIT

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
