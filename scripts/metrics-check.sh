#!/usr/bin/env bash
# A real Prometheus scrapes a running service: Debian's prometheus server,
# with a throwaway configuration and storage, scrapes BASE_URL/metrics every
# second; after GET /healthz N times and a POST /auth/register, its HTTP API
# must report the healthz count N higher than before, and promtool must
# accept the scrape. Stops the Prometheus it started, whatever happens.
#   scripts/metrics-check.sh BASE_URL        e.g. http://127.0.0.1:8000
# (.ci/run runs it inside with_service, which starts the run command.)
# Env: METRICS_PROMETHEUS_PORT (default 9099), METRICS_REQUESTS (default 25).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: scripts/metrics-check.sh BASE_URL}
port=${METRICS_PROMETHEUS_PORT:-9099}
n=${METRICS_REQUESTS:-25}
prom=http://127.0.0.1:$port

if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
    scripts/deps.sh prometheus   # 19 MB to fetch: only this step needs it
fi

fail() { echo "metrics-check: $*" >&2; exit 1; }

series='users_http_requests_total{route="healthz",method="GET",code="200"}'

# the count the service itself reports, 0 before the first request
scraped() {
    curl -fsS "$base/metrics" | awk -v s="$series" '$1 == s { print $2; f = 1 }
        END { if (!f) print 0 }'
}

# the count through Prometheus' API, empty while it has no sample
queried() {
    curl -fsS -G "$prom/api/v1/query" --data-urlencode "query=sum($series)" \
        | perl -MJSON::PP -0777 -ne '
            my $r = decode_json($_)->{data}{result};
            print @$r ? $r->[0]{value}[1] : ""'
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/users-metrics.XXXXXX")
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

hostport=${base#*://}
hostport=${hostport%%/*}
cat > "$tmp/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: users
    metrics_path: /metrics
    static_configs:
      - targets: ['$hostport']
EOC

promtool check config "$tmp/prometheus.yml" >/dev/null \
    || fail "promtool rejects the temporary configuration"

prometheus --config.file="$tmp/prometheus.yml" \
    --storage.tsdb.path="$tmp/data" \
    --web.listen-address="127.0.0.1:$port" \
    > "$tmp/prometheus.log" 2>&1 &
pid=$!

for _ in $(seq 1 60); do
    curl -fs "$prom/-/ready" >/dev/null && break
    kill -0 "$pid" 2>/dev/null \
        || { tail -20 "$tmp/prometheus.log" >&2; fail "prometheus exited"; }
    sleep 0.5
done
curl -fs "$prom/-/ready" >/dev/null || fail "prometheus not ready in 30 s"

before=$(scraped)
for _ in $(seq 1 "$n"); do
    curl -fsS -o /dev/null "$base/healthz"
done
email="metrics-check-$$-$RANDOM@example.com"
status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$base/auth/register" \
    -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"name\":\"Metrics\",\"password\":\"secretpassword123\"}")
[ "$status" = 201 ] || fail "POST /auth/register answered $status"

want=$((before + n))
[ "$(scraped)" = "$want" ] || fail "/metrics counts $(scraped) healthz, not $want"

got=
for _ in $(seq 1 30); do
    got=$(queried || true)
    [ "$got" = "$want" ] && break
    sleep 1
done
[ "$got" = "$want" ] \
    || fail "Prometheus' query answered '${got}', not $want (log: $(tail -3 "$tmp/prometheus.log"))"

reg=$(curl -fsS -G "$prom/api/v1/query" --data-urlencode \
    'query=users_http_requests_total{route="auth_register",method="POST",code="201"}' \
    | perl -MJSON::PP -0777 -ne '
        my $r = decode_json($_)->{data}{result}; print scalar @$r')
[ "$reg" -ge 1 ] || fail "Prometheus has no auth_register 201 series"

curl -fsS "$base/metrics" > "$tmp/scrape.txt"
promtool check metrics < "$tmp/scrape.txt" \
    || fail "promtool check metrics rejects the scrape ($tmp/scrape.txt)"

echo "metrics-check: passed (Prometheus counted $want GET /healthz)"
