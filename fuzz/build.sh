#!/usr/bin/env bash
# Build the parsers' libFuzzer targets and unit tests with clang-14,
# AddressSanitizer and UndefinedBehaviorSanitizer, against nginx's headers.
#   fuzz/build.sh   -> fuzz/out/fuzz_{json,check,form,id,jwt,jwk,reqid,conninfo,
#                      guard,refresh},
#                      fuzz/out/unit,
#                      fuzz/out/parity (the validator as a filter, for
#                      fuzz/parity.py)
# nginx-dev ships headers only: fuzz/ngx_shim.c stands in for the few core
# functions the parsers call.  The headers need a configured tree
# (ngx_auto_config.h): build/fuzz-nginx, configured once with Debian's flags.
# Env: CC (default clang-14).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
out=$top/fuzz/out
ngx=$top/build/fuzz-nginx
cc=${CC:-clang-14}

# clang-14 with its sanitizer and libFuzzer runtimes; tzdata for the zones
scripts/deps.sh clang-14 libclang-rt-14-dev tzdata

if [ ! -f "$ngx/objs/ngx_auto_config.h" ]; then
    rm -rf "$ngx"
    mkdir -p "$top/build"
    cp -r /usr/share/nginx/src "$ngx"
    # shellcheck disable=SC1091
    (cd "$ngx" && source ./conf_flags && ./configure "${NGX_CONF_FLAGS[@]}") \
        > "$top/build/fuzz-configure.log" 2>&1 \
        || { tail -30 "$top/build/fuzz-configure.log" >&2; exit 1; }
fi

incs=()
for d in src/core src/event src/event/modules src/os/unix objs src/http \
         src/http/modules src/http/v2
do
    incs+=(-I "$ngx/$d")
done
incs+=(-I "$(pg_config --includedir)" -I "$top/ngx_users_module" -I "$top/fuzz")

module=(json check timezone form jwt jwk request_id pg_conninfo guard_parse)
warn=(-Wall -Wextra -Wpointer-arith -Wconditional-uninitialized
      -Wno-unused-parameter -Werror)

# the module's files as nginx compiles them (gcc, -W -Wall -Werror), too
for f in "${module[@]}"; do
    gcc -c -pipe -O2 -W -Wall -Wpointer-arith -Wno-unused-parameter -Werror \
        -g "${incs[@]}" -o /dev/null \
        "$top/ngx_users_module/ngx_http_users_$f.c"
done

mkdir -p "$out/obj-fuzz" "$out/obj-unit"
common=(-g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all)
libs=(-ljansson -ljwt -lcrypto -lsodium -lpq)

objects() {  # objects DIR SANITIZERS
    local dir=$1 san=$2 src
    for src in "${module[@]/#/$top/ngx_users_module/ngx_http_users_}" \
               "$top/fuzz/ngx_shim" "$top/fuzz/fuzz_util"
    do
        "$cc" -c "${common[@]}" -fsanitize="$san" "${warn[@]}" "${incs[@]}" \
            -o "$dir/$(basename "$src").o" "$src.c"
    done
}

objects "$out/obj-fuzz" fuzzer-no-link,address,undefined
objects "$out/obj-unit" address,undefined

for t in json check form id jwt jwk reqid conninfo guard refresh; do
    "$cc" "${common[@]}" -fsanitize=fuzzer,address,undefined "${warn[@]}" \
        "${incs[@]}" -o "$out/fuzz_$t" "$top/fuzz/fuzz_$t.c" \
        "$out"/obj-fuzz/*.o "${libs[@]}"
done

for t in unit parity; do
    "$cc" "${common[@]}" -fsanitize=address,undefined "${warn[@]}" \
        "${incs[@]}" -o "$out/$t" "$top/fuzz/$t.c" "$out"/obj-unit/*.o \
        "${libs[@]}"
done

echo "$out"
