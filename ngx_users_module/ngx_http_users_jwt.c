
/*
 * Copyright (C) ngx_users authors
 *
 * Access tokens.  A token names its key with "kid" (none: the
 * users_jwt_secret) and is checked with that key and its algorithm only.
 * HS256 signatures are verified by libjwt 1.10.2, which matches "alg"
 * case-insensitively, skips the signature when its key is empty and reads
 * a claim that is not an integer as 0, so a token is checked here before
 * libjwt sees it and its claims are typed here after.  EdDSA and ES256
 * signatures are verified in ngx_http_users_jwk.c (libjwt 1.10.2 has no
 * EdDSA), and their payload goes through the same claim checks.
 */


#include "ngx_http_users_module.h"

#include <jwt.h>


static ngx_int_t ngx_http_users_jwt_precheck(ngx_str_t *token,
    ngx_http_users_keys_t *keys, ngx_log_t *log, ngx_http_users_key_t **key);
static ngx_int_t ngx_http_users_jwt_header(ngx_str_t *part,
    ngx_http_users_keys_t *keys, ngx_log_t *log, ngx_http_users_key_t **key);
static ngx_int_t ngx_http_users_jwt_decode(ngx_http_users_key_t *key,
    ngx_str_t *token, jwt_t **jwt);
static ngx_int_t ngx_http_users_jwt_asymmetric(ngx_http_users_key_t *key,
    ngx_str_t *token, jwt_t **jwt);
static ngx_int_t ngx_http_users_jwt_claims(jwt_t *jwt, time_t now,
    ngx_http_users_claims_t *claims);
static ngx_int_t ngx_http_users_jwt_sid(jwt_t *jwt,
    ngx_http_users_claims_t *claims);
static ngx_int_t ngx_http_users_jwt_integer(jwt_t *jwt, const char *claim,
    long *value);


ngx_int_t
ngx_http_users_bearer_parse(ngx_str_t *header, ngx_str_t *token)
{
    u_char  *p, *last;

    if (header->len < sizeof("Bearer ") - 1
        || ngx_strncasecmp(header->data, (u_char *) "Bearer ",
                           sizeof("Bearer ") - 1)
           != 0)
    {
        return NGX_DECLINED;
    }

    last = header->data + header->len;

    for (p = header->data + sizeof("Bearer ") - 1; p < last; p++) {
        if (*p != ' ') {
            break;
        }
    }

    token->data = p;
    token->len = last - p;

    /* an oversized token is refused by ngx_http_users_jwt_verify() */
    if (token->len == 0) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The header and claims as libjwt 1.10.2 would write them (sorted keys),
 * with the signer's kid and the session's id (sid, NULL for none); the
 * signature from ngx_http_users_jwk.c.
 */

ngx_int_t
ngx_http_users_jwt_issue(ngx_pool_t *pool, ngx_http_users_key_t *key,
    int64_t sub, ngx_int_t version, ngx_str_t *sid, time_t now, time_t ttl,
    ngx_str_t *token)
{
    u_char     *p, *last;
    u_char      header[NGX_HTTP_USERS_KID_MAX + 64];
    u_char      claims[2 * NGX_TIME_T_LEN + NGX_INT64_LEN + NGX_INT_T_LEN
                       + NGX_HTTP_USERS_UUID_LEN + 64];
    u_char      sig[NGX_HTTP_USERS_SIG_MAX];
    size_t      sig_len;
    ngx_str_t   part[3], input, dst;

    last = header + sizeof(header);

    p = ngx_slprintf(header, last, "{\"alg\":\"%V\"",
                     &ngx_http_users_alg_names[key->alg]);

    if (key->kid.len) {
        p = ngx_slprintf(p, last, ",\"kid\":\"%V\"", &key->kid);
    }

    p = ngx_slprintf(p, last, ",\"typ\":\"JWT\"}");

    part[0].data = header;
    part[0].len = p - header;

    last = claims + sizeof(claims);

    p = ngx_slprintf(claims, last, "{\"exp\":%T,\"iat\":%T,", now + ttl, now);

    if (sid && sid->len) {
        p = ngx_slprintf(p, last, "\"sid\":\"%V\",", sid);
    }

    p = ngx_slprintf(p, last, "\"sub\":\"%L\",\"ver\":%i}", sub, version);

    part[1].data = claims;
    part[1].len = p - claims;

    token->data = ngx_pnalloc(pool, ngx_base64_encoded_length(part[0].len)
                                    + ngx_base64_encoded_length(part[1].len)
                                    + ngx_base64_encoded_length(sizeof(sig))
                                    + 3);
    if (token->data == NULL) {
        return NGX_ERROR;
    }

    dst.data = token->data;
    ngx_encode_base64url(&dst, &part[0]);
    dst.data[dst.len] = '.';

    input.data = token->data;
    input.len = dst.len + 1;

    dst.data = token->data + input.len;
    ngx_encode_base64url(&dst, &part[1]);
    input.len += dst.len;

    if (ngx_http_users_jwk_sign(key, &input, sig, &sig_len) != NGX_OK) {
        return NGX_ERROR;
    }

    token->data[input.len] = '.';

    part[2].data = sig;
    part[2].len = sig_len;

    dst.data = token->data + input.len + 1;
    ngx_encode_base64url(&dst, &part[2]);

    token->len = input.len + 1 + dst.len;
    token->data[token->len] = '\0';

    return NGX_OK;
}


/*
 * Each worker remembers the tokens it verified lately, so that a client's
 * next requests skip libjwt (a third of a request's instructions, mostly
 * allocations, or an EdDSA or ES256 verification): the same bytes under
 * the same key set verify the same way, and only the expiry still moves.
 * The key set changes only by a reload, whose new workers start with
 * empty caches, so a dropped key's tokens are never served from here.
 * Revocation is unaffected: it is checked on every request, in shared
 * memory or against the database.  The claims are kept parsed, the
 * session's id too, so that a request reads the token's JSON at most once.
 */

typedef struct {
    u_char                   token[NGX_HTTP_USERS_JWT_CACHED];
    size_t                   len;
    ngx_http_users_claims_t  claims;
} ngx_http_users_jwt_cached_t;


static ngx_http_users_jwt_cached_t  *ngx_http_users_jwt_cache;


ngx_int_t
ngx_http_users_jwt_cache_init(ngx_cycle_t *cycle)
{
    ngx_http_users_jwt_cache = ngx_pcalloc(cycle->pool,
                                   NGX_HTTP_USERS_JWT_CACHE_SIZE
                                   * sizeof(ngx_http_users_jwt_cached_t));

    return ngx_http_users_jwt_cache ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_users_jwt_verify(ngx_http_users_keys_t *keys, ngx_str_t *token,
    time_t now, ngx_log_t *log, int64_t *sub, ngx_int_t *version)
{
    ngx_int_t                rc;
    ngx_http_users_claims_t  claims;

    rc = ngx_http_users_jwt_verify_claims(keys, token, now, log, &claims);

    *sub = claims.sub;
    *version = claims.version;

    return rc;
}


ngx_int_t
ngx_http_users_jwt_verify_claims(ngx_http_users_keys_t *keys,
    ngx_str_t *token, time_t now, ngx_log_t *log,
    ngx_http_users_claims_t *claims)
{
    jwt_t                        *jwt;
    ngx_int_t                     rc;
    ngx_http_users_key_t         *key;
    ngx_http_users_jwt_cached_t  *cached;

    cached = NULL;
    ngx_memzero(claims, sizeof(ngx_http_users_claims_t));

    if (ngx_http_users_jwt_cache && token->len <= NGX_HTTP_USERS_JWT_CACHED) {
        cached = &ngx_http_users_jwt_cache[ngx_crc32_short(token->data,
                                                           token->len)
                                           % NGX_HTTP_USERS_JWT_CACHE_SIZE];

        if (cached->len == token->len
            && ngx_memcmp(cached->token, token->data, token->len) == 0)
        {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                           "users token cache hit%s",
                           cached->claims.expires <= now ? ", expired" : "");

            ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_TOKEN_HIT, 1);

            if (cached->claims.expires <= now) {
                return NGX_DECLINED;
            }

            *claims = cached->claims;

            return NGX_OK;
        }
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, log, 0, "users token cache miss");

    ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_TOKEN_MISS, 1);

    rc = ngx_http_users_jwt_precheck(token, keys, log, &key);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = (key->alg == NGX_HTTP_USERS_ALG_HS256)
         ? ngx_http_users_jwt_decode(key, token, &jwt)
         : ngx_http_users_jwt_asymmetric(key, token, &jwt);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "users token signature of kid \"%V\": %i", &key->kid, rc);

    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_users_jwt_claims(jwt, now, claims);

    jwt_free(jwt);

    if (rc == NGX_OK && cached) {
        ngx_memcpy(cached->token, token->data, token->len);
        cached->len = token->len;
        cached->claims = *claims;
    }

    return rc;
}


static ngx_int_t
ngx_http_users_jwt_decode(ngx_http_users_key_t *key, ngx_str_t *token,
    jwt_t **jwt)
{
    int     err;
    u_char  text[NGX_HTTP_USERS_TOKEN_MAX + 1];

    /* with an empty key libjwt would not check the signature at all */
    if (key->secret.len == 0 || key->secret.len > NGX_MAX_INT32_VALUE) {
        return NGX_ERROR;
    }

    ngx_memcpy(text, token->data, token->len);
    text[token->len] = '\0';

    err = jwt_decode(jwt, (char *) text, key->secret.data,
                     (int) key->secret.len);

    if (err != 0) {
        return (err == ENOMEM) ? NGX_ERROR : NGX_DECLINED;
    }

    /* HS384 and HS512 would verify with our secret too */

    if (jwt_get_alg(*jwt) != JWT_ALG_HS256) {
        jwt_free(*jwt);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * The signature over "header.payload" by the key, then the payload read
 * as libjwt reads a verified one (a C string), so that both kinds of
 * token meet the same claim checks.
 */

static ngx_int_t
ngx_http_users_jwt_asymmetric(ngx_http_users_key_t *key, ngx_str_t *token,
    jwt_t **jwt)
{
    int         err;
    u_char     *dot1, *dot2, *last;
    u_char      buf[NGX_HTTP_USERS_TOKEN_MAX + 1];
    ngx_int_t   rc;
    ngx_str_t   input, part, decoded;

    /* the pre-check found exactly two dots */
    last = token->data + token->len;
    dot1 = ngx_strlchr(token->data, last, '.');
    dot2 = ngx_strlchr(dot1 + 1, last, '.');

    input.data = token->data;
    input.len = dot2 - token->data;

    part.data = dot2 + 1;
    part.len = last - part.data;

    decoded.data = buf;

    if (ngx_decode_base64url(&decoded, &part) != NGX_OK) {
        return NGX_DECLINED;
    }

    rc = ngx_http_users_jwk_verify(key, &input, &decoded);
    if (rc != NGX_OK) {
        return rc;
    }

    part.data = dot1 + 1;
    part.len = dot2 - part.data;

    if (ngx_decode_base64url(&decoded, &part) != NGX_OK) {
        return NGX_DECLINED;
    }

    buf[decoded.len] = '\0';

    if (jwt_new(jwt) != 0) {
        return NGX_ERROR;
    }

    err = jwt_add_grants_json(*jwt, (char *) buf);

    if (err != 0) {
        jwt_free(*jwt);
        return (err == ENOMEM) ? NGX_ERROR : NGX_DECLINED;
    }

    return NGX_OK;
}


/* the key a token's kid names: no other key is ever tried */

ngx_http_users_key_t *
ngx_http_users_keys_find(ngx_http_users_keys_t *keys, u_char *kid,
    size_t len)
{
    ngx_uint_t              i;
    ngx_http_users_key_t  **key;

    if (keys->keys == NULL) {
        return NULL;
    }

    key = keys->keys->elts;

    for (i = 0; i < keys->keys->nelts; i++) {
        if (key[i]->kid.len == len
            && ngx_memcmp(key[i]->kid.data, kid, len) == 0)
        {
            return key[i];
        }
    }

    return NULL;
}


/*
 * Three non-empty base64url parts, and a header that names a key of the
 * set and its algorithm exactly: libjwt would otherwise take "hs256" or a
 * duplicated "alg".
 */

static ngx_int_t
ngx_http_users_jwt_precheck(ngx_str_t *token, ngx_http_users_keys_t *keys,
    ngx_log_t *log, ngx_http_users_key_t **key)
{
    u_char     *p, *last, *dot[2];
    ngx_str_t   part;
    ngx_uint_t  n;

    static uint32_t  base64url[] = {
        0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */

                    /* ?>=< ;:98 7654 3210  /.-, +*)( '&%$ #"!  */
        0x03ff2000, /* 0000 0011 1111 1111  0010 0000 0000 0000 */

                    /* _^]\ [ZYX WVUT SRQP  ONML KJIH GFED CBA@ */
        0x87fffffe, /* 1000 0111 1111 1111  1111 1111 1111 1110 */

                    /*  ~}| {zyx wvut srqp  onml kjih gfed cba` */
        0x07fffffe, /* 0000 0111 1111 1111  1111 1111 1111 1110 */

        0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */
        0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */
        0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */
        0x00000000  /* 0000 0000 0000 0000  0000 0000 0000 0000 */
    };

    if (token->len == 0 || token->len > NGX_HTTP_USERS_TOKEN_MAX) {
        return NGX_DECLINED;
    }

    n = 0;
    last = token->data + token->len;

    for (p = token->data; p < last; p++) {

        if (*p == '.') {
            if (n == 2) {
                return NGX_DECLINED;
            }

            dot[n++] = p;
            continue;
        }

        if (!(base64url[*p >> 5] & (1U << (*p & 0x1f)))) {
            return NGX_DECLINED;
        }
    }

    if (n != 2
        || dot[0] == token->data
        || dot[1] == dot[0] + 1
        || dot[1] == last - 1)
    {
        return NGX_DECLINED;
    }

    part.data = token->data;
    part.len = dot[0] - token->data;

    return ngx_http_users_jwt_header(&part, keys, log, key);
}


/*
 * Exactly the headers the module issues: "alg", "typ": "JWT" and "kid".
 * The kid alone chooses the key (no other key is ever tried), and the
 * key's algorithm must be the token's: an HS256 token under an EdDSA
 * key's kid, signed with its public bytes, is refused here.
 */

static ngx_int_t
ngx_http_users_jwt_header(ngx_str_t *part, ngx_http_users_keys_t *keys,
    ngx_log_t *log, ngx_http_users_key_t **key)
{
    u_char        buf[NGX_HTTP_USERS_TOKEN_MAX];
    json_t       *header, *value, *alg, *kid;
    ngx_str_t     decoded, *name;
    ngx_int_t     rc;
    const char   *key_name;
    json_error_t  err;

    decoded.data = buf;

    if (ngx_decode_base64url(&decoded, part) != NGX_OK) {
        return NGX_DECLINED;
    }

    header = json_loadb((char *) decoded.data, decoded.len,
                        JSON_REJECT_DUPLICATES, &err);

    if (header == NULL) {
        return (json_error_code(&err) == json_error_out_of_memory)
               ? NGX_ERROR : NGX_DECLINED;
    }

    alg = json_object_get(header, "alg");
    kid = json_object_get(header, "kid");

    rc = (json_is_object(header) && json_is_string(alg)
          && (kid == NULL || json_is_string(kid)))
         ? NGX_OK : NGX_DECLINED;

    json_object_foreach(header, key_name, value) {

        if (ngx_strcmp(key_name, "alg") == 0
            || ngx_strcmp(key_name, "kid") == 0)
        {
            continue;
        }

        if (ngx_strcmp(key_name, "typ") == 0
            && json_is_string(value)
            && ngx_strcmp(json_string_value(value), "JWT") == 0)
        {
            continue;
        }

        rc = NGX_DECLINED;
        break;
    }

    if (rc == NGX_OK) {
        *key = kid ? ngx_http_users_keys_find(keys,
                                   (u_char *) json_string_value(kid),
                                   json_string_length(kid))
                   : keys->secret;

        name = (*key) ? &ngx_http_users_alg_names[(*key)->alg] : NULL;

        if (name == NULL
            || json_string_length(alg) != name->len
            || ngx_memcmp(json_string_value(alg), name->data, name->len)
               != 0)
        {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                           "users token refused: %s kid, alg \"%s\"",
                           kid ? (*key ? "the" : "unknown") : "no",
                           json_string_value(alg));
            rc = NGX_DECLINED;
        }
    }

    json_decref(header);

    return rc;
}


static ngx_int_t
ngx_http_users_jwt_claims(jwt_t *jwt, time_t now,
    ngx_http_users_claims_t *claims)
{
    long         exp, iat, ver;
    ngx_int_t    rc;
    ngx_str_t    id;
    const char  *text;

    rc = ngx_http_users_jwt_integer(jwt, "exp", &exp);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_users_jwt_integer(jwt, "iat", &iat);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_users_jwt_integer(jwt, "ver", &ver);
    if (rc != NGX_OK) {
        return rc;
    }

    if (exp <= now || ver < 0) {
        return NGX_DECLINED;
    }

    /* NULL unless "sub" is a string */
    text = jwt_get_grant(jwt, "sub");
    if (text == NULL) {
        return NGX_DECLINED;
    }

    id.data = (u_char *) text;
    id.len = ngx_strlen(text);

    if (ngx_http_users_parse_id(&id, &claims->sub) != NGX_OK) {
        return NGX_DECLINED;
    }

    claims->version = ver;
    claims->expires = exp;

    return ngx_http_users_jwt_sid(jwt, claims);
}


/*
 * A token may name its session; a "sid" that is not a session id of ours
 * (not a string, not a uuid) makes the token invalid: it could never be
 * found ended, and would otherwise outlive its session.
 */

static ngx_int_t
ngx_http_users_jwt_sid(jwt_t *jwt, ngx_http_users_claims_t *claims)
{
    const char  *text;

    /* libjwt 1.10.2: ENOENT when missing, NULL and 0 when not a string */
    ngx_set_errno(0);

    text = jwt_get_grant(jwt, "sid");

    if (text == NULL) {
        return (ngx_errno == NGX_ENOENT) ? NGX_OK : NGX_DECLINED;
    }

    if (ngx_http_users_uuid_parse((u_char *) text, ngx_strlen(text),
                                  claims->sid)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    claims->session = 1;

    return NGX_OK;
}


/*
 * libjwt sets errno only for a missing claim and reads other types as 0:
 * the claim's own JSON text tells an integer from a real, bool or string.
 */

static ngx_int_t
ngx_http_users_jwt_integer(jwt_t *jwt, const char *claim, long *value)
{
    char       *json, *p;
    ngx_int_t   rc;

    ngx_set_errno(0);

    *value = jwt_get_grant_int(jwt, claim);

    if (ngx_errno != 0) {
        return NGX_DECLINED;
    }

    json = jwt_get_grants_json(jwt, claim);
    if (json == NULL) {
        return NGX_ERROR;
    }

    p = (*json == '-') ? json + 1 : json;

    rc = (*p == '\0') ? NGX_DECLINED : NGX_OK;

    for ( /* void */ ; *p; p++) {
        if (*p < '0' || *p > '9') {
            rc = NGX_DECLINED;
            break;
        }
    }

    ngx_free(json);

    return rc;
}
