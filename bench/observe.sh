# The observability scenarios of bench/run --observe (sourced by bench/run,
# after lib.sh): what the audit log and the metrics cost, each beside the
# same requests without them, in paired rounds, and how fast /metrics
# answers while the API is loaded.
# shellcheck shell=bash disable=SC2034  # variables set here are used by the callers

AUDIT_OFF_PORT=$((18084 + PORT_OFFSET))   # the API again, with users_audit off
SCRAPE_CEILING_PORT=$((18085 + PORT_OFFSET))  # return 200 of /metrics' size
NO_METRICS_PORT=$((18086 + PORT_OFFSET))  # another instance, without the zone
# METRICS_PORT (18089), the instance with it: metrics_pair

# Before the module starts: a server block that serves the same locations
# with users_audit off, in the same workers, pool and database, so that the
# two differ by the audit writes alone.
observe_conf() {
    cat > "$STATE/audit-off.conf" <<CONF
server {
    listen 127.0.0.1:$AUDIT_OFF_PORT;
    server_name _;
    users_request_id on;
    users_audit off;
    include $ROOT/conf/users_locations.conf;
}
CONF
    scrape_ceiling_conf 0
    MODULE_INCLUDE="${MODULE_INCLUDE:+$MODULE_INCLUDE }$STATE/audit-off.conf $STATE/scrape-ceiling.conf"
}

# The scrape's ceiling: nginx's return 200 of BYTES bytes, in the same
# workers, so under the same load and the same scheduler as /metrics
scrape_ceiling_conf() {  # BYTES
    # nginx reads no token over 4 KiB: the body is pieces in variables
    local piece=2048 left=$1 sets='' vars='' n=0
    while [ "$left" -gt 0 ]; do
        local len=$((left < piece ? left : piece))
        sets+="        set \$p$n '$(printf '%*s' "$len" '' | tr ' ' x)';"$'\n'
        vars+="\$p$n"
        left=$((left - len))
        n=$((n + 1))
    done
    cat > "$STATE/scrape-ceiling.conf" <<CONF
server {
    listen 127.0.0.1:$SCRAPE_CEILING_PORT;
    server_name _;
    access_log off;
    default_type "text/plain; version=0.0.4; charset=utf-8";
    location = /metrics {
        allow 127.0.0.1;
        deny all;
$sets        return 200 "$vars";
    }
}
CONF
}

# The metrics' pair: two more instances of this build on the same
# database, one with the zone and one without any users_metrics location
# (so no request is counted), both started anew each round
METRICS_PORT=$((18089 + PORT_OFFSET))
pair_instance_metrics() {
    MODULE_INCLUDE='' module_start "$SO" metrics "$METRICS_PORT"
}
pair_instance_no_metrics() {
    METRICS_OFF=1 MODULE_INCLUDE='' module_start "$SO" no-metrics "$NO_METRICS_PORT"
}
metrics_pair() {
    PAIR_URL=http://127.0.0.1:$METRICS_PORT at_once pair-metrics_users_me \
        "$OBSERVE_ROUNDS" users_me "http://127.0.0.1:$NO_METRICS_PORT" \
        "without metrics" no-metrics metrics
}

observe_warm() {  # the pool's connections open, its caches full
    env TOKENS_FILE="$TOKENS" wrk -t"$WRK_THREADS" -c"$CONNS" -d2s \
        -s "$BENCH/wrk/api.lua" "$URL/users/me" > /dev/null
    settle
}

observe() {
    local audit_off=http://127.0.0.1:$AUDIT_OFF_PORT
    target module
    # the audit's pairs: the module's own workers, through its second
    # server block (users_audit off) and its first
    in_turn pair-audit_put_profile_me "$OBSERVE_ROUNDS" put_profile_me \
        "$audit_off" "users_audit off"
    in_turn pair-audit_register "$OBSERVE_ROUNDS" register "$audit_off" \
        "users_audit off"
    metrics_pair

    # the ceiling's body as long as the text /metrics has now; a reload
    # keeps the zone, so the text stays that long
    local metrics=http://127.0.0.1:$((MODULE_PORT + 100))/metrics
    local ceiling=http://127.0.0.1:$SCRAPE_CEILING_PORT/metrics r
    scrape_ceiling_conf "$(curl -s "$metrics" | wc -c)"
    # a signal, not "nginx -s reload", which parses the configuration
    # without the environment module_start gave the master
    kill -HUP "$(cat "$STATE/module/nginx.pid")" || die "nginx module did not reload"
    sleep 2
    observe_warm
    log "observe: scrape sizes: /metrics $(response_bytes "$metrics") bytes," \
        "its return-200 ceiling $(response_bytes "$ceiling") bytes"

    # one scraper, as Prometheus is, while the API serves GET /users/me,
    # beside the same scraper of return 200 under the same load, in turn
    # (the first of each round alternating) as many rounds as the pairs
    for ((r = 1; r <= OBSERVE_ROUNDS; r++)); do
        log "observe: /metrics under load, round $r of $OBSERVE_ROUNDS"
        if [ $((r % 2)) = 1 ]; then
            scrape_under_load "metrics_scrape_r$r" "GET /metrics" "$metrics"
        fi
        scrape_under_load "scrape_ceiling_r$r" "return 200 of its size" "$ceiling"
        if [ $((r % 2)) = 0 ]; then
            scrape_under_load "metrics_scrape_r$r" "GET /metrics" "$metrics"
        fi
    done
}

# The scraper is paced, a scrape every SCRAPE_PACE_MS, as Prometheus is
# (every 15 s by default): in a closed loop it would be a load of its own,
# rendering the text as fast as the cores allow, and a /metrics that costs
# more than its ceiling's return 200 would slow the load it is measured in
SCRAPE_PACE_MS=10
scrape_under_load() {  # KEY LABEL URL
    env TOKENS_FILE="$TOKENS" wrk -t"$WRK_THREADS" -c"$CONNS" -d"$((DURATION + 2))s" \
        -s "$BENCH/wrk/api.lua" "$URL/users/me" > /dev/null &
    local load=$!
    sleep 1
    local label="$2 (1 connection, a request every $SCRAPE_PACE_MS ms,"
    wrk_run observe "$1" "$label GET /users/me at $CONNS)" 1 "$DURATION" "$3" \
        PACE_MS="$SCRAPE_PACE_MS" -- pace_ms="$SCRAPE_PACE_MS"
    wait "$load" || true
}
