#!/usr/bin/env bash
# Install the Debian packages the build, the service and the tests need, but
# only those that are missing, so a second run costs nothing.
#   scripts/deps.sh [extra-package ...]
set -euo pipefail

pkgs=(
    build-essential nginx nginx-dev
    libpq-dev libjansson-dev libjwt-dev libsodium-dev
    postgresql-15 postgresql-client-15
    libtest-base-perl libjson-pp-perl libwww-perl liburi-perl
    # what openresty's Test::Nginx needs beyond those (its VERSION file),
    # for scripts/test-real.sh
    libtext-diff-perl libtest-longstring-perl liblist-moreutils-perl
    libhttp-message-perl libipc-run-perl
    wrk curl ca-certificates tzdata
    # the signing keys: scripts/keygen.sh, and the independent JWT
    # implementation of t/945-jwks-interop.t and t/080-keys.t
    openssl python3-jwt python3-cryptography
    "$@"
)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

missing=()
for p in "${pkgs[@]}"; do
    installed "$p" || missing+=("$p")
done

# libjwt before 1.10.2-1+deb12u1 compares HMACs in variable time
# (CVE-2024-25189); insist on the fixed package.
if dpkg-query -W -f='${Version}' libjwt-dev 2>/dev/null \
    | grep -qx '1.10.2-1'
then
    missing+=(libjwt-dev libjwt0)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# apt's errors (stderr) stay visible; its progress does not
if ! $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null; then
    echo "deps: apt-get update failed (its error is above); check" \
         "/etc/apt/sources.list* and that this machine reaches the mirror" \
         "(a proxy goes in /etc/apt/apt.conf.d/, Acquire::http::Proxy)" >&2
    exit 1
fi
# policy-rc.d keeps Debian's own nginx/postgresql services from starting on
# install: the project runs its own instances on its own ports.
$SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d &&
             chmod +x /usr/sbin/policy-rc.d'
trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
if ! $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q \
        --no-install-recommends "${missing[@]}" >/dev/null; then
    failed=()
    for p in "${missing[@]}"; do
        installed "$p" || failed+=("$p")
    done
    echo "deps: apt-get could not install ${failed[*]:-${missing[*]}}" \
         "(apt's error is above); install it by hand (apt-get install" \
         "${failed[*]:-${missing[*]}}) or fix apt's sources or proxy, then" \
         "run the command again" >&2
    exit 1
fi
