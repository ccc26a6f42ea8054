# shellcheck shell=bash
# Sourced by scripts/run.sh and scripts/test.sh, whose steps (dependencies,
# build, docs, PostgreSQL, migrations) must never fail silently: a step's
# output goes to a log file and stays out of the way while the step works,
# and when it fails the user reads which step, the command, the end of its
# output, where the whole of it is, and what to do.
#   STEP_PROG    the name messages start with (run, test)
#   STEP_LOGS    the folder of the steps' logs (created by the caller)

# report LEVEL WHAT DETAIL HINT: one failure, in the one shape both use
report() {
    local level=$1 what=$2 detail=$3 hint=$4
    {
        printf '\n%s: %s: %s\n' "$STEP_PROG" "$level" "$what"
        if [ -n "$detail" ]; then
            printf '%s\n' "$detail" | sed 's/^/    /'
        fi
        printf '%s: what to do: %s\n\n' "$STEP_PROG" "$hint"
    } >&2
}

# die WHAT DETAIL HINT
die() {
    report ERROR "$@"
    exit 1
}

# step [--warn] NAME HINT COMMAND [ARG...]
# Runs COMMAND with its stdout and stderr in $STEP_LOGS/NAME.log. A failed
# step exits with the command's status, or with --warn (a step the caller
# can do without) warns and returns it. Arguments are printed on failure:
# keep secrets (DATABASE_URL) in the environment.
step() {
    local level=ERROR
    if [ "$1" = --warn ]; then
        level=WARNING
        shift
    fi
    local name=$1 hint=$2
    shift 2
    local log=$STEP_LOGS/$name.log rc=0
    printf '%s: %s\n' "$STEP_PROG" "$name" >&2
    "$@" > "$log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] && return 0
    report "$level" "step '$name' failed (exit status $rc): $*" \
        "$(tail -n 25 "$log")
(all of its output: $log)" "$hint"
    [ "$level" = WARNING ] || exit "$rc"
    return "$rc"
}

# port_free PORT: nothing answers on 127.0.0.1:PORT (a listener on
# 127.0.0.1 or on every address would make nginx's bind fail)
port_free() {
    # shellcheck disable=SC2016  # $1 is the inner shell's
    ! timeout 2 bash -c 'exec 3<> "/dev/tcp/127.0.0.1/$1"' _ "$1" \
        2> /dev/null
}
