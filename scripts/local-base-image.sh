#!/bin/sh
# local-base-image.sh - build a Debian base image locally (no registry needed)
# and load it into podman's storage under the tags an unmodified Dockerfile's
# FROM lines resolve to. (A copy of the shared verification tool; used by
# scripts/image.sh.)
#
# Usage: local-base-image.sh [-f] [-s SUITE] [-w WORKDIR]
#   -f          rebuild even if the image already exists
#   -s SUITE    Debian suite (default: bookworm)
#   -w WORKDIR  scratch dir for the debootstrap tree (default: mktemp -d);
#               it is removed afterwards
#
# Tags produced (SUITE=bookworm):
#   localhost/debian:bookworm-slim   docker.io/library/debian:bookworm-slim
#   localhost/debian:bookworm        docker.io/library/debian:bookworm
# One minbase image serves both "debian:bookworm" and "debian:bookworm-slim".
#
# The apt mirror is read at run time from the machine's apt configuration
# (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list|*.sources); no host
# name is stored in this script.
#
# Needs: root, podman, debootstrap (apt-get install podman debootstrap).
set -eu

FORCE=0
SUITE=bookworm
WORKDIR=
while getopts fs:w: opt; do
    case $opt in
        f) FORCE=1 ;;
        s) SUITE=$OPTARG ;;
        w) WORKDIR=$OPTARG ;;
        *) sed -n '2,20p' "$0"; exit 2 ;;
    esac
done

TAGS="localhost/debian:$SUITE-slim docker.io/library/debian:$SUITE-slim localhost/debian:$SUITE docker.io/library/debian:$SUITE"
PRIMARY=localhost/debian:$SUITE-slim

for t in podman debootstrap; do
    command -v "$t" >/dev/null 2>&1 || { echo "missing: $t (apt-get install $t)" >&2; exit 1; }
done

tag_all() {
    for t in $TAGS; do
        [ "$t" = "$PRIMARY" ] || podman tag "$PRIMARY" "$t"
    done
}

if [ "$FORCE" = 0 ] && podman image exists "$PRIMARY"; then
    tag_all
    echo "exists: $PRIMARY (use -f to rebuild)"
    podman images --filter reference='*/debian' --filter reference='*/*/debian'
    exit 0
fi

# --- find the configured Debian mirror (first non-security URI) ------------
all_uris() {
    {
        # one-line format: deb [opts] URI suite comps
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
            sed -n 's/^[[:space:]]*deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]\{1,\}\).*/\2/p'
        # deb822 format: URIs: a b c
        cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
            sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
    } | grep -E '^(https?|file)://'
}
MIRROR=$(all_uris | grep -v -i security | head -n 1)
[ -n "$MIRROR" ] || { echo "no Debian mirror found in apt sources" >&2; exit 1; }
echo "mirror: (from apt sources)"

CLEAN_WORKDIR=0
if [ -z "$WORKDIR" ]; then
    WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/debootstrap.XXXXXX")
    CLEAN_WORKDIR=1
fi
ROOT=$WORKDIR/rootfs
cleanup() {
    # debootstrap may leave proc/sys mounted on failure
    for m in proc sys dev/pts dev; do
        if mountpoint -q "$ROOT/$m" 2>/dev/null; then umount -l "$ROOT/$m" || true; fi
    done
    rm -rf "$ROOT"
    [ "$CLEAN_WORKDIR" = 0 ] || rm -rf "$WORKDIR"
}
trap cleanup EXIT INT TERM
rm -rf "$ROOT"

debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR"

# Make it look like the official image: deb822 sources incl. updates and
# security suites on the same mirror host, no caches/lists, dpkg excludes docs.
sec=$(all_uris | grep -i security | head -n 1)
[ -n "$sec" ] || sec=$(printf '%s' "$MIRROR" | sed 's#/debian/*$#/debian-security#')
rm -f "$ROOT/etc/apt/sources.list"
cat > "$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $sec
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat > "$ROOT/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    > "$ROOT/etc/apt/apt.conf.d/docker-no-recommends"
rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin \
       "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/log/*.log \
       "$ROOT"/usr/share/doc/*/changelog* "$ROOT"/usr/share/man/* \
       "$ROOT"/usr/share/info/* "$ROOT"/usr/share/locale/*
: > "$ROOT/etc/resolv.conf"
: > "$ROOT/etc/hostname"

tar --numeric-owner -C "$ROOT" -c . |
    podman import --change 'CMD ["bash"]' - "$PRIMARY"
tag_all
podman images --filter reference='*/debian' --filter reference='*/*/debian'
