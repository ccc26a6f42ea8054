#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds, starts a
# throwaway PostgreSQL cluster, migrates it, and runs t/ with prove against
# Debian's nginx and the built module. Exits non-zero on any failure.
#   scripts/test.sh [prove arguments, e.g. t/010-meta.t]
# Uses the real Test::Nginx::Socket when it is installed, else the
# project's own harness in t/harness/.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

scripts/deps.sh
scripts/build.sh > /dev/null
scripts/docs.sh > /dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ngx-users-test.XXXXXX")
chmod 755 "$tmp"
cleanup() {
    if [ -f "$top/t/servroot/logs/nginx.pid" ]; then
        kill -QUIT "$(cat "$top/t/servroot/logs/nginx.pid")" 2> /dev/null || true
    fi
    scripts/pg.sh stop "$tmp/pg"
    rm -rf "$tmp"
}
trap cleanup EXIT

# durability is not under test: fsync off keeps the suite quick
conninfo=$(PG_FSYNC=off scripts/pg.sh start "$tmp/pg")
sql/migrate.sh "$conninfo" > /dev/null

head -c 48 /dev/urandom | base64 > "$tmp/jwt_secret"
echo admin@example.com > "$tmp/su_email"
echo adminpassword123 > "$tmp/su_password"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
# a sanitizer build brings its own module (scripts/asan.sh)
export TEST_NGINX_USERS_MODULE=${TEST_NGINX_USERS_MODULE:-$top/build/ngx_http_users_module.so}
export TEST_NGINX_CONF_DIR=$top/conf
export TEST_NGINX_PG_CONNINFO=$conninfo
export TEST_NGINX_PG_DIR=$tmp/pg
export TEST_NGINX_JWT_SECRET_FILE=$tmp/jwt_secret
export TEST_NGINX_SU_EMAIL_FILE=$tmp/su_email
export TEST_NGINX_SU_PASSWORD_FILE=$tmp/su_password
export TEST_NGINX_TMP=$tmp

inc=(-I.)
perl -MTest::Nginx::Socket -e1 2> /dev/null || inc+=(-It/harness)

if [ $# -eq 0 ]; then
    set -- -r t/
fi
prove "${inc[@]}" "$@"
