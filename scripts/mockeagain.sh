#!/usr/bin/env bash
# The whole test suite with nginx's sockets made as slow as a network can
# be: the mockeagain shim (t/mockeagain/) preloaded into nginx makes every
# recv/read/readv/send/write/writev on a non-blocking socket move one byte
# at a time and fail with EAGAIN every other call, on the client side and
# on the PostgreSQL side alike. Passing proves that the request and pool
# code never assume a full read or write.
#   scripts/mockeagain.sh [--valgrind | --real] [prove arguments]
# --valgrind: also under valgrind memcheck (scripts/valgrind.sh).
# --real: under openresty's Test::Nginx (scripts/test-real.sh), as CI runs
#   it: one run shows both that the suite holds under the real harness and
#   that the module never assumes a full read or write.
# Env: MOCKEAGAIN (default rw: both directions; r or w for one).
set -euo pipefail
cd "$(dirname "$0")/.."

runner=scripts/test.sh
case ${1:-} in
--valgrind) runner=scripts/valgrind.sh; shift ;;
--real) runner=scripts/test-real.sh; shift ;;
esac

shim=$(t/mockeagain/build.sh)

# exported to the whole run, but the shim acts in nginx only (its
# MOCKEAGAIN_COMM); the harness passes both names to nginx with "env"
export LD_PRELOAD=$shim${LD_PRELOAD:+:$LD_PRELOAD}
export MOCKEAGAIN=${MOCKEAGAIN:-rw}
# a response now takes a few system calls per byte
export TEST_NGINX_TIMEOUT=${TEST_NGINX_TIMEOUT:-30}
# ... and the scenarios' timing checks and timeouts (t::lib::Scenario)
export TEST_NGINX_TIME_FACTOR=${TEST_NGINX_TIME_FACTOR:-8}
if [ "$runner" != scripts/valgrind.sh ]; then
    # the files mostly wait (for a byte at a time, for timeouts scaled by
    # the factor): a job more than there are cores
    export TEST_JOBS=${TEST_JOBS:-$(($(nproc) + 1))}
else
    # each of those calls on valgrind's CPU: the two slow-downs multiply
    # (1000 users as JSON, 250 kB each way a byte at a time: ~45 s)
    export TEST_NGINX_TIMEOUT=$((TEST_NGINX_TIMEOUT * 4))
    export TEST_NGINX_TIME_FACTOR=$((TEST_NGINX_TIME_FACTOR * 6))
fi

exec "$runner" "$@"
