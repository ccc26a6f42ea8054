#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds, starts a
# throwaway PostgreSQL cluster, migrates it, and runs t/ with prove against
# Debian's nginx and the built module. Exits non-zero on any failure.
#   scripts/test.sh [prove arguments, e.g. t/010-meta.t]
# Uses the real Test::Nginx::Socket when it is installed, else the
# project's own harness in t/harness/. Test files run TEST_JOBS at a time
# (default: one a core), each job with a PostgreSQL cluster, a port range
# and a server root of its own, so no file sees another's rows, listeners
# or restarts of the database. A step that fails says which, why
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
servroot=${TEST_NGINX_SERVROOT:-$top/t/servroot}
port=${TEST_NGINX_PORT:-1984}
clusters=()
cleanup() {
    local root dir log
    for root in "$servroot" "$servroot"-j*; do
        if [ -f "$root/logs/nginx.pid" ]; then
            kill -QUIT "$(cat "$root/logs/nginx.pid")" 2> /dev/null || true
        fi
    done
    for dir in "${clusters[@]}"; do
        scripts/pg.sh stop "$dir"
        # the cluster goes with $tmp; its logs are what a failure asks for
        for log in postgres initdb; do
            cp "$dir/$log.log" "$STEP_LOGS/$log${dir#"$tmp"/pg}.log" \
                2> /dev/null || true
        done
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# job N's suffix of its cluster and server root: none for the first (as
# when there is one job), -jN for the others
suffix() {
    [ "$1" -eq 0 ] || echo "-j$1"
}

# cluster SUFFIX: a migrated cluster in $tmp/pg$SUFFIX
cluster() {
    local dir=$tmp/pg$1
    clusters+=("$dir")
    # durability is not under test: fsync off keeps the suite quick
    step "postgresql$1" "read PostgreSQL's log, kept as
$STEP_LOGS/postgres$1.log (or initdb$1.log beside it); the postgres account
must reach $tmp: set TMPDIR to a folder it can reach" \
        env PG_FSYNC=off scripts/pg.sh start "$dir"
    step "migrations$1" "the error above names the connection or the
migration; PostgreSQL's log is kept as $STEP_LOGS/postgres$1.log" \
        sql/migrate.sh "$(scripts/pg.sh conninfo "$dir")"
}

# use_cluster SUFFIX: the tests' environment names that cluster
use_cluster() {
    export TEST_NGINX_PG_DIR=$tmp/pg$1
    TEST_NGINX_PG_CONNINFO=$(scripts/pg.sh conninfo "$TEST_NGINX_PG_DIR")
    export TEST_NGINX_PG_CONNINFO
}

head -c 48 /dev/urandom | base64 > "$tmp/jwt_secret"
echo admin@example.com > "$tmp/su_email"
echo adminpassword123 > "$tmp/su_password"

export TEST_NGINX_BINARY=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
# a sanitizer build brings its own module (scripts/asan.sh)
export TEST_NGINX_USERS_MODULE=${TEST_NGINX_USERS_MODULE:-$top/build/ngx_http_users_module.so}
export TEST_NGINX_CONF_DIR=$top/conf
export TEST_NGINX_JWT_SECRET_FILE=$tmp/jwt_secret
export TEST_NGINX_SU_EMAIL_FILE=$tmp/su_email
export TEST_NGINX_SU_PASSWORD_FILE=$tmp/su_password
export TEST_NGINX_TMP=$tmp

inc=(-I.)
perl -MTest::Nginx::Socket -e1 2> /dev/null || inc+=(-It/harness)

if [ $# -eq 0 ]; then
    set -- -r t/
fi

# Only test files, folders of them and prove's flags that take no value
# can be shared out among jobs; anything else runs as one prove.
files=()
flags=()
for arg in "$@"; do
    case $arg in
    -r | --recurse) ;;
    -v | --verbose | --timer | -s | --shuffle | -q | -Q | --quiet | --QUIET)
        flags+=("$arg") ;;
    *.t) files+=("$arg") ;;
    -*) files=() && break ;;
    *)
        [ -d "$arg" ] || { files=() && break; }
        mapfile -t -O "${#files[@]}" files < <(find "$arg" -name '*.t' | sort)
        ;;
    esac
done

jobs=${TEST_JOBS:-$(nproc)}
if [ "$jobs" -gt "${#files[@]}" ]; then
    jobs=${#files[@]}
fi

if [ "$jobs" -le 1 ]; then
    cluster "$(suffix 0)"
    use_cluster "$(suffix 0)"
    prove "${inc[@]}" "$@"
    exit
fi

# The scenarios (9xx) take longest: they go first, so that the last file
# to start is a short one and the jobs end together.
mapfile -t files < <(printf '%s\n' "${files[@]}" \
    | awk '{ print (/\/9[0-9][0-9]-[^\/]*$/ ? 0 : 1), $0 }' \
    | sort -s -k1,1n | cut -d' ' -f2-)

# run_job N: files claimed one at a time (mkdir is atomic), each by a prove
# of its own whose output is kept, and shown when the file fails
run_job() {
    local n=$1 i f log start rc
    export TEST_NGINX_PORT=$((port + 100 * n))
    export TEST_NGINX_SERVER_PORT=$TEST_NGINX_PORT
    unset TEST_NGINX_CLIENT_PORT
    export TEST_NGINX_SERVROOT=$servroot$(suffix "$n")
    use_cluster "$(suffix "$n")"
    for i in "${!files[@]}"; do
        mkdir "$tmp/claim.$i" 2> /dev/null || continue
        f=${files[$i]}
        log=$STEP_LOGS/prove-$(basename "$f" .t).log
        start=$SECONDS
        rc=0
        prove "${inc[@]}" "${flags[@]}" "$f" > "$log" 2>&1 || rc=$?
        if [ "$rc" -eq 0 ]; then
            printf '[job %d] %s ok, %s, %d s\n' "$n" "$f" \
                "$(grep -o 'Tests=[0-9]*' "$log" | tail -1)" \
                $((SECONDS - start))
        else
            printf '[job %d] %s FAILED (exit status %d), %d s: %s\n' "$n" \
                "$f" "$rc" $((SECONDS - start)) "$log"
            echo "$f" > "$tmp/failed.$i"
        fi
    done
}

echo "test: ${#files[@]} files, $jobs jobs (TEST_JOBS), ports $port," \
    "$((port + 100)), ... and server roots $servroot, $servroot-j1, ..." >&2
for n in $(seq 0 $((jobs - 1))); do
    cluster "$(suffix "$n")"
done
pids=()
for n in $(seq 0 $((jobs - 1))); do
    run_job "$n" &
    pids+=($!)
done
for pid in "${pids[@]}"; do
    wait "$pid"
done

failed=$(cat "$tmp"/failed.* 2> /dev/null || true)
if [ -z "$failed" ]; then
    echo "test: all ${#files[@]} files passed"
    exit 0
fi
for f in $failed; do
    printf '\n=== %s\n' "$f"
    cat "$STEP_LOGS/prove-$(basename "$f" .t).log"
done
echo "test: FAILED: $(echo $failed)" >&2
exit 1
