#!/bin/sh
# Builds the mockeagain shim (see mockeagain.c) and prints its path.
#   t/mockeagain/build.sh [OUT_DIR]     (default build/mockeagain)
# Named mockeagain-epoll.so: openresty's Test::Nginx takes any preloaded
# "mockeagain.so" for its own shim, which wraps poll() only, and asks for
# TEST_NGINX_EVENT_TYPE=poll before every block; this one wraps epoll_wait
# too, so the suite keeps nginx's production event method.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../build/mockeagain}
mkdir -p "$out"
out=$(cd "$out" && pwd)
so=$out/mockeagain-epoll.so
if [ ! -f "$so" ] || [ "$here/mockeagain.c" -nt "$so" ]
then
    # renamed into place: a running nginx keeps the copy it has mapped
    cc -O2 -g -Wall -Wextra -Werror -fPIC -shared -o "$out/.mockeagain.$$" \
        "$here/mockeagain.c" -ldl
    mv -f "$out/.mockeagain.$$" "$so"
fi
echo "$so"
