# The guard scenarios of bench/run --guard (sourced by bench/run, after
# lib.sh): users_auth in front of `return 204` and of a proxy_pass, each
# beside the same location unguarded; the database statements the guard
# makes once warm; and how fast a revocation on one instance is refused by
# another on the same database.
# shellcheck shell=bash disable=SC2034  # variables set here are used by the callers

GUARD_PORT=$((18082 + PORT_OFFSET))           # the guard server block of the module (instance A)
GUARD_UPSTREAM_PORT=$((18083 + PORT_OFFSET))  # its proxy_pass upstream
GUARD_B_PORT=$((18090 + PORT_OFFSET))         # instance B: the API
GUARD_B_GUARD_PORT=$((18092 + PORT_OFFSET))   # instance B: its guard server block
GUARD_B_UPSTREAM_PORT=$((18093 + PORT_OFFSET))
GUARD_REVOCATIONS=200

guard_render() {  # PORT UPSTREAM OUT: bench/nginx/guard.conf with its ports
    sed -e "s|@PORT@|$1|" -e "s|@UPSTREAM@|$2|" "$BENCH/nginx/guard.conf" > "$3"
}

# Before the module starts: its configuration gets the guard server block.
guard_conf() {
    guard_render "$GUARD_PORT" "$GUARD_UPSTREAM_PORT" "$STATE/guard-a.conf"
    MODULE_INCLUDE=$STATE/guard-a.conf
}

# pg_stat_statements counts every statement of the module's connections,
# the listener's included, as it runs (pg_stat_database's counters reach
# shared memory up to 10 s late from an idle backend). It must be preloaded:
# one restart of the bench's own cluster, before the module connects.
guard_pg() {
    local su=${MODULE_DB/user=users/user=postgres}
    psql_at "$su" "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" > /dev/null
    "$ROOT/scripts/pg.sh" stop "$STATE/pg"
    PG_PORT=$PG_SOCKET_PORT "$ROOT/scripts/pg.sh" start "$STATE/pg" > /dev/null
    psql_at "$su" "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" > /dev/null
}

# Statements run by the module's role since the last reset, less the
# bench's own pg_conns samples (same role), into FILE ("CALLS<TAB>QUERY");
# prints two counts: the listener's heartbeat (users_auth_heartbeat in
# ngx_http_users_sql.c, once a second a worker whatever the load) and all
# the others, which are what requests cost.
guard_statements() {  # FILE
    local su=${MODULE_DB/user=users/user=postgres}
    psql "$su" -X -qAt -F $'\t' -v ON_ERROR_STOP=1 -c "
        SELECT calls, regexp_replace(query, '\s+', ' ', 'g') FROM pg_stat_statements
        WHERE userid = 'users'::regrole AND query NOT LIKE '%pg_stat_activity%'
        ORDER BY calls DESC" > "$1"
    awk -F'\t' '$2 ~ /^WITH purged AS \(DELETE FROM auth_changes / { beat += $1; next }
                 { other += $1 } END { print beat + 0, other + 0 }' "$1"
}

# Instance B: the same configuration on other ports, same database and key.
guard_b_start() {
    mkdir -p "$STATE/guardb/logs"
    guard_render "$GUARD_B_GUARD_PORT" "$GUARD_B_UPSTREAM_PORT" "$STATE/guard-b.conf"
    sed -e "s|listen 127.0.0.1:$MODULE_PORT;|listen 127.0.0.1:$GUARD_B_PORT;|" \
        -e "s|include $STATE/guard-a.conf;|include $STATE/guard-b.conf;|" \
        -e "\|include $STATE/audit-off.conf;|d" \
        "$STATE/module/nginx.conf" > "$STATE/guardb/nginx.conf"
    DATABASE_URL=$MODULE_DB SECRET_KEY=$SECRET \
    FIRST_SUPERUSER_EMAIL=$ADMIN_EMAIL FIRST_SUPERUSER_PASSWORD=$ADMIN_PASSWORD \
        nginx_start guardb "$STATE/guardb/nginx.conf"
    wait_status "http://127.0.0.1:$GUARD_B_PORT/readyz" 200 \
        || die "instance B is not ready: $(tail -5 "$STATE/guardb/logs/error.log")"
}

guard_preflight() {  # PATH: one request with a token, which must be 204
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' \
        -H "Authorization: Bearer $(head -1 "$TOKENS")" "http://127.0.0.1:$GUARD_PORT$1")
    [ "$status" = 204 ] || log "warning: $1 answered $status, not 204"
}

# guard_measure GROUP KEY WHICH KIND: one wrk measurement of /open/KIND
# (WHICH=open, the ceiling) or /guard/KIND, with the users' tokens either
# way, so both locations get the same request bytes
guard_measure() {
    local label="GET /$3/$4"
    [ "$3" = open ] && label+=" (no users_auth)" || label+=" (users_auth user)"
    wrk_run "$1" "$2" "$label" "$CONNS" "$DURATION" "http://127.0.0.1:$GUARD_PORT/$3/$4" \
        TOKENS_FILE="$TOKENS" -- ceiling="open_$4" expect=204
}

guard() {
    local kind r which order su=${MODULE_DB/user=users/user=postgres} n beat start
    target module
    log "guard: warm-up"
    # every token through the guard once: each worker's verified-token cache
    # and the revocation zone know the 64 users before anything is counted
    for kind in return proxy; do
        guard_preflight "/guard/$kind"
        env TOKENS_FILE="$TOKENS" wrk -t"$WRK_THREADS" -c"$CONNS" -d2s \
            -s "$BENCH/wrk/api.lua" "http://127.0.0.1:$GUARD_PORT/guard/$kind" > /dev/null
    done
    settle
    psql_at "$su" "SELECT pg_stat_statements_reset()" > /dev/null
    start=$(date +%s.%N)
    for kind in return proxy; do
        log "guard: $kind, unguarded then guarded"
        guard_measure ceiling "open_$kind" open "$kind"
        guard_measure module "guard_$kind" guard "$kind"
        # then in paired rounds, alternating, as bench/run's paired() does
        for ((r = 1; r <= (ROUNDS > 0 ? ROUNDS : 1); r++)); do
            order=(open guard)
            [ $((r % 2)) = 1 ] || order=(guard open)
            for which in "${order[@]}"; do
                case $which in
                open) guard_measure "pair-guard_$kind" "c$r" open "$kind" ;;
                guard) guard_measure "pair-guard_$kind" "m$r" guard "$kind" ;;
                esac
            done
        done
    done
    read -r beat n < <(guard_statements "$RESULTS/raw/guard-statements.txt")
    manifest group=guard key=statements kind=guard_statements statements="$n" \
        beat_statements="$beat" seconds="$(awk "BEGIN { print $(date +%s.%N) - $start }")" \
        workers="$(worker_pids | wc -l)" counter=pg_stat_statements \
        file=raw/guard-statements.txt
    log "guard: $n statements ($beat more from the listener's heartbeat) during the guard measurements"

    log "guard: revocation propagation, $GUARD_REVOCATIONS logouts on A seen on B"
    guard_b_start
    "$PYTHON" "$BENCH/revocation.py" "$URL" "http://127.0.0.1:$GUARD_B_GUARD_PORT/guard/return" \
        $((LOGIN_HI - GUARD_REVOCATIONS + 1)) "$GUARD_REVOCATIONS" "$PASSWORD" \
        > "$RESULTS/raw/guard-propagation.json"
    manifest group=guard key=propagation kind=guard_propagation \
        file=raw/guard-propagation.json
    nginx_stop guardb
}
