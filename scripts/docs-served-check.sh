#!/usr/bin/env bash
# The docs a server ships: /openapi.json, /docs and /redoc answer 200 with
# their media types, and the bundles the pages load are there. Run by
# scripts/package.sh install-test and scripts/image-test.sh against what the
# Debian package installs under /usr/share/ngx-users/docs/.
#   scripts/docs-served-check.sh BASE_URL     e.g. http://127.0.0.1:8000
set -euo pipefail
base=${1:?usage: scripts/docs-served-check.sh BASE_URL}
tmp=$(mktemp "${TMPDIR:-/tmp}/users-docs-served.XXXXXX")
trap 'rm -f "$tmp"' EXIT

# PATH MEDIA-TYPE TEXT: 200, that Content-Type, TEXT in the body
served() {
    local got type
    got=$(curl -sS -o "$tmp" -w '%{http_code} %{content_type}' "$base$1") || true
    type=${got#* }
    [ "${got%% *}" = 200 ] \
        || { echo "docs-served-check: $1 answered ${got%% *}: $(head -c 300 "$tmp")" >&2; exit 1; }
    [ "${type%%;*}" = "$2" ] \
        || { echo "docs-served-check: $1 is $type, not $2" >&2; exit 1; }
    grep -q "$3" "$tmp" \
        || { echo "docs-served-check: $1 lacks \"$3\"" >&2; exit 1; }
}

served /openapi.json application/json '"openapi"'
served /docs text/html swagger-ui-bundle.js
served /redoc text/html redoc.standalone.js
served /docs/swagger-ui/swagger-ui-bundle.js application/javascript SwaggerUIBundle
served /docs/redoc/redoc.standalone.js application/javascript Redoc
echo "docs-served-check: /openapi.json, /docs, /redoc and their bundles served"
