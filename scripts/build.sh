#!/usr/bin/env bash
# Build ngx_http_users_module.so against Debian's nginx (nginx-dev) with
# Debian's own configure flags, so that load_module accepts it.
#   scripts/build.sh            -> build/ngx_http_users_module.so
# Env: BUILD_DIR (default build), EXTRA_CC_OPT (added to the C flags).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
out=${BUILD_DIR:-$top/build}
src=$out/nginx-src

mkdir -p "$out"
stamp=$src/.configured
if [ ! -f "$stamp" ] || [ config -nt "$stamp" ] \
    || [ "$(cat "$stamp")" != "${EXTRA_CC_OPT:-}" ]
then
    rm -rf "$src"
    cp -r /usr/share/nginx/src "$src"
    # shellcheck disable=SC1091
    source "$src/conf_flags"
    flags=("${NGX_CONF_FLAGS[@]}")
    if [ -n "${EXTRA_CC_OPT:-}" ]; then
        for i in "${!flags[@]}"; do
            case ${flags[$i]} in
            --with-cc-opt=*) flags[$i]="${flags[$i]} $EXTRA_CC_OPT" ;;
            esac
        done
    fi
    (cd "$src" && ./configure "${flags[@]}" --add-dynamic-module="$top") \
        > "$out/configure.log" 2>&1 \
        || { tail -30 "$out/configure.log" >&2
             echo "build.sh: configure failed; its log: $out/configure.log" >&2
             exit 1; }
    printf '%s' "${EXTRA_CC_OPT:-}" > "$stamp"
fi

make -C "$src" -f objs/Makefile modules -j"$(nproc)" > "$out/make.log" 2>&1 \
    || { grep -E 'error|warning' "$out/make.log" | head -40 >&2
         echo "build.sh: make failed; its log: $out/make.log" >&2
         exit 1; }
# a new file, renamed over the old one: overwriting in place would
# corrupt the pages that a running nginx has mapped (SIGBUS, SIGSEGV)
cp "$src/objs/ngx_http_users_module.so" "$out/.ngx_http_users_module.so.$$"
mv -f "$out/.ngx_http_users_module.so.$$" "$out/ngx_http_users_module.so"
echo "$out/ngx_http_users_module.so"
