#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds, starts a
# throwaway PostgreSQL cluster, migrates it, and runs t/ with prove against
# Debian's nginx and the built module. Exits non-zero on any failure.
#   scripts/test.sh [prove arguments, e.g. t/010-meta.t]
# Uses the real Test::Nginx::Socket when it is installed, else the
# project's own harness in t/harness/. A step that fails says which, why
# and what to do (scripts/lib.sh); its output is kept in build/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
STEP_PROG="test"
STEP_LOGS=$top/build/logs
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
mkdir -p "$STEP_LOGS"

step dependencies "install the package apt names above by hand, or fix
apt's sources or proxy, then run scripts/test.sh again" \
    scripts/deps.sh
step build "the compiler's errors are above (build/make.log has them all)" \
    scripts/build.sh
# unlike the run command, the suite needs the bundles: the pages are tested
step docs "fix npm's access as docs.sh says above; the suite tests the docs
pages, so it needs the bundles (scripts/run.sh serves the API without them)" \
    scripts/docs.sh

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ngx-users-test.XXXXXX")
chmod 755 "$tmp"
pg_started=
cleanup() {
    if [ -f "$top/t/servroot/logs/nginx.pid" ]; then
        kill -QUIT "$(cat "$top/t/servroot/logs/nginx.pid")" 2> /dev/null || true
    fi
    if [ -n "$pg_started" ]; then
        scripts/pg.sh stop "$tmp/pg"
        # the cluster goes with $tmp; its logs are what a failure asks for
        cp "$tmp/pg/postgres.log" "$tmp/pg/initdb.log" "$STEP_LOGS/" \
            2> /dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# durability is not under test: fsync off keeps the suite quick
pg_started=1
step postgresql "read PostgreSQL's log, kept as $STEP_LOGS/postgres.log (or
initdb.log beside it); the postgres account must reach $tmp: set TMPDIR to a
folder it can reach" \
    env PG_FSYNC=off scripts/pg.sh start "$tmp/pg"
conninfo=$(scripts/pg.sh conninfo "$tmp/pg")
step migrations "the error above names the connection or the migration;
PostgreSQL's log is kept as $STEP_LOGS/postgres.log" \
    sql/migrate.sh "$conninfo"

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
