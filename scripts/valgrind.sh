#!/usr/bin/env bash
# The whole test suite with nginx under valgrind memcheck, the way the real
# Test::Nginx's TEST_NGINX_USE_VALGRIND mode runs it: nginx in the
# foreground as the harness's child, every process (workers too) checked,
# leaks reported in full. Any report that valgrind.suppress (at the root of
# the repository: nginx's own start-up allocations only) does not cover
# fails the run, even when every test passed: an invalid read, a use of
# uninitialised memory, a definite or indirect leak.
#   scripts/valgrind.sh [prove arguments, e.g. t/020-auth.t]
# Reports: t/servroot_valgrind/<test file>.log (the server root's name
# plus _valgrind, so $TEST_NGINX_SERVROOT_valgrind when that is set), and
# beside it those of the other jobs' roots (t/servroot-j1_valgrind) and of
# the scenarios' second instances (t/servroot-peer1_valgrind).
# Slow: every process runs on valgrind's CPU, and each nginx start hashes
# two passwords with Argon2id; about 14 minutes for the whole suite on 2
# cores.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh valgrind

root=${TEST_NGINX_SERVROOT:-t/servroot}
rm -rf "$root"*_valgrind

export TEST_NGINX_USE_VALGRIND=1
# one file at a time: each valgrind'd nginx takes a core to itself, and the
# time factor below was set for that
export TEST_JOBS=${TEST_JOBS:-1}
# a request now takes seconds: each client read may wait that long
export TEST_NGINX_TIMEOUT=${TEST_NGINX_TIMEOUT:-30}
# ... and the scenarios' timing checks and timeouts (t::lib::Scenario)
export TEST_NGINX_TIME_FACTOR=${TEST_NGINX_TIME_FACTOR:-6}

rc=0
scripts/test.sh "$@" || rc=$?

found=$(find "$root"*_valgrind -type f -size +0 2> /dev/null | sort)
if [ -n "$found" ]; then
    echo "valgrind.sh: valgrind reports:" >&2
    for f in $found; do
        echo "=== $f" >&2
        grep -v '^   \(fun\|obj\|\.\.\.\|Memcheck\|match-leak\|<insert\)' "$f" \
            | grep -v '^[{}]$' | head -80 >&2
    done
    exit 1
fi
if [ "$rc" -ne 0 ]; then
    echo "valgrind.sh: the suite failed under valgrind (no valgrind report)" >&2
    exit "$rc"
fi
echo "valgrind.sh: no valgrind report"
