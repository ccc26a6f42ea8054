
/*
 * Copyright (C) ngx_users authors
 *
 * The key set: "users_jwt_key kid=NAME alg=ALG SOURCE [sign]" repeated,
 * plus users_jwt_secret as the HS256 key of tokens without kid.  Fixed
 * at configuration time, so a reload is what rotates keys; the JWKS
 * document is built here once per configuration.
 */


#include "ngx_http_users_module.h"

#include <sodium.h>
#include <openssl/err.h>


static char *ngx_http_users_key_source(ngx_conf_t *cf,
    ngx_http_users_key_t *key, ngx_str_t *source);
static char *ngx_http_users_jwt_key_args(ngx_conf_t *cf,
    ngx_http_users_keys_t *keys, ngx_http_users_key_t *key, ngx_str_t *source);
static ngx_int_t ngx_http_users_kid_valid(ngx_str_t *kid);
static ngx_int_t ngx_http_users_keys_cleanup_add(ngx_conf_t *cf,
    ngx_http_users_key_t *key);
static void ngx_http_users_keys_cleanup(void *data);
static char *ngx_http_users_keys_jwks_build(ngx_conf_t *cf,
    ngx_http_users_keys_t *keys);


char *
ngx_http_users_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_users_main_conf_t *umcf = conf;

    ngx_str_t               source;
    ngx_http_users_key_t   *key, **slot;
    ngx_http_users_keys_t  *keys;

    keys = &umcf->jwt_keys;

    if (keys->keys == NULL) {
        keys->keys = ngx_array_create(cf->pool, 4,
                                      sizeof(ngx_http_users_key_t *));
        if (keys->keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    /* a key of its own: the signer and the cleanups point at it */
    key = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_key_t));
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_users_jwt_key_args(cf, keys, key, &source) != NGX_CONF_OK
        || ngx_http_users_key_source(cf, key, &source) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (key->sign && !key->private) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kid \"%V\" is marked \"sign\" but \"%V\" holds "
                           "a public key only", &key->kid, &source);
        return NGX_CONF_ERROR;
    }

    if (key->sign && keys->signer) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kid \"%V\" is marked \"sign\" but kid \"%V\" "
                           "already is: exactly one key signs",
                           &key->kid, &keys->signer->kid);
        return NGX_CONF_ERROR;
    }

    slot = ngx_array_push(keys->keys);
    if (slot == NULL) {
        return NGX_CONF_ERROR;
    }

    *slot = key;

    if (key->sign) {
        keys->signer = key;
    }

    return NGX_CONF_OK;
}


/* kid=, alg=, the key's source and "sign", each once, in any order */

static char *
ngx_http_users_jwt_key_args(ngx_conf_t *cf, ngx_http_users_keys_t *keys,
    ngx_http_users_key_t *key, ngx_str_t *source)
{
    ngx_str_t   *value, alg;
    ngx_uint_t   i;

    value = cf->args->elts;

    ngx_str_null(source);
    ngx_str_null(&alg);

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "kid=", 4) == 0
            && key->kid.data == NULL)
        {
            key->kid.data = value[i].data + 4;
            key->kid.len = value[i].len - 4;
            continue;
        }

        if (ngx_strncmp(value[i].data, "alg=", 4) == 0 && alg.data == NULL) {
            alg.data = value[i].data + 4;
            alg.len = value[i].len - 4;
            continue;
        }

        if ((ngx_strncmp(value[i].data, "file:", 5) == 0
             || ngx_strncmp(value[i].data, "env:", 4) == 0)
            && source->data == NULL)
        {
            *source = value[i];
            continue;
        }

        if (ngx_strcmp(value[i].data, "sign") == 0 && !key->sign) {
            key->sign = 1;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid or repeated parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (key->kid.data == NULL || alg.data == NULL || source->data == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"users_jwt_key\" needs kid=NAME, alg=EdDSA|ES256"
                           "|HS256 and file:PATH or env:NAME");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_users_kid_valid(&key->kid) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid kid \"%V\": 1 to %d characters of "
                           "A-Z a-z 0-9 . _ -",
                           &key->kid, NGX_HTTP_USERS_KID_MAX);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_users_keys_find(keys, key->kid.data, key->kid.len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate kid \"%V\"", &key->kid);
        return NGX_CONF_ERROR;
    }

    for (i = 0; ngx_http_users_alg_names[i].len; i++) {
        if (alg.len == ngx_http_users_alg_names[i].len
            && ngx_strncmp(alg.data, ngx_http_users_alg_names[i].data,
                           alg.len)
               == 0)
        {
            key->alg = i;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "kid \"%V\": unknown alg \"%V\" (EdDSA, ES256 or "
                       "HS256)", &key->kid, &alg);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_users_key_source(ngx_conf_t *cf, ngx_http_users_key_t *key,
    ngx_str_t *source)
{
    char        *err;
    ngx_int_t    rc;
    ngx_str_t    text;
    const char  *reason;

    if (ngx_http_users_conf_value(cf, source, &text) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (text.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kid \"%V\": \"%V\" is empty", &key->kid, source);
        return NGX_CONF_ERROR;
    }

    if (key->alg == NGX_HTTP_USERS_ALG_HS256) {

        if (text.len < NGX_HTTP_USERS_JWT_SECRET_MIN) {
            sodium_memzero(text.data, text.len);
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "kid \"%V\": the secret from \"%V\" is %uz "
                               "bytes long, at least %d are needed",
                               &key->kid, source, text.len,
                               NGX_HTTP_USERS_JWT_SECRET_MIN);
            return NGX_CONF_ERROR;
        }

        key->secret = text;
        key->private = 1;

        return ngx_http_users_keys_cleanup_add(cf, key) == NGX_OK
               ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    rc = ngx_http_users_jwk_load(key, &text, &err);

    /* the PEM text holds the private key as well: only key->sk stays */
    sodium_memzero(text.data, text.len);

    if (rc != NGX_OK) {
        /* nothing of a refused key may linger for nginx's TLS to trip on */
        reason = ERR_reason_error_string(ERR_peek_last_error());
        ERR_clear_error();

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kid \"%V\": \"%V\" %s%s%s%s",
                           &key->kid, source, err,
                           reason ? " (OpenSSL: " : "",
                           reason ? reason : "", reason ? ")" : "");
        return NGX_CONF_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, cf->log, 0,
                   "users jwt key \"%V\" %V%s", &key->kid,
                   &ngx_http_users_alg_names[key->alg],
                   key->private ? "" : ", public only");

    return ngx_http_users_keys_cleanup_add(cf, key) == NGX_OK
           ? NGX_CONF_OK : NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_users_kid_valid(ngx_str_t *kid)
{
    u_char  *p, *last;

    if (kid->len == 0 || kid->len > NGX_HTTP_USERS_KID_MAX) {
        return NGX_DECLINED;
    }

    last = kid->data + kid->len;

    for (p = kid->data; p < last; p++) {
        if (!ngx_http_users_is_alnum(*p)
            && *p != '.' && *p != '_' && *p != '-')
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/* the cycle's pool: freed, and wiped, when its configuration is */

static ngx_int_t
ngx_http_users_keys_cleanup_add(ngx_conf_t *cf, ngx_http_users_key_t *key)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_http_users_jwk_free(key);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_users_keys_cleanup;
    cln->data = key;

    return NGX_OK;
}


static void
ngx_http_users_keys_cleanup(void *data)
{
    ngx_http_users_key_t  *key = data;

    ngx_http_users_jwk_free(key);
}


/*
 * After the http block: users_jwt_secret becomes the key of tokens
 * without kid, and the signer when no key is marked; then the JWKS.
 */

char *
ngx_http_users_keys_init(ngx_conf_t *cf, ngx_http_users_keys_t *keys,
    ngx_str_t *secret)
{
    ngx_http_users_key_t  *key;

    if (secret->len) {
        key = ngx_pcalloc(cf->pool, sizeof(ngx_http_users_key_t));
        if (key == NULL) {
            return NGX_CONF_ERROR;
        }

        key->alg = NGX_HTTP_USERS_ALG_HS256;
        key->secret = *secret;
        key->private = 1;

        if (ngx_http_users_keys_cleanup_add(cf, key) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        keys->secret = key;

        if (keys->signer == NULL) {
            keys->signer = key;
        }
    }

    if (keys->signer == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           (keys->keys && keys->keys->nelts)
                           ? "\"users_api\" needs a signing key: no "
                             "\"users_jwt_key\" is marked \"sign\" and no "
                             "\"users_jwt_secret\" is set"
                           : "\"users_api\" needs a JWT secret of at least "
                             "%d bytes (\"users_jwt_secret\") or a "
                             "\"users_jwt_key ... sign\"",
                           NGX_HTTP_USERS_JWT_SECRET_MIN);
        return NGX_CONF_ERROR;
    }

    return ngx_http_users_keys_jwks_build(cf, keys);
}


static char *
ngx_http_users_keys_jwks_build(ngx_conf_t *cf, ngx_http_users_keys_t *keys)
{
    u_char                *p;
    size_t                 len;
    ngx_str_t             *jwk;
    ngx_uint_t              i, n;
    ngx_http_users_key_t  **key;

    n = keys->keys ? keys->keys->nelts : 0;
    key = n ? keys->keys->elts : NULL;

    jwk = ngx_pcalloc(cf->temp_pool, (n + 1) * sizeof(ngx_str_t));
    if (jwk == NULL) {
        return NGX_CONF_ERROR;
    }

    len = sizeof("{\"keys\":[]}") - 1;

    for (i = 0; i < n; i++) {
        switch (ngx_http_users_jwk_json(cf->temp_pool, key[i], &jwk[i])) {
        case NGX_OK:
            len += jwk[i].len + 1;
            break;
        case NGX_DECLINED:
            break;
        default:
            return NGX_CONF_ERROR;
        }
    }

    keys->jwks.data = ngx_pnalloc(cf->pool, len);
    if (keys->jwks.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_cpymem(keys->jwks.data, "{\"keys\":[", sizeof("{\"keys\":[") - 1);

    for (i = 0; i < n; i++) {
        if (jwk[i].len == 0) {
            continue;
        }

        if (p[-1] != '[') {
            *p++ = ',';
        }

        p = ngx_cpymem(p, jwk[i].data, jwk[i].len);
    }

    p = ngx_cpymem(p, "]}", 2);

    keys->jwks.len = p - keys->jwks.data;

    return NGX_CONF_OK;
}


/* GET /.well-known/jwks.json: any client may cache it for five minutes */

ngx_int_t
ngx_http_users_keys_jwks(ngx_http_request_t *r)
{
    ngx_http_users_main_conf_t  *umcf;

    static ngx_str_t  cache_control = ngx_string("Cache-Control");
    static ngx_str_t  max_age = ngx_string("public, max-age=300");

    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    if (ngx_http_users_add_header(r, &cache_control, &max_age) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_send_json(r, NGX_HTTP_OK, &umcf->jwt_keys.jwks);
}
