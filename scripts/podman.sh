#!/bin/sh
# podman with the settings these machines need (copied from the shared
# verification tools): runc instead of crun (crun refuses the hybrid cgroup
# layout), rlimits within the machine's hard limits (containers.conf next to
# this file), and the Docker image format.
#   scripts/podman.sh build -t localhost/ngx-users:dev -f docker/Dockerfile .
#   scripts/podman.sh run --rm --read-only --tmpfs /tmp --user 10001 ...
CONTAINERS_CONF="$(cd "$(dirname "$0")" && pwd)/containers.conf"
export CONTAINERS_CONF
# Docker image format, else "podman build" ignores SHELL/HEALTHCHECK/STOPSIGNAL
# (OCI format) and RUN lines using bash syntax fail.
BUILDAH_FORMAT=${BUILDAH_FORMAT:-docker}
export BUILDAH_FORMAT
exec podman "$@"
