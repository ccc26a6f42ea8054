
/*
 * Copyright (C) ngx_users authors
 *
 * HS256 access tokens with libjwt 1.10.2.  That version matches "alg"
 * case-insensitively, skips the signature when its key is empty and reads
 * a claim that is not an integer as 0, so a token is checked here before
 * libjwt sees it and its claims are typed here after.
 */


#include "ngx_http_users_module.h"

#include <jwt.h>


static ngx_int_t ngx_http_users_jwt_precheck(ngx_str_t *token);
static ngx_int_t ngx_http_users_jwt_header(ngx_str_t *part);
static ngx_int_t ngx_http_users_jwt_claims(jwt_t *jwt, time_t now,
    int64_t *sub, ngx_int_t *version, time_t *expires);
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


ngx_int_t
ngx_http_users_jwt_issue(ngx_pool_t *pool, ngx_str_t *secret, int64_t sub,
    ngx_int_t version, time_t now, time_t ttl, ngx_str_t *token)
{
    char   *text;
    jwt_t  *jwt;
    u_char  id[NGX_INT64_LEN + 1];

    if (jwt_new(&jwt) != 0) {
        return NGX_ERROR;
    }

    (void) ngx_sprintf(id, "%L%Z", sub);

    text = NULL;

    if (jwt_add_grant(jwt, "sub", (char *) id) != 0
        || jwt_add_grant_int(jwt, "iat", now) != 0
        || jwt_add_grant_int(jwt, "exp", now + ttl) != 0
        || jwt_add_grant_int(jwt, "ver", version) != 0
        || jwt_set_alg(jwt, JWT_ALG_HS256, secret->data, (int) secret->len)
           != 0
        || (text = jwt_encode_str(jwt)) == NULL)
    {
        jwt_free(jwt);
        return NGX_ERROR;
    }

    jwt_free(jwt);

    token->len = ngx_strlen(text);

    token->data = ngx_pnalloc(pool, token->len + 1);
    if (token->data == NULL) {
        ngx_free(text);
        return NGX_ERROR;
    }

    ngx_memcpy(token->data, text, token->len + 1);
    ngx_free(text);

    return NGX_OK;
}


/*
 * Each worker remembers the tokens it verified lately, so that a client's
 * next requests skip libjwt (a third of a request's instructions, mostly
 * allocations): the same bytes under the same secret verify the same way,
 * and only the expiry still moves.  Revocation is unaffected: it is
 * checked against the user's row on every request.
 */

typedef struct {
    u_char                   token[NGX_HTTP_USERS_JWT_CACHED];
    size_t                   len;
    int64_t                  sub;
    ngx_int_t                version;
    time_t                   expires;
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
ngx_http_users_jwt_verify(ngx_str_t *secret, ngx_str_t *token, time_t now,
    ngx_log_t *log, int64_t *sub, ngx_int_t *version)
{
    int                           err;
    jwt_t                        *jwt;
    u_char                        text[NGX_HTTP_USERS_TOKEN_MAX + 1];
    time_t                        expires;
    ngx_int_t                     rc;
    ngx_http_users_jwt_cached_t  *cached;

    /* with an empty key libjwt would not check the signature at all */
    if (secret->len == 0 || secret->len > NGX_MAX_INT32_VALUE) {
        return NGX_ERROR;
    }

    cached = NULL;
    expires = 0;

    if (ngx_http_users_jwt_cache && token->len <= NGX_HTTP_USERS_JWT_CACHED) {
        cached = &ngx_http_users_jwt_cache[ngx_crc32_short(token->data,
                                                           token->len)
                                           % NGX_HTTP_USERS_JWT_CACHE_SIZE];

        if (cached->len == token->len
            && ngx_memcmp(cached->token, token->data, token->len) == 0)
        {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                           "users token cache hit%s",
                           cached->expires <= now ? ", expired" : "");

            ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_TOKEN_HIT, 1);

            if (cached->expires <= now) {
                return NGX_DECLINED;
            }

            *sub = cached->sub;
            *version = cached->version;

            return NGX_OK;
        }
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, log, 0, "users token cache miss");

    ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_TOKEN_MISS, 1);

    rc = ngx_http_users_jwt_precheck(token);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_memcpy(text, token->data, token->len);
    text[token->len] = '\0';

    err = jwt_decode(&jwt, (char *) text, secret->data, (int) secret->len);

    if (err != 0) {
        return (err == ENOMEM) ? NGX_ERROR : NGX_DECLINED;
    }

    /* HS384 and HS512 would verify with our secret too */

    if (jwt_get_alg(jwt) == JWT_ALG_HS256) {
        rc = ngx_http_users_jwt_claims(jwt, now, sub, version, &expires);

    } else {
        rc = NGX_DECLINED;
    }

    jwt_free(jwt);

    if (rc == NGX_OK && cached) {
        ngx_memcpy(cached->token, token->data, token->len);
        cached->len = token->len;
        cached->sub = *sub;
        cached->version = *version;
        cached->expires = expires;
    }

    return rc;
}


/*
 * Three non-empty base64url parts, and a header that says exactly HS256:
 * libjwt would otherwise take "hs256" or a duplicated "alg".
 */

static ngx_int_t
ngx_http_users_jwt_precheck(ngx_str_t *token)
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

    return ngx_http_users_jwt_header(&part);
}


static ngx_int_t
ngx_http_users_jwt_header(ngx_str_t *part)
{
    u_char        buf[NGX_HTTP_USERS_TOKEN_MAX];
    json_t       *header, *value;
    ngx_str_t     decoded;
    ngx_int_t     rc;
    const char   *key;
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

    rc = (json_is_object(header) && json_object_get(header, "alg") != NULL)
         ? NGX_OK : NGX_DECLINED;

    json_object_foreach(header, key, value) {

        if (ngx_strcmp(key, "alg") == 0) {
            if (json_is_string(value)
                && ngx_strcmp(json_string_value(value), "HS256") == 0)
            {
                continue;
            }

        } else if (ngx_strcmp(key, "typ") == 0) {
            if (json_is_string(value)
                && ngx_strcmp(json_string_value(value), "JWT") == 0)
            {
                continue;
            }
        }

        rc = NGX_DECLINED;
        break;
    }

    json_decref(header);

    return rc;
}


static ngx_int_t
ngx_http_users_jwt_claims(jwt_t *jwt, time_t now, int64_t *sub,
    ngx_int_t *version, time_t *expires)
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

    if (ngx_http_users_parse_id(&id, sub) != NGX_OK) {
        return NGX_DECLINED;
    }

    *version = ver;
    *expires = exp;

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
