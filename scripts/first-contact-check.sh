#!/usr/bin/env bash
# The README's run command as a new user first meets it (issue 19), on a
# machine whose npm registry is unreachable: scripts/run.sh must warn that
# the docs step failed and serve the API anyway, with /docs and /redoc
# answering a JSON 503 that names the fix; then a taken port and an
# unwritable state folder must each stop it with its message.
# State, docs and npm's cache live in a temporary folder and the service
# on its own port, so neither .state/, build/docs, a bundle cached by an
# earlier fetch nor a developer's service on 8000 is involved. Everything
# started is stopped.
#   scripts/first-contact-check.sh
# Env: FIRST_CONTACT_PORT (default 8019)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
port=${FIRST_CONTACT_PORT:-8019}
base=http://127.0.0.1:$port
me=first-contact-check

fail() {
    echo "$me: FAIL: $*" >&2
    exit 1
}
ok() {
    echo "$me: ok: $*"
}

port_free "$port" \
    || fail "port $port is taken; choose another with FIRST_CONTACT_PORT"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/users-first-contact.XXXXXX")
chmod 755 "$tmp"   # the postgres account keeps its cluster in here
run_pid=
holder_pid=
immutable=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    if [ -n "$run_pid" ]; then
        kill -TERM "$run_pid" 2> /dev/null || true
        wait "$run_pid" 2> /dev/null || true
    fi
    if [ -n "$holder_pid" ]; then
        kill "$holder_pid" 2> /dev/null || true
        wait "$holder_pid" 2> /dev/null || true
    fi
    # what a run.sh that died without its trap would have left behind
    local pid
    pid=$(cat "$tmp/state/nginx/nginx.pid" 2> /dev/null || true)
    if [ -n "$pid" ] && grep -qs "$tmp" "/proc/$pid/cmdline"; then
        kill -QUIT "$pid" 2> /dev/null || true
    fi
    if [ -d "$tmp/state/pg" ]; then
        scripts/pg.sh stop "$tmp/state/pg"
    fi
    if [ -n "$immutable" ]; then
        chattr -i "$immutable"
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

unset DATABASE_URL SECRET_KEY
# nothing listens on the discard port: the fetch is refused at once
export npm_config_registry=http://127.0.0.1:9/
# an empty cache: no bundle fetched earlier can make the docs step pass
export npm_config_cache=$tmp/npm-cache
# npm retries a refused connection for about a minute by default
export npm_config_fetch_retries=0
export USERS_PORT=$port
export USERS_DOCS_DIR=$tmp/docs

# status URL [curl args]: "CODE CONTENT-TYPE", the body in $tmp/body
status() {
    curl -s -o "$tmp/body" -w '%{http_code} %{content_type}' "$@"
}

# ------------------------------------------------ no registry: served anyway
echo "$me: scripts/run.sh with npm at $npm_config_registry"
USERS_STATE_DIR=$tmp/state scripts/run.sh > "$tmp/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 600); do
    curl -fs "$base/readyz" > /dev/null && break
    if ! kill -0 "$run_pid" 2> /dev/null; then
        cat "$tmp/run.log" >&2
        run_pid=
        fail "scripts/run.sh exited instead of serving without the bundles"
    fi
    sleep 1
done
curl -fs "$base/readyz" > /dev/null \
    || { cat "$tmp/run.log" >&2; fail "not ready after 600 s"; }
sed -n '1,/run: serving on/p' "$tmp/run.log"

[ "$(grep -c "WARNING: step 'docs' failed" "$tmp/run.log")" = 1 ] \
    || fail "the docs step's warning is not printed exactly once"
grep -q 'npm config set registry' "$tmp/run.log" \
    || fail "the warning does not say how to point npm at a registry"
grep -qF "$npm_config_registry" "$tmp/run.log" \
    || fail "the warning does not name the registry npm used"
ok "one warning names the docs step, the registry and npm config set registry"

got=$(status "$base/healthz")
[ "${got%% *}" = 200 ] || fail "/healthz: $got $(cat "$tmp/body")"
ok "/healthz 200"
got=$(status -X POST "$base/auth/register" -H 'Content-Type: application/json' \
    -d '{"email":"first@example.com","name":"First Contact","password":"secretpassword123"}')
[ "${got%% *}" = 201 ] || fail "/auth/register: $got $(cat "$tmp/body")"
ok "/auth/register 201"
for page in docs redoc; do
    got=$(status "$base/$page")
    case $got in
    "503 application/json"*) ;;
    *) fail "/$page: $got $(cat "$tmp/body")" ;;
    esac
    python3 -c '
import json, sys
detail = json.load(open(sys.argv[1]))["detail"]
for want in ("swagger-ui-dist", "redoc", "scripts/docs.sh", "npm config set registry"):
    if want not in detail:
        sys.exit(f"the detail does not name {want}: {detail}")
' "$tmp/body" || fail "/$page's JSON 503 does not name what is missing and the fix"
    ok "/$page 503 JSON: $(cat "$tmp/body")"
done
[ "$(status "$base/openapi.json")" = "200 application/json; charset=utf-8" ] \
    || fail "/openapi.json: $(status "$base/openapi.json")"
ok "/openapi.json 200"

kill -TERM "$run_pid"
wait "$run_pid" || true
run_pid=
port_free "$port" || fail "nginx still listens on $port after run.sh stopped"
ok "run.sh stopped nginx and PostgreSQL"

# expect_failure NAME TEXT...: scripts/run.sh (with the environment the
# caller set) exits non-zero and prints every TEXT
expect_failure() {
    local name=$1 rc=0 text
    shift
    echo "$me: scripts/run.sh with $name"
    scripts/run.sh > "$tmp/$name.log" 2>&1 || rc=$?
    sed 's/^/    /' "$tmp/$name.log"
    [ "$rc" -ne 0 ] || fail "$name: scripts/run.sh exited 0"
    for text in "$@"; do
        grep -qF -- "$text" "$tmp/$name.log" \
            || fail "$name: the message lacks '$text'"
    done
    ok "$name: exit status $rc, with its message"
}

# ------------------------------------------------ a taken port
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(600)
' "$port" &
holder_pid=$!
for _ in $(seq 1 50); do
    port_free "$port" || break
    sleep 0.1
done
USERS_STATE_DIR=$tmp/state expect_failure taken-port \
    "port $port on 127.0.0.1 is taken" "ss -ltnp 'sport = :$port'" USERS_PORT
kill "$holder_pid"
wait "$holder_pid" 2> /dev/null || true
holder_pid=

# ------------------------------------------------ an unwritable state folder
# root writes through permissions: the immutable flag stops it; where the
# file system has none, a folder under a file cannot be made either
locked=$tmp/locked
mkdir "$locked"
if [ "$(id -u)" != 0 ]; then
    chmod 555 "$locked"
elif chattr +i "$locked" 2> /dev/null; then
    immutable=$locked
else
    rmdir "$locked"
    touch "$tmp/file"
    locked=$tmp/file/state
fi
USERS_STATE_DIR=$locked expect_failure unwritable-state \
    "the state folder $locked is not writable" USERS_STATE_DIR=

# as root, a folder the postgres account cannot reach (a clone under
# /root): the cluster's step says so
if [ "$(id -u)" = 0 ]; then
    mkdir -m 700 "$tmp/private"
    USERS_STATE_DIR=$tmp/private/state expect_failure unreachable-state \
        "step 'postgresql' failed" "the postgres account cannot reach" \
        USERS_STATE_DIR=
fi

echo "$me: all passed"
