#!/bin/sh
# Builds the mockeagain shim (see mockeagain.c) and prints its path.
#   t/mockeagain/build.sh [OUT_DIR]     (default build/mockeagain)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../build/mockeagain}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ ! -f "$out/mockeagain.so" ] || [ "$here/mockeagain.c" -nt "$out/mockeagain.so" ]
then
    # renamed into place: a running nginx keeps the copy it has mapped
    cc -O2 -g -Wall -Wextra -Werror -fPIC -shared -o "$out/.mockeagain.$$" \
        "$here/mockeagain.c" -ldl
    mv -f "$out/.mockeagain.$$" "$out/mockeagain.so"
fi
echo "$out/mockeagain.so"
