# bench/run --keys: the signing keys (users_jwt_key, README "Signing keys")
# next to HS256 in the same run, each in paired rounds, the order
# alternating, as the ceiling targets are:
#   - GET /users/me with EdDSA and with ES256 tokens, beside HS256 tokens,
#     all three served by one nginx whose set has both keys and whose
#     users_jwt_secret checks the HS256 ones (no restart between them);
#   - GET /.well-known/jwks.json beside nginx's return 200 of the same size;
#   - POST /auth/login with an EdDSA signer beside the HS256 configuration,
#     nginx restarted for each measurement (the signer is configuration).
# The module keeps verified tokens in a per-worker cache (1,024 slots by the
# token's CRC32, ngx_http_users_jwt.c): the run's 64 tokens a kind all stay
# there after the first requests, so /users/me with them measures the cache,
# not the signature. With KEYS_UNCACHED=N (say 4096), users_me_uncached
# also takes N tokens a kind (users 1..N, each logged in once), cycled in
# turn: with several tokens a slot, a token is nearly always evicted before
# it comes round again, and each request verifies its signature. Off by
# default: 3 x N logins take 2 minutes on a quiet machine for 4096, and
# took 8 logins/s at a load average of 10.
# Kept apart from bench/run so that its scenarios and these merge apart.
# Recorded in groups keys-<scenario>, keys <variant>-<round>, with the
# variant the others are divided by in "base"; report.py checks them.
# shellcheck shell=bash disable=SC2034

KEYS_DIR=
KEYS_UNCACHED=${KEYS_UNCACHED:-0}   # 4096: 4 a cache slot, about 2% hits
KEY_ED="users_jwt_key kid=bench-ed alg=EdDSA"
KEY_ES="users_jwt_key kid=bench-es alg=ES256"

# users_jwt_key lines for the module with SIGNER signing: both keys are in
# the set either way, so tokens of each verify; HS256 tokens (no kid) go to
# users_jwt_secret, which the production configuration keeps.
keys_conf() {  # eddsa|es256|hs256
    case $1 in
    eddsa) echo "$KEY_ED file:$KEYS_DIR/ed.pem sign; $KEY_ES file:$KEYS_DIR/es.pem;" ;;
    es256) echo "$KEY_ED file:$KEYS_DIR/ed.pem; $KEY_ES file:$KEYS_DIR/es.pem sign;" ;;
    hs256) echo "" ;;   # the production configuration as it is
    esac
}

# The module restarted with SIGNER signing (module_conf puts JWT_KEYS after
# users_jwt_secret).
keys_module() {  # SIGNER
    nginx_stop module
    JWT_KEYS=$(keys_conf "$1") module_start "$SO"
    target module
}

# Tokens of user1..user64 issued by the module's current signer, by logging
# in, as clients get them; each /users/me scenario takes them in turn.
keys_tokens() {  # FILE
    local i t
    : > "$1"
    for i in $(seq "$TOKEN_USERS"); do
        t=$(login "user$i@bench.example" "$PASSWORD")
        [ -n "$t" ] || die "login of user$i failed with signing keys"
        echo "$t" >> "$1"
    done
}

# Tokens of user1..userN from the current signer, logged in 8 at a time
# (Argon2id keeps it near the login rate: about 100/s here).
keys_tokens_many() {  # N FILE
    seq "$1" | xargs -P 8 -I{} curl -s -X POST "$URL/auth/login" \
        --data-urlencode "username=user{}@bench.example" --data-urlencode "password=$PASSWORD" \
        | grep -o '"access_token": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' > "$2" || true
    [ "$(sort -u "$2" | wc -l)" = "$1" ] \
        || die "$1 logins gave $(sort -u "$2" | wc -l) distinct tokens"
}

# nginx return 200 answering /.well-known/jwks.json with the module's JWKS
# body, padded with spaces until the whole response is as long as the
# module's (ceiling_start's way, for another path and body).
keys_jwks_ceiling_start() {
    local want have pad=0 body
    body=$(curl -s "$URL/.well-known/jwks.json")
    want=$(response_bytes "$URL/.well-known/jwks.json")
    keys_jwks_ceiling_conf "$body" 0
    have=$(response_bytes "http://127.0.0.1:$CEILING_PORT/.well-known/jwks.json")
    # the padding may add a digit to Content-Length: then it is one byte over
    while [ "$have" -lt "$want" ]; do
        pad=$((pad + want - have))
        nginx_stop ceiling
        keys_jwks_ceiling_conf "$body" "$pad"
        have=$(response_bytes "http://127.0.0.1:$CEILING_PORT/.well-known/jwks.json")
    done
    log "jwks response: module $want bytes, return-200 ceiling $have bytes (body ${#body})"
}

keys_jwks_ceiling_conf() {  # BODY PAD
    local conf
    mkdir -p "$STATE/ceiling/logs"
    # the JWKS has no single quote (JSON of base64url strings), so it goes
    # in nginx's '...' as it is; quoted in the substitution, so that bash's
    # patsub_replacement does not read & in it
    conf=$(sed -e "s|@PORT@|$CEILING_PORT|" \
        -e 's|location = /healthz |location = /.well-known/jwks.json |' \
        -e "s|'{\"status\":\"ok\"}@PAD@'|'@BODY@'|" "$BENCH/nginx/ceiling.conf")
    [[ $conf == *"'@BODY@'"* ]] || die "bench/nginx/ceiling.conf changed: update keys_jwks_ceiling_conf"
    printf '%s\n' "${conf//@BODY@/"$1$(printf "%${2}s" '')"}" > "$STATE/ceiling/nginx.conf"
    nginx_start ceiling "$STATE/ceiling/nginx.conf"
}

# keys_measure SCENARIO VARIANT BASE ROUND LABEL URL [ENV=VALUE...]
keys_measure() {
    local scen=$1 variant=$2 base=$3 r=$4 label=$5 url=$6
    shift 6
    log "keys: $scen, $variant, round $r"
    wrk_run "keys-$scen" "$variant-$r" "$label" "$CONNS" "$DURATION" "$url" "$@" \
        -- variant="$variant" base="$base" round="$r"
}

# shellcheck disable=SC2153  # ROUNDS is bench/run's
keys() {
    local r v order rounds=$((ROUNDS > 0 ? ROUNDS : 1)) login=(MODE=login USER_LO="$LOGIN_LO" USER_HI="$LOGIN_HI")
    KEYS_DIR=$STATE/keys
    mkdir -p "$KEYS_DIR"
    "$ROOT/scripts/keygen.sh" eddsa bench-ed "$KEYS_DIR/ed.pem" > "$KEYS_DIR/ed.jwk"
    "$ROOT/scripts/keygen.sh" es256 bench-es "$KEYS_DIR/es.pem" > "$KEYS_DIR/es.jwk"

    # HS256 tokens are the run's own ($TOKENS, users_jwt_secret, no kid)
    local uncached=$((KEYS_UNCACHED > 0))
    [ $uncached = 0 ] || log "keys: $KEYS_UNCACHED tokens a signer for users_me_uncached"
    [ $uncached = 0 ] || keys_tokens_many "$KEYS_UNCACHED" "$KEYS_DIR/many-hs256"
    keys_module es256
    keys_tokens "$KEYS_DIR/tokens-es256"
    [ $uncached = 0 ] || keys_tokens_many "$KEYS_UNCACHED" "$KEYS_DIR/many-es256"
    keys_module eddsa
    keys_tokens "$KEYS_DIR/tokens-eddsa"
    [ $uncached = 0 ] || keys_tokens_many "$KEYS_UNCACHED" "$KEYS_DIR/many-eddsa"
    local -A tokens=([hs256]=$TOKENS [eddsa]=$KEYS_DIR/tokens-eddsa [es256]=$KEYS_DIR/tokens-es256)
    local -A name=([hs256]=HS256 [eddsa]=EdDSA [es256]=ES256)
    # the cache keeps tokens of up to 256 bytes (NGX_HTTP_USERS_JWT_CACHED)
    log "keys: token bytes: $(for v in hs256 eddsa es256; do
        printf '%s %s ' "$v" "$(head -1 "${tokens[$v]}" | tr -d '\n' | wc -c)"; done)"
    for v in hs256 eddsa es256; do
        preflight 200 GET /users/me TOKENS_FILE="${tokens[$v]}"
        # every token verified once and in the workers' caches before any
        # measurement, as the HS256 ones were by warm_up
        env TOKENS_FILE="${tokens[$v]}" wrk -t"$WRK_THREADS" -c"$CONNS" -d1s \
            -s "$BENCH/wrk/api.lua" "$URL/users/me" > /dev/null
    done

    # /users/me: the three token kinds in one round, forward in odd rounds
    # and backward in even ones, so each pair is measured in both orders
    quiesce
    for ((r = 1; r <= rounds; r++)); do
        order=(hs256 eddsa es256)
        [ $((r % 2)) = 1 ] || order=(es256 eddsa hs256)
        for v in "${order[@]}"; do
            keys_measure users_me "$v" hs256 "$r" "GET /users/me, ${name[$v]} tokens" \
                "$URL/users/me" TOKENS_FILE="${tokens[$v]}"
        done
        for v in "${order[@]}"; do
            [ $uncached = 1 ] || break
            keys_measure users_me_uncached "$v" hs256 "$r" \
                "GET /users/me, ${name[$v]} tokens, $KEYS_UNCACHED (uncached)" \
                "$URL/users/me" TOKENS_FILE="$KEYS_DIR/many-$v"
        done
    done

    # the JWKS, against return 200 of the same bytes
    keys_jwks_ceiling_start
    preflight 200 GET /.well-known/jwks.json
    for ((r = 1; r <= rounds; r++)); do
        order=(ceiling module)
        [ $((r % 2)) = 1 ] || order=(module ceiling)
        for v in "${order[@]}"; do
            case $v in
            ceiling) TARGET=ceiling keys_measure jwks nginx nginx "$r" \
                         "nginx return 200, JWKS size" \
                         "http://127.0.0.1:$CEILING_PORT/.well-known/jwks.json" ;;
            module) keys_measure jwks module nginx "$r" "GET /.well-known/jwks.json" \
                        "$URL/.well-known/jwks.json" ;;
            esac
        done
    done
    nginx_stop ceiling

    # login: the signer is configuration, so nginx restarts before each
    quiesce
    for ((r = 1; r <= rounds; r++)); do
        order=(hs256 eddsa)
        [ $((r % 2)) = 1 ] || order=(eddsa hs256)
        for v in "${order[@]}"; do
            keys_module "$v"
            preflight 200 POST /auth/login "${login[@]}"
            keys_measure login "$v" hs256 "$r" "POST /auth/login, ${name[$v]} signer" \
                "$URL/auth/login" "${login[@]}"
        done
    done
    # the rest of the run as before: the production configuration
    keys_module hs256
}
