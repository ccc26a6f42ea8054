#!/usr/bin/env bash
# Build the container image from docker/Dockerfile with podman:
#   scripts/image.sh            -> localhost/ngx-users:dev
# Env: IMAGE (the tag to build).
# No registry but Debian's is reachable here, so the debian:bookworm and
# debian:bookworm-slim images the Dockerfile starts from are made locally
# with debootstrap first (a second run finds them and returns at once).
# Needs root (podman storage, debootstrap).
set -euo pipefail
cd "$(dirname "$0")/.."
image=${IMAGE:-localhost/ngx-users:dev}

missing=()
for p in podman buildah runc uidmap slirp4netns fuse-overlayfs debootstrap; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "image: installing ${missing[*]}" >&2
    apt-get -o DPkg::Lock::Timeout=600 update -q > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        install -y -q --no-install-recommends "${missing[@]}" > /dev/null
fi

scripts/local-base-image.sh > /dev/null
# the docs bundles the package build installs (docker/Dockerfile)
scripts/docs.sh > /dev/null
# --pull=never: the base images are the local ones, never a registry's
scripts/podman.sh build --pull=never -t "$image" -f docker/Dockerfile .
echo "$image"
