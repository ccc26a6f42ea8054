#!/usr/bin/env bash
# A private PostgreSQL 15 cluster in a folder, reached through a unix socket
# in DIR/run only (no TCP port to collide with), for the run and test
# commands.
#   scripts/pg.sh start DIR    create (first time), start, create the
#                              "users" role and database; prints the conninfo
#   scripts/pg.sh stop DIR     fast shutdown
#   scripts/pg.sh conninfo DIR
# As root the cluster runs as the postgres account (initdb refuses root).
# Env: PG_LISTEN (listen_addresses, default empty: socket only), PG_PORT.
set -euo pipefail
cmd=${1:?start|stop|conninfo}
dir=${2:?DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bin=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
[ -n "$bin" ] || { echo "pg.sh: PostgreSQL 15 is not installed" >&2; exit 1; }
port=${PG_PORT:-5432}
data=$dir/data
sock=$dir/run

as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

conninfo() {
    echo "host=$sock port=$port dbname=users user=users"
}

case $cmd in
start)
    mkdir -p "$sock"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir" "$sock"
        if ! runuser -u postgres -- test -x "$dir"; then
            echo "pg.sh: the postgres account cannot reach $dir (a parent" \
                 "folder without o+x, e.g. under /root); use a folder" \
                 "outside private home directories" >&2
            exit 1
        fi
    fi
    if [ ! -s "$data/PG_VERSION" ]; then
        if ! as_pg "$bin/initdb" -D "$data" -U postgres -E UTF8 \
                --locale=C.UTF-8 --auth=trust > "$dir/initdb.log" 2>&1; then
            tail -n 15 "$dir/initdb.log" >&2
            echo "pg.sh: initdb failed; its log: $dir/initdb.log" >&2
            exit 1
        fi
        printf 'local all all trust\n' > "$data/pg_hba.conf"
        if [ -n "${PG_LISTEN:-}" ]; then
            printf 'host all all 0.0.0.0/0 trust\n' >> "$data/pg_hba.conf"
        fi
    fi
    if ! as_pg "$bin/pg_ctl" -D "$data" status > /dev/null 2>&1; then
        opts="-c listen_addresses='${PG_LISTEN:-}' -p $port"
        opts="$opts -c unix_socket_directories=$sock -c max_connections=200"
        opts="$opts -c fsync=${PG_FSYNC:-on}"
        if ! as_pg "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
                -o "$opts" start > /dev/null; then
            tail -n 15 "$dir/postgres.log" >&2
            echo "pg.sh: PostgreSQL did not start; its log:" \
                 "$dir/postgres.log" >&2
            exit 1
        fi
    fi
    q() {
        as_pg "$bin/psql" -h "$sock" -p "$port" -U postgres -d postgres \
            -X -qAt -v ON_ERROR_STOP=1 -c "$1"
    }
    [ "$(q "SELECT 1 FROM pg_roles WHERE rolname = 'users'")" = 1 ] \
        || q "CREATE ROLE users LOGIN"
    [ "$(q "SELECT 1 FROM pg_database WHERE datname = 'users'")" = 1 ] \
        || q "CREATE DATABASE users OWNER users"
    conninfo
    ;;
stop)
    if [ -s "$data/PG_VERSION" ]; then
        as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop > /dev/null 2>&1 || true
    fi
    ;;
conninfo)
    conninfo
    ;;
*)
    echo "pg.sh: unknown command $cmd" >&2
    exit 2
    ;;
esac
