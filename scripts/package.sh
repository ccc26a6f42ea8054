#!/usr/bin/env bash
# The Debian package libnginx-mod-http-users (debian/).
#   scripts/package.sh [build]      dpkg-buildpackage + lintian
#                                   -> build/deb/libnginx-mod-http-users_*.deb
#                                      (and the source package beside it)
#   scripts/package.sh install-test install that .deb with apt-get into a
#       fresh debian:bookworm-slim container, enable the example
#       configuration as README.Debian says, migrate a throwaway PostgreSQL
#       and check /readyz, register and login through Debian's nginx
# The build runs in a copy of the sources (build/deb/ngx-users/) because
# dpkg-buildpackage writes into debian/ and puts its results next to the
# source folder. Needs root for missing packages (sudo otherwise) and, for
# install-test, root and podman (scripts/image.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/deb
src=$out/ngx-users

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
apt_get() {
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 "$@"
}

build() {
    # the packaging tools, then the build dependencies debian/control names
    local missing=() p deb
    for p in dpkg-dev debhelper lintian; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
            || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "package: installing ${missing[*]}" >&2
        apt_get update -q > /dev/null
        apt_get install -y -q --no-install-recommends "${missing[@]}" > /dev/null
    fi
    if ! dpkg-checkbuilddeps 2> /dev/null; then
        echo "package: installing the build dependencies of debian/control" >&2
        apt_get update -q > /dev/null
        apt_get build-dep -y -q ./ > /dev/null
    fi

    # A fresh copy of what git knows (tracked and new files, not the
    # ignored ones such as build/), so no earlier build leaks into this one.
    rm -rf "$out"
    mkdir -p "$src"
    git ls-files -z --cached --others --exclude-standard \
        | tar --null --files-from=- --ignore-failed-read -cf - \
        | tar -xf - -C "$src"
    # the docs pages as this machine built them (npm at the pinned digests):
    # the package build finds build/docs/VERSIONS current and leaves npm be;
    # they stay out of the source package (-I), which fetches its own
    scripts/docs.sh > /dev/null
    mkdir -p "$src/build"
    cp -a build/docs "$src/build/docs"

    export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}"
    # source and binary packages, so lintian sees debian/ itself too
    (cd "$src" && dpkg-buildpackage -uc -us -Ibuild) > "$out/build.log" 2>&1 || {
        grep -E 'error|warning|dh_[a-z_]+: ' "$out/build.log" | tail -40 >&2
        echo "package: dpkg-buildpackage failed, see $out/build.log" >&2
        exit 1
    }
    deb=$(ls "$out"/libnginx-mod-http-users_*.deb)
    # errors and warnings fail the build
    lintian --fail-on error,warning --info "$out"/*.changes
    echo "$deb"
}

install_test() {
    local python=/usr/bin/python3 podman=scripts/podman.sh state name
    local pg_port api_port base code
    ls "$out"/libnginx-mod-http-users_*.deb > /dev/null 2>&1 \
        || { echo "package: no .deb in $out: run $0 build first" >&2; exit 1; }
    if ! command -v podman > /dev/null || ! command -v debootstrap > /dev/null; then
        echo "package: install-test needs podman: run scripts/image.sh first" >&2
        exit 1
    fi
    scripts/local-base-image.sh > /dev/null
    pg_port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    api_port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    state=$(mktemp -d /tmp/ngx-users-deb-test.XXXXXX)
    chmod 755 "$state"   # PostgreSQL runs as the postgres account
    name=ngx-users-deb-test-$$
    # shellcheck disable=SC2064  # expand now: the locals are gone at exit
    trap "$podman rm -f $name > /dev/null 2>&1; scripts/pg.sh stop $state/pg; rm -rf $state" EXIT
    PG_LISTEN=127.0.0.1 PG_PORT=$pg_port scripts/pg.sh start "$state/pg" > /dev/null

    # The machine as a user would have it: plain bookworm, apt, the .deb;
    # the environment is what README.Debian's systemd drop-in would give.
    # slirp4netns lets the container reach the host's loopback as 10.0.2.2.
    "$podman" run -d --name "$name" \
        --network slirp4netns:allow_host_loopback=true \
        -p "127.0.0.1:$api_port:8000" -v "$PWD/$out:/deb:ro" \
        -e "DATABASE_URL=postgresql://users@10.0.2.2:$pg_port/users" \
        -e "SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
        -e FIRST_SUPERUSER_EMAIL=admin@example.com \
        -e FIRST_SUPERUSER_PASSWORD=adminpassword123 \
        docker.io/library/debian:bookworm-slim sh -euc '
            apt-get update -q > /dev/null
            apt-get install -y -q --no-install-recommends \
                /deb/libnginx-mod-http-users_*.deb > /dev/null
            ln -s /usr/share/ngx-users/conf/ngx-users-main.conf \
                  /etc/nginx/modules-enabled/60-ngx-users-main.conf
            ln -s /usr/share/ngx-users/conf/ngx-users-site.conf \
                  /etc/nginx/conf.d/ngx-users.conf
            ngx-users-migrate
            ngx-users-audit-purge
            nginx -t
            exec nginx -g "daemon off;"' > /dev/null

    base=http://127.0.0.1:$api_port
    for _ in $(seq 300); do   # apt-get takes most of it
        code=$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz") || true
        [ "$code" = 200 ] && break
        [ "$("$podman" inspect -f '{{.State.Running}}' "$name")" = true ] || break
        sleep 1
    done
    if [ "$code" != 200 ]; then
        "$podman" logs --tail 30 "$name" >&2 2>&1 || true
        echo "package: install-test: FAIL: /readyz is $code" >&2
        exit 1
    fi
    curl -sSf -X POST "$base/auth/register" -H 'Content-Type: application/json' \
        -d '{"email": "deb@example.com", "password": "deb-password-1"}' > /dev/null \
        || { echo "package: install-test: FAIL: register" >&2; exit 1; }
    curl -sSf -X POST "$base/auth/login" --data-urlencode username=deb@example.com \
        --data-urlencode password=deb-password-1 | grep -q '"access_token"' \
        || { echo "package: install-test: FAIL: login" >&2; exit 1; }
    scripts/docs-served-check.sh "$base" \
        || { echo "package: install-test: FAIL: the docs pages" >&2; exit 1; }
    echo "package: install-test: passed (apt-get install, example configuration," \
         "migrations, /readyz, register, login, /docs, /redoc, /openapi.json)"
}

case ${1:-build} in
build) build ;;
install-test) install_test ;;
*) echo "usage: $0 [build|install-test]" >&2; exit 2 ;;
esac
