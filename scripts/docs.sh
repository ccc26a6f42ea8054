#!/usr/bin/env bash
# Build build/docs/, the folder nginx serves /openapi.json, /docs and /redoc
# from (conf/users_docs.conf; the run command links <prefix>/docs to it):
#   openapi.json          docs/openapi.yaml as JSON
#   swagger.html redoc.html
#   swagger-ui/           swagger-ui-dist's bundle + docs/swagger-init.js
#   redoc/                redoc's standalone bundle
#   VERSIONS              the pins the bundles came from
# The bundles come from the npm registry at the versions and digests pinned
# in docs/npm-versions, never from the repository or a CDN; a second run
# with the same pins does not touch npm. When npm cannot fetch them, the
# pages and any stale bundles are removed (nginx answers /docs and /redoc
# with a JSON 503 then) and the message says how to point npm elsewhere.
#   scripts/docs.sh [--document] [OUT_DIR]      (default build/docs)
#     --document   openapi.json only: what the API serves without the bundles
set -euo pipefail
cd "$(dirname "$0")/.."
document_only=
if [ "${1:-}" = --document ]; then
    document_only=1
    shift
fi
out=${1:-build/docs}
pins=docs/npm-versions
python=/usr/bin/python3   # Debian's, for its python3-yaml

mkdir -p "$out"

# ---------------------------------------------------------------- the document
"$python" -c 'import yaml' 2>/dev/null || scripts/deps.sh python3-yaml

# PyYAML silently keeps the last of two equal keys, reads `on:` as a boolean
# key and unquoted dates as date objects; in a hand-written document these
# are mistakes, so refuse them, and a $ref that points nowhere, before nginx
# serves the result. Written aside and moved, so nginx never serves half.
"$python" - docs/openapi.yaml "$out/openapi.json.tmp" <<'EOF'
import json
import sys

import yaml

src, dst = sys.argv[1:]


class StrictLoader(yaml.SafeLoader):
    pass


def mapping(loader, node):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, str):
            raise yaml.MarkedYAMLError("", None, f"key {key!r} is not a string",
                                       key_node.start_mark)
        if key in seen:
            raise yaml.MarkedYAMLError("", None, f"duplicate key {key!r}",
                                       key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                             mapping)

try:
    with open(src, encoding="utf-8") as f:
        doc = yaml.load(f, StrictLoader)
except yaml.YAMLError as e:
    sys.exit(f"{src}: {e}")


def walk(node, where):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = doc
            for part in ref.removeprefix("#/").split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or part not in target:
                    sys.exit(f"{src}: {where}: $ref {ref} points nowhere")
                target = target[part]
        for key, value in node.items():
            walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            walk(value, f"{where}/{i}")


def not_json(value):
    sys.exit(f"{src}: {value!r} is no JSON value (quote it)")


walk(doc, "#")
text = json.dumps(doc, ensure_ascii=False, indent=2, default=not_json)
with open(dst, "w", encoding="utf-8") as f:
    f.write(text + "\n")
EOF
mv "$out/openapi.json.tmp" "$out/openapi.json"
if [ -n "$document_only" ]; then
    echo "$out/openapi.json"
    exit 0
fi

# ---------------------------------------------------------------- the bundles
pin() {  # NAME -> "VERSION INTEGRITY"
    awk -v n="$1" '$1 == n { print $2, $3; found = 1 } END { exit !found }' "$pins" \
        || { echo "docs.sh: $1 is not pinned in $pins" >&2; exit 1; }
}
sw=$(pin swagger-ui-dist)
rd=$(pin redoc)
read -r sw_version sw_integrity <<< "$sw"
read -r rd_version rd_integrity <<< "$rd"
want="swagger-ui-dist $sw_version $sw_integrity
redoc $rd_version $rd_integrity"

if [ "$(cat "$out/VERSIONS" 2>/dev/null)" != "$want" ]; then
    command -v npm >/dev/null || scripts/deps.sh npm
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/users-docs.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT

    # npm pack fetches a package's tarball alone: no install scripts run.
    # --loglevel=error, not --silent: --silent hides why it failed.
    if ! (cd "$tmp" && npm pack --loglevel=error \
            "swagger-ui-dist@$sw_version" "redoc@$rd_version" \
            > /dev/null 2> npm.err)
    then
        # npm's own stack frames are left to the debug log it names
        grep -v '^npm error  *at ' "$tmp/npm.err" >&2 || true
        # pages and bundles of other pins would be served as if current
        rm -rf "$out/swagger-ui" "$out/redoc" "$out/VERSIONS" \
               "$out/swagger.html" "$out/redoc.html"
        registry=$(npm config get registry 2>/dev/null || echo '?')
        echo "docs.sh: npm could not fetch swagger-ui-dist@$sw_version and" \
             "redoc@$rd_version from the registry $registry (npm's error" \
             "is above)." >&2
        echo "docs.sh: point npm at a registry or a proxy this machine" \
             "reaches: npm config set registry URL, or npm config set proxy" \
             "URL and npm config set https-proxy URL (or the" \
             "npm_config_registry / npm_config_proxy environment" \
             "variables); then run scripts/docs.sh again." >&2
        exit 1
    fi
    for p in "swagger-ui-dist-$sw_version.tgz $sw_integrity" \
             "redoc-$rd_version.tgz $rd_integrity"; do
        read -r tgz integrity <<< "$p"
        got="sha512-$(openssl dgst -sha512 -binary "$tmp/$tgz" | base64 -w0)"
        if [ "$got" != "$integrity" ]; then
            echo "docs.sh: $tgz is $got, $pins pins $integrity" >&2
            exit 1
        fi
    done
    mkdir -p "$tmp/sw" "$tmp/rd" "$tmp/swagger-ui" "$tmp/redoc"
    tar -C "$tmp/sw" -xzf "$tmp/swagger-ui-dist-$sw_version.tgz"
    tar -C "$tmp/rd" -xzf "$tmp/redoc-$rd_version.tgz"
    # only what the pages load, and the licences
    for f in swagger-ui-bundle.js swagger-ui.css favicon-16x16.png \
             favicon-32x32.png LICENSE NOTICE; do
        cp "$tmp/sw/package/$f" "$tmp/swagger-ui/"
    done
    cp "$tmp/rd/package/bundles/redoc.standalone.js" \
       "$tmp/rd/package/bundles/redoc.standalone.js.LICENSE.txt" \
       "$tmp/rd/package/LICENSE" "$tmp/redoc/"
    rm -rf "$out/swagger-ui" "$out/redoc"
    mv "$tmp/swagger-ui" "$tmp/redoc" "$out/"
    printf '%s\n' "$want" > "$out/VERSIONS"
fi

# ---------------------------------------------------------------- the pages
cp docs/swagger.html docs/redoc.html "$out/"
cp docs/swagger-init.js "$out/swagger-ui/"
echo "$out"
