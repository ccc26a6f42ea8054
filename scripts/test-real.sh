#!/usr/bin/env bash
# Runs the suite, or the given prove arguments, under openresty's own
# Test::Nginx (an unmodified copy of its lib/, beside the project in
# ../shared/vendor/test-nginx) instead of the bundled t/harness/, so the
# suite stays true to the real harness's behaviour.
#   scripts/test-real.sh [prove arguments, e.g. t/010-meta.t]
# TEST_NGINX_REAL_LIB names another copy of that lib/ directory.
set -euo pipefail
cd "$(dirname "$0")/.."

lib=${TEST_NGINX_REAL_LIB:-../shared/vendor/test-nginx/lib}
# scripts/test.sh falls back to the bundled harness when Test::Nginx is not
# found, which would pass here while testing the wrong thing
if [ ! -f "$lib/Test/Nginx/Socket.pm" ]; then
    echo "test-real: no Test/Nginx/Socket.pm under $lib" >&2
    exit 1
fi
lib=$(cd "$lib" && pwd)
scripts/deps.sh
perl -I"$lib" -MTest::Nginx::Socket -e1

export PERL5LIB=$lib${PERL5LIB:+:$PERL5LIB}
exec scripts/test.sh "$@"
