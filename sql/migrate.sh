#!/usr/bin/env bash
# Apply the pending migrations of sql/ in order, each in its own transaction,
# and record them in schema_migrations. Idempotent, and safe when several
# instances run at once: the whole run holds a session advisory lock.
#
#   sql/migrate.sh [CONNINFO]      (default: $DATABASE_URL, else libpq's PG*)
#
# CONNINFO is a libpq URI or key=value string; the original service's
# "postgresql+asyncpg://" scheme is accepted too.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
conninfo=${1:-${DATABASE_URL:-}}
conninfo=${conninfo/#postgresql+asyncpg:\/\//postgresql:\/\/}

script=$(mktemp)
trap 'rm -f "$script"' EXIT
{
    echo "SET client_min_messages = warning;"
    echo "SELECT pg_advisory_lock(hashtext('ngx_users.migrations')) \\gset"
    echo "CREATE TABLE IF NOT EXISTS schema_migrations ("
    echo "    version text PRIMARY KEY,"
    echo "    applied_at timestamptz NOT NULL DEFAULT now());"
    for f in "$dir"/[0-9][0-9][0-9][0-9]_*.sql; do
        v=$(basename "$f" .sql)
        echo "SELECT NOT EXISTS (SELECT 1 FROM schema_migrations"
        echo "    WHERE version = '$v') AS pending \\gset"
        echo "\\if :pending"
        echo "\\echo migrate: applying $v"
        echo "BEGIN;"
        echo "\\i '$f'"
        echo "INSERT INTO schema_migrations (version) VALUES ('$v');"
        echo "COMMIT;"
        echo "\\endif"
    done
    echo "SELECT pg_advisory_unlock(hashtext('ngx_users.migrations')) \\gset"
} > "$script"

exec psql ${conninfo:+"$conninfo"} -X -q -v ON_ERROR_STOP=1 -f "$script"
