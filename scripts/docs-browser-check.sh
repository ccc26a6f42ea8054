#!/usr/bin/env bash
# Browser check of the API docs pages: Debian's headless Chromium, driven by
# playwright-core, opens /docs and /redoc on a running server and fails when a
# page does not render every operation of /openapi.json, logs an error, or
# sends a request outside its origin; on /docs it also logs in through
# Swagger UI's "Authorize" and runs "Try it out" on GET /users/me, then
# again with the browser's clock past the token's expiry, which must refresh
# the session (POST /auth/refresh) once, as docs/swagger-init.js does.
# Screenshots go to artifacts/docs/ (git-ignored, kept by CI).
#   scripts/docs-browser-check.sh BASE_URL     e.g. http://127.0.0.1:8000
# Env: DOCS_USER / DOCS_PASSWORD, the account "Authorize" logs in with
#      (default: the first superuser, admin@example.com / adminpassword123).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: scripts/docs-browser-check.sh BASE_URL}
node_dir=build/node
out=artifacts/docs

command -v chromium >/dev/null || scripts/deps.sh chromium
command -v npm >/dev/null || scripts/deps.sh npm

# playwright-core at the version and digest pinned in docs/npm-versions. It
# has no dependencies and no install script, so unpacking the checked
# tarball is the whole install (and never downloads a browser).
pin=$(awk '$1 == "playwright-core" { print $2, $3 }' docs/npm-versions)
read -r version integrity <<< "$pin"
pkg=$node_dir/node_modules/playwright-core
have=$(node -p "require('./$pkg/package.json').version" 2>/dev/null || true)
if [ "$have" != "$version" ]; then
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/users-pw.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "playwright-core@$version" > /dev/null)
    tgz=$tmp/playwright-core-$version.tgz
    got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
    if [ "$got" != "$integrity" ]; then
        echo "docs-browser-check: $tgz is $got, docs/npm-versions pins $integrity" >&2
        exit 1
    fi
    rm -rf "$pkg"
    mkdir -p "$pkg"
    tar -C "$pkg" --strip-components=1 -xzf "$tgz"
fi

mkdir -p "$out"
PW_DEPS=$node_dir node scripts/docs-check.cjs "$base" "$out"
