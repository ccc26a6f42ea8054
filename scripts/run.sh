#!/usr/bin/env bash
# Runs the service on 127.0.0.1:8000 in the foreground: installs what is
# missing, builds, starts a local PostgreSQL cluster kept in .state/pg
# (data survives restarts), applies the migrations and starts nginx with
# the module. Ctrl-C stops nginx, then PostgreSQL. A step that fails says
# which, why and what to do (scripts/lib.sh); the docs bundles alone may
# fail: the API is served, and /docs and /redoc answer a JSON 503.
#
# Env: DATABASE_URL (use an existing PostgreSQL instead of .state/pg),
#      SECRET_KEY (default: a random one kept in .state/jwt_secret),
#      FIRST_SUPERUSER_EMAIL / FIRST_SUPERUSER_PASSWORD
#      (admin@example.com / adminpassword123),
#      USERS_PORT (8000), USERS_STATE_DIR (.state),
#      USERS_DOCS_DIR (build/docs; scripts/first-contact-check.sh points
#      these three away from a developer's own service).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
port=${USERS_PORT:-8000}
state=${USERS_STATE_DIR:-$top/.state}
docs=${USERS_DOCS_DIR:-$top/build/docs}
STEP_PROG=run
STEP_LOGS=$state/logs
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# Everything below writes into the state folder (the steps' logs, the
# cluster, nginx's prefix): find out now, not in the middle of a step.
probe=$state/.write-probe.$$
if ! err=$( { mkdir -p "$state" && touch "$probe" && rm -f "$probe" \
              && mkdir -p "$STEP_LOGS"; } 2>&1 ); then
    die "the state folder $state is not writable by $(id -un)" "$err" \
        "make it writable (ls -ld and chmod/chown it; lsattr -d shows an
immutable flag, chattr -i clears it; a read-only mount needs another
folder), or choose another folder: USERS_STATE_DIR=/path/to/folder scripts/run.sh"
fi

# nginx would only find out after the build and the migrations
if ! port_free "$port"; then
    die "port $port on 127.0.0.1 is taken by another process" "" \
        "find it with: ss -ltnp 'sport = :$port' (a scripts/run.sh still
running? stop it with Ctrl-C or kill PID), or serve on another port:
USERS_PORT=8001 scripts/run.sh"
fi

step dependencies "install the package apt names above by hand, or fix
apt's sources or proxy, then run scripts/run.sh again" \
    scripts/deps.sh
step build "the compiler's errors are above (build/make.log has them all)" \
    scripts/build.sh
step openapi "docs/openapi.yaml must be valid YAML that converts to JSON:
fix the place named above" \
    scripts/docs.sh --document "$docs"
# The API does not need the bundles: warn (once, here) and serve it.
step --warn docs "fix npm's access as docs.sh says above. Until then the
API and /openapi.json are served, and /docs and /redoc answer 503; once
npm reaches a registry, scripts/docs.sh${USERS_DOCS_DIR:+ $docs} installs
the bundles (no restart needed)." \
    scripts/docs.sh "$docs" || true

local_pg=
pg_started=
nginx_pid=
stopping=
# shellcheck disable=SC2317  # called by the trap
stop() {
    trap - INT TERM EXIT
    stopping=1
    if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2> /dev/null; then
        kill -QUIT "$nginx_pid" 2> /dev/null || true
        wait "$nginx_pid" 2> /dev/null || true
    fi
    if [ -n "$pg_started" ]; then
        scripts/pg.sh stop "$local_pg"
    fi
    echo "run: stopped" >&2
}
trap stop INT TERM EXIT

if [ -z "${DATABASE_URL:-}" ]; then
    local_pg=$state/pg
    pg_started=1
    step postgresql "when the postgres account cannot reach the folder,
choose one it can: USERS_STATE_DIR=/var/tmp/ngx-users scripts/run.sh;
otherwise read PostgreSQL's log, $local_pg/postgres.log (or initdb.log
beside it)" \
        scripts/pg.sh start "$local_pg"
    DATABASE_URL=$(scripts/pg.sh conninfo "$local_pg")
fi
export DATABASE_URL
hint="check that DATABASE_URL reaches the database and that its user may
create tables"
if [ -n "$local_pg" ]; then
    hint="PostgreSQL's log is $local_pg/postgres.log"
fi
step migrations "the error above names the connection or the migration;
$hint" \
    sql/migrate.sh

if [ -z "${SECRET_KEY:-}" ]; then
    [ -s "$state/jwt_secret" ] \
        || (umask 077; head -c 48 /dev/urandom | base64 > "$state/jwt_secret")
    SECRET_KEY=$(cat "$state/jwt_secret")
fi
export SECRET_KEY
export FIRST_SUPERUSER_EMAIL=${FIRST_SUPERUSER_EMAIL:-admin@example.com}
export FIRST_SUPERUSER_PASSWORD=${FIRST_SUPERUSER_PASSWORD:-adminpassword123}

prefix=$state/nginx
mkdir -p "$prefix"
ln -sfn "$docs" "$prefix/docs"

# conf/nginx.conf with the port: a listen directive cannot come from -g.
# Its includes are made absolute, as they resolve against the folder of
# the file nginx reads.
listen='^\( *listen 127\.0\.0\.1:\)8000;$'
grep -q "$listen" conf/nginx.conf \
    || die "conf/nginx.conf has no 'listen 127.0.0.1:8000;' line" "" \
           "restore it: scripts/run.sh replaces its port with USERS_PORT"
sed -e "s/$listen/\1$port;/" \
    -e "s#^\( *include \)\([^/][^;]*;\)\$#\1$top/conf/\2#" \
    conf/nginx.conf > "$prefix/nginx.conf"

echo "run: serving on http://127.0.0.1:$port (Ctrl-C stops)" >&2
/usr/sbin/nginx -p "$prefix/" -c "$prefix/nginx.conf" \
    -g "load_module $top/build/ngx_http_users_module.so;" &
nginx_pid=$!
rc=0
wait "$nginx_pid" || rc=$?
if [ -n "$stopping" ]; then
    exit 0
fi
if [ "$rc" -ne 0 ]; then
    # nginx's own error, on stderr, is just above
    report ERROR "nginx exited with status $rc (its [emerg] line above says why)" "" \
        "a taken port: ss -ltnp 'sport = :$port' finds the process, or use
USERS_PORT=8001; a configuration error names its file and line
($prefix/nginx.conf is conf/nginx.conf with the port)"
fi
exit "$rc"
