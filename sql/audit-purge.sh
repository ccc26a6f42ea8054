#!/usr/bin/env bash
# Deletes the audit events (sql/0006_audit_events.sql) older than the
# retention, oldest first, in batches that each commit on their own: a
# purge never holds a long transaction or many locks, and one stopped
# half-way has kept what it did. Prints each batch. Run it from cron, or
# as the Kubernetes CronJob k8s/base/audit-purge-cronjob.yaml does (the
# image's "audit-purge" command).
#
#   sql/audit-purge.sh [CONNINFO]  (default: $DATABASE_URL, else libpq's PG*)
#
# Env: AUDIT_RETENTION_DAYS (default 90, at least 1), AUDIT_PURGE_BATCH
# (default 10000).
set -euo pipefail
conninfo=${1:-${DATABASE_URL:-}}
conninfo=${conninfo/#postgresql+asyncpg:\/\//postgresql:\/\/}
days=${AUDIT_RETENTION_DAYS:-90}
batch=${AUDIT_PURGE_BATCH:-10000}

for v in "AUDIT_RETENTION_DAYS=$days" "AUDIT_PURGE_BATCH=$batch"; do
    case ${v#*=} in
    '' | *[!0-9]* | 0*)
        echo "audit-purge: $v: a whole number of at least 1 is needed" >&2
        exit 2 ;;
    esac
done

total=0
while :; do
    # SKIP LOCKED: two purges at once share the work instead of waiting
    n=$(psql ${conninfo:+"$conninfo"} -X -q -A -t -v ON_ERROR_STOP=1 \
            -v days="$days" -v batch="$batch" <<'SQL'
WITH gone AS (
    DELETE FROM audit_events WHERE id IN (
        SELECT id FROM audit_events
        WHERE at < now() - :days * interval '1 day'
        ORDER BY at LIMIT :batch FOR UPDATE SKIP LOCKED)
    RETURNING 1)
SELECT count(*) FROM gone;
SQL
    )
    total=$((total + n))
    echo "audit-purge: deleted $n events older than $days days ($total so far)"
    [ "$n" -lt "$batch" ] && break
done
echo "audit-purge: done, $total deleted"
