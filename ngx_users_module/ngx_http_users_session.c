
/*
 * Copyright (C) ngx_users authors
 *
 * Sessions (sql/0007_sessions.sql): the refresh token a login hands out,
 * its rotation, the grace window and reuse detection, and the routes that
 * list and end sessions.  A refresh token is its session's id and 256
 * random bits; PostgreSQL keeps only its SHA-256, and, for the grace
 * window, the token that replaced it sealed with a key derived from the
 * signing key, which every instance holds and the database never sees.
 */


#include "ngx_http_users_module.h"

#include <sodium.h>
#include <openssl/evp.h>
#include <openssl/x509.h>


/* nonce || ciphertext || tag of a refresh token's text */
#define NGX_HTTP_USERS_SEALED_LEN                                             \
    (crypto_secretbox_NONCEBYTES + NGX_HTTP_USERS_REFRESH_LEN                 \
     + crypto_secretbox_MACBYTES)


/* the columns of NGX_HTTP_USERS_SQL_REFRESH and _REFRESH_REPLAY */
typedef enum {
    NGX_HTTP_USERS_REFRESH_SESSION = 0,
    NGX_HTTP_USERS_REFRESH_USER,
    NGX_HTTP_USERS_REFRESH_VERSION,
    NGX_HTTP_USERS_REFRESH_EXPIRES_IN,
    NGX_HTTP_USERS_REFRESH_ANSWER,        /* rotated, or within the grace */
    NGX_HTTP_USERS_REFRESH_SUCCESSOR      /* sealed; the replay's only */
} ngx_http_users_refresh_col_e;


typedef enum {
    NGX_HTTP_USERS_REFRESH_TOKEN = 0,
    NGX_HTTP_USERS_REFRESH_NKEYS
} ngx_http_users_refresh_key_e;


/* a refresh in progress: the token presented and its successor */
typedef struct {
    ngx_str_t                  presented;   /* its hash, a bytea param */
    ngx_http_users_refresh_t   next;
} ngx_http_users_refreshing_t;


static ngx_int_t ngx_http_users_session_hash(ngx_pool_t *pool,
    ngx_str_t *token, ngx_str_t *hash);
static ngx_int_t ngx_http_users_session_bytea(ngx_pool_t *pool,
    u_char *bytes, size_t n, ngx_str_t *param);
static ngx_int_t ngx_http_users_session_seal(ngx_http_request_t *r,
    ngx_str_t *token, ngx_str_t *sealed);
static ngx_int_t ngx_http_users_session_unseal(ngx_http_request_t *r,
    ngx_str_t *sealed, ngx_str_t *token);
static ngx_int_t ngx_http_users_session_rotated(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_session_replayed(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_session_refreshed(ngx_http_request_t *r,
    ngx_str_t *refresh);
static ngx_int_t ngx_http_users_session_invalid(ngx_http_request_t *r,
    ngx_http_users_metric_e metric);
static ngx_int_t ngx_http_users_session_deleted(ngx_http_request_t *r);


static ngx_http_users_field_t  ngx_http_users_refresh_fields[] = {
    [NGX_HTTP_USERS_REFRESH_TOKEN] =
    { ngx_string("refresh_token"), NGX_HTTP_USERS_FIELD_STRING, 0, 0, NULL,
      1, 0 }
};

ngx_http_users_schema_t  ngx_http_users_refresh_schema = {
    ngx_http_users_refresh_fields,
    sizeof(ngx_http_users_refresh_fields) / sizeof(ngx_http_users_field_t)
};

_Static_assert(sizeof(ngx_http_users_refresh_fields)
               / sizeof(ngx_http_users_field_t)
               == NGX_HTTP_USERS_REFRESH_NKEYS,
               "ngx_http_users_refresh_fields[] needs one row per key");


/*
 * The sealing key: the HS256 secret's, else the signer's private key's
 * hash under a context of its own, so that it differs from every key that
 * signs.  Instances with the same key set derive the same key, so a grace
 * window answer opens on any of them.
 */

ngx_int_t
ngx_http_users_session_init(ngx_conf_t *cf, ngx_http_users_main_conf_t *umcf)
{
    int                         len;
    u_char                     *der, *p;
    ngx_int_t                   rc;
    ngx_str_t                   material;
    ngx_http_users_key_t       *key;
    crypto_generichash_state    state;

    static u_char  context[] = "ngx_users refresh token seal v1";

    key = umcf->jwt_keys.secret ? umcf->jwt_keys.secret
                                : umcf->jwt_keys.signer;
    der = NULL;

    switch (key->alg) {

    case NGX_HTTP_USERS_ALG_HS256:
        material = key->secret;
        break;

    case NGX_HTTP_USERS_ALG_EDDSA:
        material.data = key->sk;
        material.len = crypto_sign_SECRETKEYBYTES;
        break;

    default: /* NGX_HTTP_USERS_ALG_ES256 */
        len = i2d_PrivateKey(key->pkey, NULL);
        if (len <= 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "i2d_PrivateKey() failed for the signing key");
            return NGX_ERROR;
        }

        der = ngx_alloc(len, cf->log);
        if (der == NULL) {
            return NGX_ERROR;
        }

        p = der;
        (void) i2d_PrivateKey(key->pkey, &p);

        material.data = der;
        material.len = len;
        break;
    }

    /* unkeyed: a key of BLAKE2b is at most 64 bytes, a secret may be longer */
    rc = (crypto_generichash_init(&state, NULL, 0, sizeof(umcf->seal_key))
          == 0
          && crypto_generichash_update(&state, context, sizeof(context) - 1)
             == 0
          && crypto_generichash_update(&state, material.data, material.len)
             == 0
          && crypto_generichash_final(&state, umcf->seal_key,
                                      sizeof(umcf->seal_key))
             == 0)
         ? NGX_OK : NGX_ERROR;

    sodium_memzero(&state, sizeof(state));

    if (der) {
        sodium_memzero(der, material.len);
        ngx_free(der);
    }

    if (rc != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "deriving the refresh tokens' sealing key failed");
    }

    return rc;
}


/*
 * A fresh refresh token and its hash: of the session whose id's 16 bytes
 * are at session, or of a new session (a random, version 4 uuid) when
 * session is NULL
 */

ngx_int_t
ngx_http_users_session_new(ngx_http_request_t *r, u_char *session,
    ngx_http_users_refresh_t *rt)
{
    u_char     bytes[NGX_HTTP_USERS_REFRESH_BYTES];
    ngx_str_t  raw;

    if (session) {
        ngx_memcpy(bytes, session, NGX_HTTP_USERS_UUID_SIZE);

    } else {
        randombytes_buf(bytes, NGX_HTTP_USERS_UUID_SIZE);

        /* RFC 9562: the version and variant bits */
        bytes[6] = (u_char) ((bytes[6] & 0x0f) | 0x40);
        bytes[8] = (u_char) ((bytes[8] & 0x3f) | 0x80);
    }

    randombytes_buf(bytes + NGX_HTTP_USERS_UUID_SIZE,
                    sizeof(bytes) - NGX_HTTP_USERS_UUID_SIZE);

    rt->token.data = ngx_pnalloc(r->pool, NGX_HTTP_USERS_REFRESH_LEN + 1);
    rt->sid.data = ngx_pnalloc(r->pool, NGX_HTTP_USERS_UUID_LEN + 1);

    if (rt->token.data == NULL || rt->sid.data == NULL) {
        sodium_memzero(bytes, sizeof(bytes));
        return NGX_ERROR;
    }

    raw.data = bytes;
    raw.len = sizeof(bytes);

    ngx_encode_base64url(&rt->token, &raw);
    rt->token.data[rt->token.len] = '\0';

    rt->sid.len = ngx_http_users_uuid_text(rt->sid.data, bytes)
                  - rt->sid.data;
    rt->sid.data[rt->sid.len] = '\0';

    sodium_memzero(bytes, sizeof(bytes));

    return ngx_http_users_session_hash(r->pool, &rt->token, &rt->hash);
}


/* SHA-256 of a token, as a bytea parameter: "\x" and 64 hex digits */

static ngx_int_t
ngx_http_users_session_hash(ngx_pool_t *pool, ngx_str_t *token,
    ngx_str_t *hash)
{
    u_char  digest[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(digest, token->data, token->len);

    return ngx_http_users_session_bytea(pool, digest, sizeof(digest), hash);
}


/* bytes as a bytea parameter in PostgreSQL's hex form, NUL-terminated */

static ngx_int_t
ngx_http_users_session_bytea(ngx_pool_t *pool, u_char *bytes, size_t n,
    ngx_str_t *param)
{
    u_char  *p;

    param->data = ngx_pnalloc(pool, 2 + 2 * n + 1);
    if (param->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(param->data, "\\x", 2);
    p = ngx_hex_dump(p, bytes, n);
    *p = '\0';

    param->len = p - param->data;

    return NGX_OK;
}


/* the successor for the grace window, sealed, as a bytea parameter */

static ngx_int_t
ngx_http_users_session_seal(ngx_http_request_t *r, ngx_str_t *token,
    ngx_str_t *sealed)
{
    u_char                       box[NGX_HTTP_USERS_SEALED_LEN];
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    if (token->len != NGX_HTTP_USERS_REFRESH_LEN) {
        return NGX_ERROR;
    }

    randombytes_buf(box, crypto_secretbox_NONCEBYTES);

    if (crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, token->data,
                              token->len, box, umcf->seal_key)
        != 0)
    {
        return NGX_ERROR;
    }

    return ngx_http_users_session_bytea(r->pool, box, sizeof(box), sealed);
}


/* NGX_DECLINED when the box does not open: another key set sealed it */

static ngx_int_t
ngx_http_users_session_unseal(ngx_http_request_t *r, ngx_str_t *sealed,
    ngx_str_t *token)
{
    u_char                      *hex, box[NGX_HTTP_USERS_SEALED_LEN];
    ngx_int_t                    hi, lo;
    ngx_uint_t                   i;
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    if (sealed->len != 2 + 2 * sizeof(box)
        || ngx_strncmp(sealed->data, "\\x", 2) != 0)
    {
        return NGX_DECLINED;
    }

    hex = sealed->data + 2;

    for (i = 0; i < sizeof(box); i++) {
        hi = ngx_hextoi(&hex[2 * i], 1);
        lo = ngx_hextoi(&hex[2 * i + 1], 1);

        if (hi == NGX_ERROR || lo == NGX_ERROR) {
            return NGX_DECLINED;
        }

        box[i] = (u_char) (hi << 4 | lo);
    }

    token->data = ngx_pnalloc(r->pool, NGX_HTTP_USERS_REFRESH_LEN + 1);
    if (token->data == NULL) {
        return NGX_ERROR;
    }

    if (crypto_secretbox_open_easy(token->data,
                                   box + crypto_secretbox_NONCEBYTES,
                                   sizeof(box) - crypto_secretbox_NONCEBYTES,
                                   box, umcf->seal_key)
        != 0)
    {
        return NGX_DECLINED;
    }

    token->len = NGX_HTTP_USERS_REFRESH_LEN;
    token->data[token->len] = '\0';

    return NGX_OK;
}


/*
 * The login answer, for a password or a refresh token: an access token of
 * the session and the refresh token; expires_in is the text of the
 * refresh token's remaining seconds, as PostgreSQL computed it.
 */

ngx_int_t
ngx_http_users_session_answer(ngx_http_request_t *r, int64_t user,
    ngx_int_t version, ngx_str_t *sid, ngx_str_t *refresh,
    ngx_str_t *expires_in)
{
    ngx_str_t                    token, body;
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    if (ngx_http_users_jwt_issue(r->pool, umcf->jwt_keys.signer, user,
                                 version, sid, ngx_time(), umcf->jwt_ttl,
                                 &token)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.len = sizeof("{\"access_token\":\"\",\"token_type\":\"bearer\","
                      "\"expires_in\":,\"refresh_token\":\"\","
                      "\"refresh_expires_in\":}") - 1
               + token.len + NGX_TIME_T_LEN + refresh->len + expires_in->len;
    body.data = ngx_pnalloc(r->pool, body.len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.len = ngx_sprintf(body.data,
                           "{\"access_token\":\"%V\",\"token_type\":\"bearer\","
                           "\"expires_in\":%T,\"refresh_token\":\"%V\","
                           "\"refresh_expires_in\":%V}",
                           &token, umcf->jwt_ttl, refresh, expires_in)
               - body.data;

    return ngx_http_users_send_json(r, NGX_HTTP_OK, &body);
}


/* POST /auth/refresh */

ngx_int_t
ngx_http_users_session_refresh(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    return ngx_http_users_session_refresh_grant(r,
                           &ctx->values[NGX_HTTP_USERS_REFRESH_TOKEN].str);
}


/*
 * POST /auth/refresh and the refresh_token grant of POST /auth/login.  A
 * token that cannot be one of ours costs no round trip.
 */

ngx_int_t
ngx_http_users_session_refresh_grant(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char                        session[NGX_HTTP_USERS_UUID_SIZE];
    ngx_str_t                     params[5];
    ngx_http_users_ctx_t         *ctx;
    ngx_http_users_refreshing_t  *rf;
    ngx_http_users_main_conf_t   *umcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    if (ngx_http_users_refresh_token_session(token, session) != NGX_OK) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "users refresh: not a token of ours");

        return ngx_http_users_session_invalid(r,
                                       NGX_HTTP_USERS_METRIC_REFRESH_INVALID);
    }

    rf = ngx_pcalloc(r->pool, sizeof(ngx_http_users_refreshing_t));
    if (rf == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = rf;

    if (ngx_http_users_session_hash(r->pool, token, &rf->presented) != NGX_OK
        || ngx_http_users_session_new(r, session, &rf->next) != NGX_OK
        || ngx_http_users_session_seal(r, &rf->next.token, &params[2])
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = rf->presented;
    params[1] = rf->next.hash;

    params[3].data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 1);
    if (params[3].data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[3].len = ngx_sprintf(params[3].data, "%T%Z", umcf->refresh_ttl)
                    - params[3].data - 1;

    /* the successor's id is the presented token's */
    params[4] = rf->next.sid;

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_REFRESH, 5, params,
                                ngx_http_users_session_rotated);
}


static ngx_int_t
ngx_http_users_session_rotated(ngx_http_request_t *r)
{
    ngx_str_t                     params[3];
    ngx_http_users_ctx_t         *ctx;
    ngx_http_users_refreshing_t  *rf;
    ngx_http_users_main_conf_t   *umcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);
    rf = ctx->data;

    if (PQresultStatus(ctx->res) != PGRES_TUPLES_OK) {
        return ngx_http_users_send_pg_error(r, ctx->res);
    }

    if (PQntuples(ctx->res) == 1) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "users refresh: rotated");

        ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_REFRESH_ROTATED, 1);

        return ngx_http_users_session_refreshed(r, &rf->next.token);
    }

    /* not current: used up already, by a racing refresh or a thief */

    params[0] = rf->presented;

    params[1].data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 1);
    if (params[1].data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[1].len = ngx_sprintf(params[1].data, "%T%Z", umcf->refresh_grace)
                    - params[1].data - 1;

    params[2] = rf->next.sid;

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_REFRESH_REPLAY, 3,
                                params, ngx_http_users_session_replayed);
}


static ngx_int_t
ngx_http_users_session_replayed(ngx_http_request_t *r)
{
    ngx_int_t              rc;
    ngx_str_t              sealed, successor;
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (PQresultStatus(ctx->res) != PGRES_TUPLES_OK) {
        return ngx_http_users_send_pg_error(r, ctx->res);
    }

    if (PQntuples(ctx->res) != 1) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "users refresh: unknown, expired or revoked token");

        return ngx_http_users_session_invalid(r,
                                       NGX_HTTP_USERS_METRIC_REFRESH_INVALID);
    }

    if (PQgetvalue(ctx->res, 0, NGX_HTTP_USERS_REFRESH_ANSWER)[0] != 't') {
        ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                      "users: a used refresh token was presented after its "
                      "grace window: session %s ended",
                      PQgetvalue(ctx->res, 0, NGX_HTTP_USERS_REFRESH_SESSION));

        return ngx_http_users_session_invalid(r,
                                       NGX_HTTP_USERS_METRIC_REFRESH_REUSED);
    }

    if (ngx_http_users_pg_value(r, ctx->res, NGX_HTTP_USERS_REFRESH_SUCCESSOR,
                                &sealed)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_users_session_unseal(r, &sealed, &successor);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "users: a refresh token's successor does not open "
                      "with this key set (a signing key changed?): "
                      "the grace window answers 401");

        return ngx_http_users_session_invalid(r,
                                       NGX_HTTP_USERS_METRIC_REFRESH_INVALID);
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users refresh: within the grace window");

    ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_REFRESH_GRACE, 1);

    return ngx_http_users_session_refreshed(r, &successor);
}


/* the answer of a rotation or of its grace window, from the row */

static ngx_int_t
ngx_http_users_session_refreshed(ngx_http_request_t *r, ngx_str_t *refresh)
{
    int64_t                user;
    ngx_int_t              version;
    ngx_str_t              sid, id, ver, expires_in;
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (ngx_http_users_pg_value(r, ctx->res, NGX_HTTP_USERS_REFRESH_SESSION,
                                &sid)
        != NGX_OK
        || ngx_http_users_pg_value(r, ctx->res, NGX_HTTP_USERS_REFRESH_USER,
                                   &id)
           != NGX_OK
        || ngx_http_users_pg_value(r, ctx->res,
                                   NGX_HTTP_USERS_REFRESH_VERSION, &ver)
           != NGX_OK
        || ngx_http_users_pg_value(r, ctx->res,
                                   NGX_HTTP_USERS_REFRESH_EXPIRES_IN,
                                   &expires_in)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    version = ngx_atoi(ver.data, ver.len);

    if (ngx_http_users_parse_id(&id, &user) != NGX_OK
        || version == NGX_ERROR)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_session_answer(r, user, version, &sid, refresh,
                                         &expires_in);
}


static ngx_int_t
ngx_http_users_session_invalid(ngx_http_request_t *r,
    ngx_http_users_metric_e metric)
{
    ngx_http_users_metrics_add(metric, 1);

    return ngx_http_users_send_unauthorized(r, "Invalid refresh token");
}


/* GET /auth/sessions */

ngx_int_t
ngx_http_users_session_list(ngx_http_request_t *r)
{
    ngx_http_users_ident_t  *ident;

    /* to mark the caller's own "current" (a token from before has none) */
    ident = ngx_http_users_ident(r);
    if (ident == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_SESSIONS_LIST, 1,
                                &ident->sid, ngx_http_users_auth_answer);
}


/* DELETE /auth/sessions/{id}: an id that is no session's matches none */

ngx_int_t
ngx_http_users_session_delete(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_SESSION_DELETE, 1,
                                &ctx->path_id_text,
                                ngx_http_users_session_deleted);
}


static ngx_int_t
ngx_http_users_session_deleted(ngx_http_request_t *r)
{
    return ngx_http_users_auth_target(r, NGX_HTTP_NO_CONTENT,
                                      "Session not found");
}


/*
 * POST /auth/logout?scope=local|others (global is the token version's
 * logout): the caller's session, or all the others
 */

ngx_int_t
ngx_http_users_session_logout(ngx_http_request_t *r, ngx_str_t *scope)
{
    ngx_str_t                params[2];
    ngx_http_users_ident_t  *ident;

    ident = ngx_http_users_ident(r);
    if (ident == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* NUL-terminated by the token's parser, as libpq wants */
    params[0] = ident->sid;

    /* a token from before sessions is in none: "local" is all it has */
    if (params[0].len == 0 && scope->len == sizeof("local") - 1) {
        return NGX_DECLINED;
    }

    /* the query string's bytes: libpq wants a NUL-terminated copy */
    params[1].data = ngx_pnalloc(r->pool, scope->len + 1);
    if (params[1].data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[1].len = scope->len;
    ngx_memcpy(params[1].data, scope->data, scope->len);
    params[1].data[scope->len] = '\0';

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users logout: scope %V", scope);

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_LOGOUT_SESSIONS, 2,
                                params, ngx_http_users_auth_logged_out);
}


/* GET /users/{id}/sessions */

ngx_int_t
ngx_http_users_session_user_list(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_USER_SESSIONS, 1,
                                &ctx->path_id_text,
                                ngx_http_users_auth_answer);
}


/* DELETE /users/{id}/sessions */

ngx_int_t
ngx_http_users_session_user_end(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_USER_SESSIONS_DELETE, 1,
                                &ctx->path_id_text,
                                ngx_http_users_auth_deleted);
}
