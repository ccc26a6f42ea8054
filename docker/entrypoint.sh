#!/bin/bash
# Entrypoint of the ngx-users image, under dumb-init (which turns SIGTERM
# into nginx's graceful SIGQUIT).
#   serve (default)   nginx with /usr/share/ngx-users/conf/nginx.prod.conf
#   migrate [CONNINFO] apply the SQL migrations (DATABASE_URL by default)
#   audit-purge [CONNINFO]  delete the audit events past their retention
#                      (AUDIT_RETENTION_DAYS, default 90)
#   anything else      run as given (e.g. bash, nginx -t ...)
# Environment, as the original service: DATABASE_URL, SECRET_KEY,
# FIRST_SUPERUSER_EMAIL, FIRST_SUPERUSER_PASSWORD or
# FIRST_SUPERUSER_PASSWORD_FILE, ACCESS_TOKEN_EXPIRE_MINUTES.
set -euo pipefail

conf=/usr/share/ngx-users/conf/nginx.prod.conf
run=/tmp/ngx-users

# CPUs the container may use: the CFS quota (cgroup v2, then v1) rounded
# up, nothing when unlimited.
cpu_limit() {
    local quota period
    if [ -r /sys/fs/cgroup/cpu.max ]; then
        read -r quota period < /sys/fs/cgroup/cpu.max
    elif [ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
        quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)
        period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
    else
        return 0
    fi
    case $quota in max | -1) return 0 ;; esac
    echo $(((quota + period - 1) / period))
}

serve() {
    local workers ttl edits=()
    if [ -n "${FIRST_SUPERUSER_PASSWORD_FILE:-}" ]; then
        FIRST_SUPERUSER_PASSWORD=$(cat "$FIRST_SUPERUSER_PASSWORD_FILE")
        export FIRST_SUPERUSER_PASSWORD
    fi
    # worker_processes auto would start one worker per CPU of the node,
    # each with its Argon2 threads: size it to the container instead.
    workers=$(cpu_limit)
    if [ -n "$workers" ]; then
        edits+=(-e "s/^worker_processes auto;/worker_processes $workers;/")
    fi
    ttl=${ACCESS_TOKEN_EXPIRE_MINUTES:-}
    if [ -n "$ttl" ]; then
        [[ $ttl =~ ^[1-9][0-9]*$ ]] || {
            echo "ACCESS_TOKEN_EXPIRE_MINUTES must be a positive integer" >&2
            exit 2
        }
        edits+=(-e "s/^\( *users_jwt_ttl\) [^;]*;/\1 ${ttl}m;/")
    fi
    if [ ${#edits[@]} -gt 0 ]; then
        mkdir -p "$run"
        sed "${edits[@]}" "$conf" > "$run/nginx.conf"
        conf=$run/nginx.conf
    fi
    exec nginx -c "$conf"
}

case ${1:-serve} in
serve) serve ;;
migrate) shift; exec ngx-users-migrate "$@" ;;
audit-purge) shift; exec ngx-users-audit-purge "$@" ;;
*) exec "$@" ;;
esac
