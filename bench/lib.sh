# Shared by bench/run and bench/soak: a throwaway PostgreSQL, the module in
# nginx, the FastAPI peer, seeding, tokens and wrk measurements.
# shellcheck shell=bash disable=SC2034  # variables set here are used by the callers

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
# optional (--peer): not in this repository, see README.md
PEER_DIR=${PEER_DIR:-$ROOT/../shared/peers/fastapi}
PYTHON=/usr/bin/python3   # Debian's: the peer's packages live there

# Ports of our own, away from the ones the project's dev scripts use, so a
# bench can run beside a developer's instance. BENCH_PORT_OFFSET moves them
# all, so two runs (two worktrees) can run at once without one failing to
# bind; they then share the cores, which each run's load average shows.
PORT_OFFSET=${BENCH_PORT_OFFSET:-0}
MODULE_PORT=$((18080 + PORT_OFFSET))
CEILING_PORT=$((18081 + PORT_OFFSET))
PEER_PORT=$((18100 + PORT_OFFSET))
PEER_PGPORT=$((18432 + PORT_OFFSET))
PG_SOCKET_PORT=$((18433 + PORT_OFFSET))   # names the module cluster's socket; no TCP

PASSWORD=benchpassword123
ADMIN_EMAIL=admin@bench.example
ADMIN_PASSWORD=adminpassword123
TOKEN_USERS=64          # user1..user64 hold the tokens of the user scenarios
WRK_THREADS=2           # one per core

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

need() {
    local cmd
    for cmd in "$@"; do
        command -v "$cmd" > /dev/null || die "$cmd is missing (scripts/deps.sh installs it)"
    done
}

# State of one run: a folder the postgres account can reach, removed at exit.
state_init() {
    STATE=$(mktemp -d /tmp/ngx-users-bench.XXXXXX)
    chmod 755 "$STATE"
    RUN_ID=$(date +%s)
    SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')   # the module wants >= 32 bytes
    CLEANUP=()
    trap state_cleanup EXIT
}

# Each start registers its stop here; they run in reverse order at exit.
on_exit() { CLEANUP+=("$*"); }

state_cleanup() {
    local i
    for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
        eval "${CLEANUP[$i]}" || true
    done
    rm -rf "$STATE"
}

psql_at() {  # CONNINFO SQL: one value per line, unaligned
    psql "$1" -X -qAt -v ON_ERROR_STOP=1 -c "$2"
}

# --- PostgreSQL for the module -----------------------------------------------

pg_start() {
    MODULE_DB=$(PG_PORT=$PG_SOCKET_PORT "$ROOT/scripts/pg.sh" start "$STATE/pg")
    on_exit "'$ROOT/scripts/pg.sh' stop '$STATE/pg'"
    "$ROOT/sql/migrate.sh" "$MODULE_DB" > /dev/null
}

# One Argon2id hash (the module's cost) for every seeded row: hashing 100,000
# passwords would take minutes, copying a string takes a second.
seed_hash() {
    [ -n "${SEED_HASH:-}" ] || SEED_HASH=$("$PYTHON" "$BENCH/hashcost.py" hash "$PASSWORD")
}

seed_users() {  # CONNINFO FROM TO: user<FROM..TO>@bench.example
    seed_hash
    # every column given: the peer's schema has no server-side defaults
    psql "$1" -X -q -v ON_ERROR_STOP=1 -v hash="$SEED_HASH" -v lo="$2" -v hi="$3" <<'SQL'
INSERT INTO users (email, name, hashed_password, is_active, is_superuser,
                   token_version, preferences, created_at, updated_at)
SELECT 'user' || i || '@bench.example', 'Bench User ' || i, :'hash', true, false,
       0, '{}', now(), now()
FROM generate_series(:lo, :hi) AS i ORDER BY i;
SQL
    psql "$1" -X -q -c 'VACUUM ANALYZE users' 2> /dev/null
}

# Keep the first N seeded users (and the superuser), as after seeding N.
trim_users() {  # CONNINFO N
    psql_at "$1" "DELETE FROM users WHERE NOT is_superuser AND id > (SELECT id FROM users WHERE email = 'user$2@bench.example')" > /dev/null
    psql "$1" -X -q -c 'VACUUM ANALYZE users' 2> /dev/null
}

# Ids of the seeded rows: SEED_LO..SEED_HI, TOKEN_LO..TOKEN_HI (user1..64).
seed_ids() {  # CONNINFO
    read -r SEED_LO SEED_HI < <(psql_at "$1" "SELECT min(id), max(id) FROM users WHERE email LIKE 'user%@bench.example'" | tr '|' ' ')
    read -r TOKEN_LO TOKEN_HI < <(psql_at "$1" "SELECT min(id), max(id) FROM users WHERE email IN (SELECT 'user' || i || '@bench.example' FROM generate_series(1, $TOKEN_USERS) i)" | tr '|' ' ')
    [ $((TOKEN_HI - TOKEN_LO + 1)) = "$TOKEN_USERS" ] || die "token users are not contiguous"
}

# --- nginx -------------------------------------------------------------------

# nginx_start NAME CONF: runs CONF (daemon) with the prefix $STATE/NAME/
nginx_start() {
    local name=$1 conf=$2 prefix=$STATE/$1
    nginx -p "$prefix/" -c "$conf" \
        || die "nginx $name did not start: $(tail -5 "$prefix/logs/error.log" 2> /dev/null)"
    on_exit "nginx_stop $name"
}

nginx_stop() {  # NAME: the master of that prefix, by its pid file
    local pidfile=$STATE/$1/nginx.pid pid i
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    kill -QUIT "$pid" 2> /dev/null || return 0
    for i in $(seq 50); do kill -0 "$pid" 2> /dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2> /dev/null || true
}

# The production configuration, conf/nginx.prod.conf, made to run here: in
# a prefix of its own (pid, logs, temp files) on 127.0.0.1, as a daemon,
# with the module just built and the repository's include files. The access
# log goes to a file, one write a request as to the container's stdout, and
# gives bench/report.py the statuses. Without the per-client limit_req of
# the password routes: all of a load test comes from 127.0.0.1.
module_conf() {  # SO [NAME PORT]: another instance in $STATE/NAME on PORT
    local name=${2:-module} port=${3:-$MODULE_PORT}
    local prefix=$STATE/$name conf=$STATE/$name/nginx.conf
    mkdir -p "$prefix/logs"
    sed -e "s|^load_module .*|load_module $1;|" \
        -e 's|^daemon off;|daemon on;|' \
        -e 's|^pid /tmp/nginx.pid;|pid nginx.pid;|' \
        -e 's|^error_log stderr |error_log logs/error.log |' \
        -e 's|access_log /dev/stdout |access_log logs/access.log |' \
        -e 's|_temp_path /tmp/|_temp_path |' \
        -e "s|^\( *\)listen 8000;|\1listen 127.0.0.1:$port;|" \
        -e "s|^\( *\)listen 9100;|\1listen 127.0.0.1:$((port + 100));|" \
        -e '/^ *limit_req zone=users_auth /d' \
        "$ROOT/conf/nginx.prod.conf" > "$conf"
    if [ -n "${PASSWORD_PRIORITY:-}" ]; then
        sed -i "s|^\( *\)users_password_cost .*|&\n\1users_password_priority $PASSWORD_PRIORITY;|" \
            "$conf"
    fi
    # a change of form in nginx.prod.conf must not go unnoticed
    if grep -v -e '^ *#' -e '^load_module' \
            -e '^ *include /usr/share/ngx-users/conf/[a-z_]*\.conf;$' "$conf" \
        | grep -qE '/tmp/|/dev/std|/usr/share/ngx-users|daemon off|listen (8000|9100)|limit_req zone=users_auth '; then
        die "conf/nginx.prod.conf changed: update module_conf in bench/lib.sh"
    fi
    # the include files after the check: a tree (or --baseline-conf) may be
    # under /tmp
    sed -i "s|^\( *include \)/usr/share/ngx-users/conf/|\1${CONF_DIR:-$ROOT/conf}/|" "$conf"
    if [ -n "${JWT_KEYS:-}" ]; then
        # bench/run --keys (bench/keys.sh): a key set beside the secret, after the
        # check above, since its files are in $STATE (/tmp/)
        grep -q '^ *users_jwt_secret ' "$conf" || die "conf/nginx.prod.conf has no users_jwt_secret: update module_conf"
        sed -i "s|^\( *\)users_jwt_secret .*|&\n\1$JWT_KEYS|" "$conf"
    fi
    # extra server blocks (bench/run --guard, --observe): includes at the
    # http level, after the check above, since their paths are under /tmp
    local inc
    for inc in ${MODULE_INCLUDE:-}; do
        sed -i "s|^\( *\)server_tokens off;|&\n\1include $inc;|" "$conf"
    done
    # bench/run --observe: no users_metrics location, so no metrics zone
    if [ -n "${METRICS_OFF:-}" ]; then
        grep -q '^ *users_metrics;' "$conf" || die "conf/nginx.prod.conf has no users_metrics: update module_conf"
        sed -i 's|^\( *\)users_metrics;|\1return 404;|' "$conf"
    fi
    echo "$conf"
}

module_start() {  # SO [NAME PORT], as module_conf
    local name=${2:-module} port=${3:-$MODULE_PORT} conf
    # module_conf's die ends only its own subshell
    conf=$(module_conf "$1" "$name" "$port") || exit 1
    DATABASE_URL=$MODULE_DB SECRET_KEY=$SECRET \
    FIRST_SUPERUSER_EMAIL=$ADMIN_EMAIL FIRST_SUPERUSER_PASSWORD=$ADMIN_PASSWORD \
        nginx_start "$name" "$conf"
    wait_status "http://127.0.0.1:$port/readyz" 200 \
        || die "nginx $name is not ready: $(tail -5 "$STATE/$name/logs/error.log")"
}

# pair_start ROUND A B: the instances A and B of a pair stopped and started
# anew, each by its function pair_instance_<name> ("-" read as "_"), A
# first in odd rounds and B in even ones
pair_start() {
    local name names=("$2" "$3")
    [ $(($1 % 2)) = 1 ] || names=("$3" "$2")
    for name in "${names[@]}"; do
        nginx_stop "$name"
        "pair_instance_${name//-/_}"
    done
}

# pair_settle NAME...: each instance idle (settle), as after a measurement
pair_settle() {
    local name
    for name; do TARGET=$name settle; done
}

# The return-200 ceiling, padded to the byte length of the target's /healthz.
ceiling_start() {  # TARGET_URL
    local want have pad=0
    want=$(response_bytes "$1/healthz")
    ceiling_conf 0
    have=$(response_bytes "http://127.0.0.1:$CEILING_PORT/healthz")
    # the padding may add a digit to Content-Length: then it is one byte over
    while [ "$have" -lt "$want" ]; do
        pad=$((pad + want - have))
        nginx_stop ceiling
        ceiling_conf "$pad"
        have=$(response_bytes "http://127.0.0.1:$CEILING_PORT/healthz")
    done
    log "healthz response: target $want bytes, return-200 ceiling $have bytes"
}

ceiling_conf() {  # PAD: starts nginx/ceiling.conf with PAD spaces after the body
    mkdir -p "$STATE/ceiling/logs"
    sed -e "s|@PORT@|$CEILING_PORT|" -e "s|@PAD@|$(printf "%${1}s" '')|" \
        "$BENCH/nginx/ceiling.conf" > "$STATE/ceiling/nginx.conf"
    nginx_start ceiling "$STATE/ceiling/nginx.conf"
}

response_bytes() {  # URL: status line, headers and body, as wrk_run asks
    curl -s -i -H "X-Request-ID: $(printf '%032d' 0)" "$1" | wc -c
}

# --- the FastAPI peer --------------------------------------------------------

peer_env() {
    export PEER_STATE_DIR=$STATE/peer
    export ARGON2_TIME_COST=2 ARGON2_MEMORY_COST=19456 ARGON2_PARALLELISM=1
    export FIRST_SUPERUSER_EMAIL=$ADMIN_EMAIL FIRST_SUPERUSER_PASSWORD=$ADMIN_PASSWORD
    export SECRET_KEY=$SECRET
    PEER_DB="host=$PEER_STATE_DIR/.pgdata/$PEER_PGPORT/run port=$PEER_PGPORT dbname=appdb user=postgres"
}

peer_start() {  # WORKERS
    [ -x "$PEER_DIR/run.sh" ] || die "no FastAPI peer in $PEER_DIR (bench/README.md says how to get it)"
    mkdir -p "$STATE/peer"
    (peer_env && exec "$PEER_DIR/run.sh" "$PEER_PORT" "$PEER_PGPORT" "$1") \
        > "$STATE/peer/run.log" 2>&1 &
    PEER_PID=$!
    on_exit "(peer_env && '$PEER_DIR/stop.sh' $PEER_PORT $PEER_PGPORT) 2> /dev/null"
    peer_env
    wait_status "http://127.0.0.1:$PEER_PORT/readyz" 200 \
        || die "the peer did not start: $(tail -5 "$STATE/peer/run.log")"
}

# --- targets -----------------------------------------------------------------

# target module|peer: sets URL and DB, and what prepare_target found for it
target() {
    TARGET=$1
    case $1 in
    module) URL=http://127.0.0.1:$MODULE_PORT; DB=$MODULE_DB ;;
    peer)   URL=http://127.0.0.1:$PEER_PORT; DB=$PEER_DB ;;
    esac
    if [ -f "$STATE/target-$1.env" ]; then
        # shellcheck disable=SC1090
        source "$STATE/target-$1.env"
    fi
}

# The seeded ids and the tokens of the current target, kept for target().
prepare_target() {
    seed_ids "$DB"
    tokens
    declare -p SEED_LO SEED_HI TOKEN_LO TOKEN_HI TOKENS ADMIN_TOKEN \
        | sed 's/^declare -- //' > "$STATE/target-$TARGET.env"
}

worker_pids() {
    case $TARGET in
    # uvicorn's workers are multiprocessing children of its master
    peer) pgrep -P "$PEER_PID" -f 'multiprocessing.spawn' ;;
    # the module, the ceiling, or another instance of the module by name
    *)    pgrep -P "$(cat "$STATE/$TARGET/nginx.pid")" -f 'nginx: worker process' ;;
    esac
}

# "sum max" of the workers' resident set sizes, in KiB
workers_rss() {
    local pid
    for pid in $(worker_pids); do
        awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"
    done | awk '{ s += $1; if ($1 > m) m = $1 } END { print s + 0, m + 0 }'
}

# CPU time used so far by the workers, all their threads included, in ticks
workers_cpu() {
    local pid
    for pid in $(worker_pids); do
        proc_ticks "$pid"
    done | awk '{ s += $1 } END { print s + 0 }'
}

# proc_ticks PID [reaped]: the CPU ticks of a process (utime and stime,
# fields 14 and 15, counted after the ")" of its name), with "reaped" also
# those of the children it has waited for; nothing for one that has exited
# (a failed read would stop the bench under set -e)
proc_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat" 2> /dev/null) || return 0
    awk -v reaped="${2:-}" \
        '{ print $12 + $13 + (reaped == "" ? 0 : $14 + $15) }' <<< "${stat##*) }"
}

# The CPU ticks the bench's PostgreSQL has used: the postmaster, the
# children it has reaped (autovacuum workers come and go) and those alive
db_cpu() {
    local pm pid
    pm=$(head -1 "$STATE/pg/data/postmaster.pid")
    {
        proc_ticks "$pm" reaped
        for pid in $(pgrep -P "$pm"); do
            # one that exits between pgrep and here is missed by this
            # reading only: the next finds its ticks in the postmaster's
            proc_ticks "$pid"
        done
    } | awk '{ s += $1 } END { print s + 0 }'
}

# Waits (up to 15 s) until the workers are idle: requests that wrk gave up on
# at the end of a measurement may still be queued for Argon2id, and they
# would slow the next measurement down.
settle() {
    local i before after
    after=$(workers_cpu)
    for i in $(seq 60); do
        before=$after
        sleep 0.25
        after=$(workers_cpu)
        # 2 ticks (20 ms) in 250 ms: under a tenth of a core
        [ $((after - before)) -gt 2 ] || return 0
    done
    log "warning: $TARGET still busy 15 s after a measurement"
}

# client connections to the target's database, less this query's own
pg_conns() {
    psql_at "$DB" "SELECT count(*) - 1 FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = current_database()"
}

wait_status() {  # URL STATUS: poll for up to 30 s
    local i
    for i in $(seq 150); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = "$2" ] && return 0
        sleep 0.2
    done
    return 1
}

login() {  # EMAIL PASSWORD: prints the access token
    curl -s -X POST "$URL/auth/login" --data-urlencode "username=$1" \
        --data-urlencode "password=$2" \
        | sed -n 's/.*"access_token": *"\([^"]*\)".*/\1/p'
}

login_refresh() {  # EMAIL PASSWORD: prints the refresh token of a new session
    local t
    # the answer ends without a newline, and so would sed's output
    t=$(curl -s -X POST "$URL/auth/login" --data-urlencode "username=$1" \
        --data-urlencode "password=$2" \
        | sed -n 's/.*"refresh_token": *"\([^"]*\)".*/\1/p')
    echo "$t"
}

# refresh_tokens N FILE: the refresh tokens of N new sessions of
# user1..user64 in turn, one a line, for wrk/api.lua's MODE=refresh. A
# measurement uses its tokens up (rotation), so each one logs in anew; four
# logins at a time (Argon2id on the workers' threads).
refresh_tokens() {
    local i
    rm -f "$2".*
    for ((i = 0; i < $1; i++)); do
        login_refresh "user$((i % TOKEN_USERS + 1))@bench.example" "$PASSWORD" > "$2.$i" &
        (((i + 1) % 4)) || wait
    done
    wait
    cat "$2".* > "$2"
    rm -f "$2".*
    [ "$(grep -c . "$2")" = "$1" ] || die "$(grep -c . "$2") of $1 logins for refresh tokens succeeded on $TARGET"
}

# Tokens of user1..user64 ($TOKENS, one a line) and of the superuser.
tokens() {
    local i t
    TOKENS=$STATE/tokens-$TARGET
    : > "$TOKENS"
    for i in $(seq "$TOKEN_USERS"); do
        t=$(login "user$i@bench.example" "$PASSWORD")
        [ -n "$t" ] || die "login of user$i failed on $TARGET"
        echo "$t" >> "$TOKENS"
    done
    ADMIN_TOKEN=$(login "$ADMIN_EMAIL" "$ADMIN_PASSWORD")
    [ -n "$ADMIN_TOKEN" ] || die "superuser login failed on $TARGET"
}

# --- measurements ------------------------------------------------------------

# The manifest lists every measurement of a run, one JSON object a line, for
# bench/report.py.
manifest() {  # KEY=VALUE... (values are JSON strings unless they are numbers)
    local kv out=''
    for kv in "$@"; do
        local k=${kv%%=*} v=${kv#*=}
        [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || v="\"${v//\"/\\\"}\""
        out+="${out:+, }\"$k\": $v"
    done
    echo "{$out}" >> "$RESULTS/manifest.jsonl"
}

# wrk_run GROUP KEY LABEL CONNECTIONS SECONDS URL [ENV=VALUE...] [-- FIELD=VALUE...]
# Runs wrk --latency with bench/wrk/api.lua (ENV configures it); halfway
# through, samples the workers' RSS and the database connections; records it
# all in the manifest, with the FIELDs after "--". Every request carries an
# X-Request-ID naming the measurement, which the module writes in its access
# log: access_statuses counts the statuses from there, which costs wrk
# nothing (a Lua response() callback would slow it down). 32 characters,
# like the ids nginx makes, so responses keep their usual length.
wrk_run() {
    local group=$1 key=$2 label=$3 conns=$4 secs=$5 url=$6
    shift 6
    local envs=() fields=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    [ $# -gt 0 ] && shift && fields=("$@")
    local out=$RESULTS/raw/$group-$key.txt sample=$STATE/sample-$group-$key sampler rid
    local threads=$((conns < WRK_THREADS ? conns : WRK_THREADS))
    rid=$(printf '%-32.32s' "b-$group-$key" | tr ' ' .)
    (sleep "$(awk "BEGIN { print $secs / 2 }")"; echo "$(workers_rss) $(pg_conns)") > "$sample" &
    sampler=$!
    # wrk wants no more threads than connections (a single scraper); the
    # script is told how many (MODE=refresh shares its tokens out by thread)
    env "${envs[@]}" RUN_ID="$RUN_ID-$group-$key" THREADS="$threads" wrk --latency \
        -t"$threads" \
        -c"$conns" -d"${secs}s" --timeout 10s -H "X-Request-ID: $rid" \
        -s "$BENCH/wrk/api.lua" "$url" > "$out" 2>&1 \
        || log "wrk failed for $group $key: $(tail -3 "$out")"
    wait "$sampler" || true
    settle
    local rss rss_max conns_db
    read -r rss rss_max conns_db < "$sample" || true
    manifest group="$group" key="$key" label="$label" kind=wrk file="raw/${out##*/}" \
        connections="$conns" rss_kb="${rss:-0}" rss_max_kb="${rss_max:-0}" \
        pg_conns="${conns_db:-0}" request_id="$rid" "${fields[@]}"
}

# Stops the module's nginx, which flushes its access log, and reads it:
# the statuses of each measurement's request id ("COUNT REQUEST_ID STATUS"
# lines) and the server's own time per route ("REQUEST_ID METHOD ROUTE
# COUNT P50 P99 MAX", milliseconds; ids in paths read as {id}), which wrk's
# latency cannot give for a mixed workload.
access_statuses() {
    nginx_stop module
    # fields between quotes (json_log.conf): 8 the request id, 16 the
    # method, 20 the URI; awk, not a backtracking sed: a soak's log is over
    # a gigabyte, so the times go into a histogram of milliseconds
    awk -F'"' -v statuses="$RESULTS/raw/statuses-module.txt" \
        -v times="$RESULTS/raw/times-module.txt" '
        $8 ~ /^b-/ && match($0, /"status":[0-9]+/) {
            n[$8 " " substr($0, RSTART + 9, RLENGTH - 9)]++
            route = $20
            sub(/\?.*/, "", route)
            gsub(/\/[0-9]+/, "/{id}", route)
            k = $8 " " $16 " " route
            match($0, /"duration":[0-9.]+/)
            ms = int(substr($0, RSTART + 11, RLENGTH - 11) * 1000 + 0.5)
            count[k]++
            h[k, ms]++
            if (ms > max[k]) max[k] = ms
        }
        END {
            for (k in n) print n[k], k > statuses
            for (k in count) {
                seen = 0; p50 = ""; p99 = ""
                for (ms = 0; ms <= max[k]; ms++) {
                    seen += h[k, ms]
                    if (p50 == "" && seen >= count[k] * 0.50) p50 = ms
                    if (p99 == "" && seen >= count[k] * 0.99) p99 = ms
                }
                print k, count[k], p50, p99, max[k] + 0 > times
            }
        }' "$STATE/module/logs/access.log"
    manifest kind=statuses file=raw/statuses-module.txt
    manifest kind=times file=raw/times-module.txt
}
