#!/usr/bin/env bash
# Runs the service on 127.0.0.1:8000 in the foreground: installs what is
# missing, builds, starts a local PostgreSQL cluster kept in .state/pg
# (data survives restarts), applies the migrations and starts nginx with
# the module. Ctrl-C stops nginx, then PostgreSQL.
#
# Env: DATABASE_URL (use an existing PostgreSQL instead of .state/pg),
#      SECRET_KEY (default: a random one kept in .state/jwt_secret),
#      FIRST_SUPERUSER_EMAIL / FIRST_SUPERUSER_PASSWORD
#      (admin@example.com / adminpassword123).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
state=$top/.state
mkdir -p "$state"

scripts/deps.sh
scripts/build.sh > /dev/null
scripts/docs.sh > /dev/null

local_pg=
if [ -z "${DATABASE_URL:-}" ]; then
    local_pg=$state/pg
    DATABASE_URL=$(scripts/pg.sh start "$local_pg")
fi
export DATABASE_URL
sql/migrate.sh "$DATABASE_URL"

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
ln -sfn "$top/build/docs" "$prefix/docs"

stop() {
    trap - INT TERM EXIT
    if [ -n "${nginx_pid:-}" ] && kill -0 "$nginx_pid" 2> /dev/null; then
        kill -QUIT "$nginx_pid" 2> /dev/null || true
        wait "$nginx_pid" 2> /dev/null || true
    fi
    if [ -n "$local_pg" ]; then
        scripts/pg.sh stop "$local_pg"
    fi
    echo "run: stopped" >&2
}
trap stop INT TERM EXIT

echo "run: serving on http://127.0.0.1:8000 (Ctrl-C stops)" >&2
/usr/sbin/nginx -p "$prefix/" -c "$top/conf/nginx.conf" \
    -g "load_module $top/build/ngx_http_users_module.so;" &
nginx_pid=$!
wait "$nginx_pid"
