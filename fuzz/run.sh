#!/usr/bin/env bash
# Build, run the unit tests, then each fuzzer for SECONDS (default 60) from
# its seeds in fuzz/corpus/<target>/.  Fails on any failed test, crash,
# sanitizer report, leak or timeout; a reproducer is left in
# fuzz/out/artifacts/<target>/.  New inputs go to fuzz/out/corpus/, never
# into the committed seeds.
#   fuzz/run.sh [SECONDS [TARGET...]]   e.g. fuzz/run.sh 30 refresh
# (the targets, without fuzz_: every one when none is named)
# FUZZ_JOBS targets (default: one a core) run at a time, each on one core.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift $(($# > 0 ? 1 : 0))
out=fuzz/out
all=(json check form id jwt jwk reqid conninfo guard refresh)
targets=("${all[@]}")
if [ $# -gt 0 ]; then
    targets=("$@")
fi

fuzz/build.sh > /dev/null
"$out/unit"

declare -A max_len=([json]=16384 [check]=1024 [form]=4096 [id]=64
                    [jwt]=5000 [jwk]=2048 [reqid]=1024 [conninfo]=1024
                    [guard]=6000 [refresh]=4200)

# fuzz TARGET: one target's run, its log in $out/TARGET.log
fuzz() {
    local t=$1 dict=() execs cov
    mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
    if [ -f "fuzz/dict/$t.dict" ]; then
        dict=(-dict="fuzz/dict/$t.dict")
    fi
    if ! "$out/fuzz_$t" "$out/corpus/$t" "fuzz/corpus/$t" "${dict[@]}" \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -max_len="${max_len[$t]}" -artifact_prefix="$out/artifacts/$t/" \
        -print_final_stats=1 > "$out/$t.log" 2>&1
    then
        tail -40 "$out/$t.log" >&2
        echo "fuzz_$t: FAILED (log: $out/$t.log)" >&2
        return 1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
    cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -1)
    echo "fuzz_$t: ok, $execs runs in ${secs}s, $cov"
}

for t in "${targets[@]}"; do
    if [ -z "${max_len[$t]:-}" ]; then
        echo "fuzz/run.sh: no target $t (${all[*]})" >&2
        exit 2
    fi
done

jobs=${FUZZ_JOBS:-$(nproc)}
running=0
failed=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then
        wait -n || failed=1
        running=$((running - 1))
    fi
    fuzz "$t" &
    running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
    wait -n || failed=1
    running=$((running - 1))
done
exit "$failed"
