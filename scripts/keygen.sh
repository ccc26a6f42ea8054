#!/usr/bin/env bash
# Make a signing key for users_jwt_key: the private key as PKCS#8 PEM,
# readable by its owner only, and its public JWK on stdout (what
# /.well-known/jwks.json will publish once the key is configured).
#   scripts/keygen.sh eddsa|es256 KID OUT.pem
# Then, in nginx.conf (README.md, "Signing keys", has the rotation):
#   users_jwt_key kid=KID alg=EdDSA|ES256 file:OUT.pem [sign];
# The public half alone, for a key that only verifies:
#   openssl pkey -in OUT.pem -pubout -out OUT.pub.pem
set -euo pipefail

usage() {
    echo "usage: $0 eddsa|es256 KID OUT.pem" >&2
    exit 2
}

[ $# -eq 3 ] || usage
kind=$1 kid=$2 out=$3

case $kind in
eddsa) genpkey=(-algorithm ed25519) alg=EdDSA ;;
es256) genpkey=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256) alg=ES256 ;;
*) usage ;;
esac

# the module's rule for a kid (ngx_http_users_keys.c)
if ! [[ $kid =~ ^[A-Za-z0-9._-]{1,64}$ ]]; then
    echo "$0: kid must be 1 to 64 characters of A-Z a-z 0-9 . _ -" >&2
    exit 2
fi

if [ -e "$out" ]; then
    echo "$0: $out exists; a key is never overwritten" >&2
    exit 1
fi

# created 0600 before any key byte is written to it
(umask 077 && openssl genpkey "${genpkey[@]}" -out "$out")
chmod 600 "$out"

b64url() { basenc --base64url -w0 | tr -d '='; }

# the raw public key is the tail of its DER SubjectPublicKeyInfo: 32 bytes
# for Ed25519; 0x04 || x || y (65 bytes) for P-256
pub=$(openssl pkey -in "$out" -pubout -outform DER | base64 -w0)

if [ "$kind" = eddsa ]; then
    x=$(echo "$pub" | base64 -d | tail -c 32 | b64url)
    printf '{"kty":"OKP","crv":"Ed25519","x":"%s","kid":"%s","alg":"%s","use":"sig"}\n' \
        "$x" "$kid" "$alg"
else
    x=$(echo "$pub" | base64 -d | tail -c 64 | head -c 32 | b64url)
    y=$(echo "$pub" | base64 -d | tail -c 32 | b64url)
    printf '{"kty":"EC","crv":"P-256","x":"%s","y":"%s","kid":"%s","alg":"%s","use":"sig"}\n' \
        "$x" "$y" "$kid" "$alg"
fi
