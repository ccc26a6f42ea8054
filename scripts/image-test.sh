#!/usr/bin/env bash
# Smoke test of the container image as production runs it: read-only root,
# user 10001, no capabilities, one CPU, against a throwaway PostgreSQL.
#   scripts/image-test.sh       (builds the image first if it is missing)
# Env: IMAGE (default localhost/ngx-users:dev).
# Checks: nginx -t of the production configuration, the migration entry
# (twice: the second applies nothing), /healthz, /readyz, register, login,
# the token lifetime and the first superuser (password file) from the
# environment, one worker per CPU, JSON access log lines on stdout, and a
# graceful stop on SIGTERM that answers the request in flight.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${IMAGE:-localhost/ngx-users:dev}
podman=scripts/podman.sh
python=/usr/bin/python3

podman image exists "$image" || scripts/image.sh

free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
pg_port=$(free_port)
api_port=$(free_port)
state=$(mktemp -d /tmp/ngx-users-image-test.XXXXXX)
chmod 755 "$state"   # PostgreSQL runs as the postgres account
name=ngx-users-image-test-$$

cleanup() {
    $podman rm -f "$name" > /dev/null 2>&1 || true
    scripts/pg.sh stop "$state/pg" || true
    rm -rf "$state"
}
trap cleanup EXIT

# PostgreSQL on the host's loopback; slirp4netns with allow_host_loopback
# lets the container reach it as 10.0.2.2, without a bridge or iptables.
PG_LISTEN=127.0.0.1 PG_PORT=$pg_port scripts/pg.sh start "$state/pg" > /dev/null
net=slirp4netns:allow_host_loopback=true
secret_key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
# DATABASE_URL as the original service's Secret spelled it
env=(
    -e "DATABASE_URL=postgresql+asyncpg://users@10.0.2.2:$pg_port/users"
    -e "SECRET_KEY=$secret_key"
    -e FIRST_SUPERUSER_EMAIL=admin@example.com
)
hardened=(--read-only --tmpfs /tmp --user 10001 --cap-drop=ALL
          --security-opt no-new-privileges --cpus=1 --network "$net")

fail() {
    echo "image-test: FAIL: $*" >&2
    if "$podman" container exists "$name"; then
        echo "image-test: the container's last log lines:" >&2
        "$podman" logs --tail 20 "$name" >&2 2>&1
    fi
    exit 1
}
ok() { echo "image-test: ok: $*"; }

"$podman" run --rm "${hardened[@]}" "${env[@]}" \
    -e FIRST_SUPERUSER_PASSWORD=adminpassword123 "$image" \
    nginx -t -q -c /usr/share/ngx-users/conf/nginx.prod.conf \
    || fail "nginx -t of nginx.prod.conf"
ok "nginx -t of the production configuration"

"$podman" run --rm "${hardened[@]}" "${env[@]}" "$image" migrate \
    > "$state/migrate1.log" 2>&1 || { cat "$state/migrate1.log" >&2; fail "migrate"; }
grep -q 'applying 0001_users' "$state/migrate1.log" || fail "migrate applied nothing"
"$podman" run --rm "${hardened[@]}" "${env[@]}" "$image" migrate \
    > "$state/migrate2.log" 2>&1 || { cat "$state/migrate2.log" >&2; fail "migrate again"; }
! grep -q applying "$state/migrate2.log" || fail "second migrate applied again"
ok "migrate entry (idempotent)"

"$podman" run --rm "${hardened[@]}" "${env[@]}" "$image" audit-purge \
    > "$state/purge.log" 2>&1 || { cat "$state/purge.log" >&2; fail "audit-purge"; }
grep -q 'audit-purge: done, 0 deleted' "$state/purge.log" \
    || { cat "$state/purge.log" >&2; fail "audit-purge said nothing"; }
ok "audit-purge entry"

# The server as Kubernetes runs it: the first superuser's password in a
# mounted file, a token lifetime from ACCESS_TOKEN_EXPIRE_MINUTES.
printf 'adminpassword123\n' > "$state/superuser-password"
chmod 644 "$state/superuser-password"
"$podman" run -d --name "$name" "${hardened[@]}" "${env[@]}" \
    -v "$state/superuser-password:/run/secrets/superuser-password:ro" \
    -e FIRST_SUPERUSER_PASSWORD_FILE=/run/secrets/superuser-password \
    -e ACCESS_TOKEN_EXPIRE_MINUTES=5 \
    -p "127.0.0.1:$api_port:8000" "$image" > /dev/null
base=http://127.0.0.1:$api_port

# prints the body of a request; fails unless the status is the expected one
call() {  # STATUS curl-args...
    local want=$1 got
    shift
    got=$(curl -sS -o "$state/body" -w '%{http_code}' "$@") || true
    [ "$got" = "$want" ] || fail "$* -> $got, want $want: $(cat "$state/body")"
    cat "$state/body"
}
field() {  # JSON-FIELD JSON-TEXT
    "$python" -c 'import json, sys; print(json.loads(sys.argv[2])[sys.argv[1]])' "$@"
}
# until the route answers 200 (nginx starting, the pool connecting), 10 s
wait_200() {  # URL
    for _ in $(seq 50); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return
        sleep 0.2
    done
}

wait_200 "$base/healthz"
body=$(call 200 "$base/healthz")
[ "$(field status "$body")" = ok ] || fail "/healthz: $body"
ok "/healthz"
wait_200 "$base/readyz"
body=$(call 200 "$base/readyz")
[ "$(field status "$body")" = ready ] || fail "/readyz: $body"
ok "/readyz"

email="smoke-$$@example.com"
body=$(call 201 -X POST "$base/auth/register" -H 'Content-Type: application/json' \
    -d "{\"email\": \"$email\", \"password\": \"smoke-password-1\", \"name\": \"Smoke\"}")
[ "$(field email "$body")" = "$email" ] || fail "register: $body"
ok "register"

body=$(call 200 -X POST "$base/auth/login" \
    --data-urlencode "username=$email" --data-urlencode password=smoke-password-1)
token=$(field access_token "$body")
[ "$(field expires_in "$body")" = 300 ] || fail "ACCESS_TOKEN_EXPIRE_MINUTES=5: $body"
body=$(call 200 "$base/auth/me" -H "Authorization: Bearer $token")
[ "$(field email "$body")" = "$email" ] || fail "/auth/me: $body"
ok "login (token lifetime from the environment), and /auth/me with its token"

scripts/docs-served-check.sh "$base" >/dev/null || fail "the docs pages"
ok "/openapi.json, /docs, /redoc from the package's share folder"

call 200 -X POST "$base/auth/login" --data-urlencode username=admin@example.com \
    --data-urlencode password=adminpassword123 > /dev/null
ok "first superuser from the environment (password from a file)"
workers=$("$podman" exec "$name" grep '^worker_processes' /tmp/ngx-users/nginx.conf)
[ "$workers" = "worker_processes 1;" ] || fail "--cpus=1 gave $workers"
ok "one nginx worker for one CPU"

"$podman" logs "$name" 2> /dev/null | "$python" -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.strip()]
assert any(l["uri"] == "/auth/login" and l["status"] == 200 for l in lines), lines
' || fail "stdout is not JSON access log lines"
ok "JSON access log on stdout"

# Graceful stop: a request whose body is still arriving when SIGTERM comes
# is answered (nginx's fast stop, on a plain SIGTERM, would drop it).
"$python" - "$api_port" "$podman" "$name" <<'EOF' || fail "graceful stop"
import socket, subprocess, sys, time
port, podman, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = b'{"email": "drain@example.com", "password": "drain-password-1"}'
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /auth/register HTTP/1.1\r\nHost: localhost\r\n"
          b"Content-Type: application/json\r\nConnection: close\r\n"
          b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
stop = subprocess.Popen([podman, "stop", "-t", "20", name], stdout=subprocess.DEVNULL)
time.sleep(2)
s.sendall(body[10:])
response = s.makefile("rb").read()
stop.wait()
assert response.startswith(b"HTTP/1.1 201"), response[:300]
EOF
rc=$("$podman" inspect --format '{{.State.ExitCode}}' "$name")
[ "$rc" = 0 ] || fail "stop: exit status $rc"
ok "graceful stop on SIGTERM: the request in flight was answered"
echo "image-test: passed"
