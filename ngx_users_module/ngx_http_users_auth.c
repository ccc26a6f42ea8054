
/*
 * Copyright (C) ngx_users authors
 *
 * /auth: register, login, the current user, logout; and the bearer-token
 * check every protected route goes through.
 */


#include "ngx_http_users_module.h"


/* the columns of NGX_HTTP_USERS_SQL_LOGIN */
typedef enum {
    NGX_HTTP_USERS_LOGIN_ADMITTED = 0,
    NGX_HTTP_USERS_LOGIN_WAIT,
    NGX_HTTP_USERS_LOGIN_ID,
    NGX_HTTP_USERS_LOGIN_HASH,
    NGX_HTTP_USERS_LOGIN_ACTIVE,
    NGX_HTTP_USERS_LOGIN_VERSION
} ngx_http_users_login_col_e;


typedef struct {
    ngx_str_t                  username;
    ngx_str_t                  password;
    ngx_str_t                  id;
    ngx_str_t                  hash;
    ngx_str_t                  version;
    ngx_http_users_refresh_t   refresh;
    unsigned                   active:1;
    unsigned                   verified:1;  /* the password was right */
} ngx_http_users_login_t;


static ngx_int_t ngx_http_users_register_hashed(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_register_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_login_refused(ngx_http_request_t *r,
    time_t wait);
static ngx_int_t ngx_http_users_login_found(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_login_verified(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_login_failed(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_login_denied(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_login_start(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_login_token(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_verify_answer(ngx_http_request_t *r);


static ngx_http_users_field_t  ngx_http_users_register_fields[] = {
    [NGX_HTTP_USERS_REGISTER_EMAIL] =
    { ngx_string("email"), NGX_HTTP_USERS_FIELD_STRING, 0, 254,
      ngx_http_users_check_email, 1, 0 },
    [NGX_HTTP_USERS_REGISTER_PASSWORD] =
    { ngx_string("password"), NGX_HTTP_USERS_FIELD_STRING,
      NGX_HTTP_USERS_PASSWORD_MIN, NGX_HTTP_USERS_PASSWORD_MAX, NULL, 1, 0 },
    [NGX_HTTP_USERS_REGISTER_NAME] =
    { ngx_string("name"), NGX_HTTP_USERS_FIELD_STRING, 0, 255, NULL, 0, 1 }
};

ngx_http_users_schema_t  ngx_http_users_register_schema = {
    ngx_http_users_register_fields,
    sizeof(ngx_http_users_register_fields) / sizeof(ngx_http_users_field_t)
};

_Static_assert(sizeof(ngx_http_users_register_fields)
               / sizeof(ngx_http_users_field_t)
               == NGX_HTTP_USERS_REGISTER_NKEYS,
               "ngx_http_users_register_fields[] needs one row per key");


/*
 * The bearer token alone, before any database work: NGX_OK with the
 * caller's id and token version in ctx, NGX_DECLINED with the 401's
 * detail, or NGX_ERROR.
 */

ngx_int_t
ngx_http_users_auth_token(ngx_http_request_t *r, char **detail)
{
    ngx_http_users_ctx_t    *ctx;
    ngx_http_users_ident_t  *ident;

    ident = ngx_http_users_ident(r);
    if (ident == NULL) {
        return NGX_ERROR;
    }

    if (ident->rc != NGX_OK) {
        *detail = ident->detail;
        return ident->rc;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    ctx->user_id = ident->id;
    ctx->user_id_text = ident->id_text;
    ctx->version_text = ident->version_text;

    return NGX_OK;
}


/*
 * The caller's row, from a statement that authenticates (see
 * ngx_http_users_sql.c): 0 when the caller may go on, else the status to
 * answer.
 */

ngx_uint_t
ngx_http_users_auth_row(ngx_http_request_t *r, PGresult *res)
{
    ngx_str_t             *dst;
    ngx_uint_t             i;
    ngx_http_users_ctx_t  *ctx;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        return ngx_http_users_pg_error_status(r, res);
    }

    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        return NGX_HTTP_UNAUTHORIZED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    ctx->user.superuser = (PQgetvalue(res, 0, 0)[0] == 't');

    if (ctx->method->access == NGX_HTTP_USERS_SUPERUSER
        && !ctx->user.superuser)
    {
        return NGX_HTTP_FORBIDDEN;
    }

    for (i = 1; i < 3 && i < (ngx_uint_t) PQnfields(res); i++) {

        dst = (i == 1) ? &ctx->user.json : &ctx->user.hashed_password;

        if (ngx_http_users_pg_value(r, res, i, dst) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The folded statements answer a representation in their second column:
 * the caller's own, or another user's or session's, NULL when it is not
 * to be seen or was not written ("missing" is then the 404's detail).  A
 * write that failed is a 409 for a taken email.
 */

ngx_int_t
ngx_http_users_auth_target(ngx_http_request_t *r, ngx_uint_t status,
    char *missing)
{
    ngx_uint_t             refused;
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (PQresultStatus(ctx->res) != PGRES_TUPLES_OK) {
        return ngx_http_users_send_write_error(r, ctx->res);
    }

    refused = ngx_http_users_auth_row(r, ctx->res);
    if (refused != NGX_OK) {
        return ngx_http_users_send_status(r, refused);
    }

    if (ctx->user.json.data == NULL) {
        return ngx_http_users_send_detail(r, NGX_HTTP_NOT_FOUND, missing);
    }

    if (status == NGX_HTTP_NO_CONTENT) {
        return ngx_http_users_send_empty(r, status);
    }

    return ngx_http_users_send_json(r, status, &ctx->user.json);
}


ngx_int_t
ngx_http_users_auth_answer(ngx_http_request_t *r)
{
    return ngx_http_users_auth_target(r, NGX_HTTP_OK, "User not found");
}


ngx_int_t
ngx_http_users_auth_deleted(ngx_http_request_t *r)
{
    return ngx_http_users_auth_target(r, NGX_HTTP_NO_CONTENT,
                                      "User not found");
}


/* GET /auth/me, POST /auth/test-token, and every "me" read */

ngx_int_t
ngx_http_users_auth_me(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    return ngx_http_users_send_json(r, NGX_HTTP_OK, &ctx->user.json);
}


/*
 * GET /auth/verify: who the token is, for auth_request, which asks on
 * every request: the shared state answers without a query when it knows
 * the user, else one load puts the user there.
 */

ngx_int_t
ngx_http_users_auth_verify(ngx_http_request_t *r)
{
    ngx_http_users_ident_t  *ident;

    ident = ngx_http_users_ident(r);
    if (ident == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ident->checked) {
        return ngx_http_users_verify_answer(r);
    }

    return ngx_http_users_state_query(r, ngx_http_users_verify_answer);
}


static ngx_int_t
ngx_http_users_verify_answer(ngx_http_request_t *r)
{
    ngx_str_t                superuser;
    ngx_http_users_ident_t  *ident;

    static ngx_str_t  user_id = ngx_string("X-User-Id");
    static ngx_str_t  user_superuser = ngx_string("X-User-Superuser");
    static ngx_str_t  session_id = ngx_string("X-Session-Id");

    ident = ngx_http_users_ident(r);
    if (ident == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ident->current) {
        return ngx_http_users_send_unauthorized(r,
                                            "Could not validate credentials");
    }

    ngx_str_set(&superuser, "0");

    if (ident->superuser) {
        ngx_str_set(&superuser, "1");
    }

    if (ngx_http_users_add_header(r, &user_id, &ident->id_text) != NGX_OK
        || ngx_http_users_add_header(r, &user_superuser, &superuser)
           != NGX_OK
        || (ident->sid.len
            && ngx_http_users_add_header(r, &session_id, &ident->sid)
               != NGX_OK))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_send_empty(r, NGX_HTTP_NO_CONTENT);
}


ngx_int_t
ngx_http_users_auth_register(ngx_http_request_t *r)
{
    return ngx_http_users_password_hash_key(r,
                                           NGX_HTTP_USERS_REGISTER_PASSWORD,
                                           ngx_http_users_register_hashed);
}


static ngx_int_t
ngx_http_users_register_hashed(ngx_http_request_t *r)
{
    ngx_str_t              params[3];
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (!ctx->task->ok) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = ctx->values[NGX_HTTP_USERS_REGISTER_EMAIL].str;
    params[1] = ctx->values[NGX_HTTP_USERS_REGISTER_NAME].str;
    params[2] = ctx->task->new_hash;

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_REGISTER, 3, params,
                                ngx_http_users_register_done);
}


static ngx_int_t
ngx_http_users_register_done(ngx_http_request_t *r)
{
    u_char                *p;
    ngx_str_t              id, json, location;
    ngx_http_users_ctx_t  *ctx;

    static ngx_str_t  location_name = ngx_string("Location");

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    if (PQresultStatus(ctx->res) != PGRES_TUPLES_OK) {
        return ngx_http_users_send_write_error(r, ctx->res);
    }

    if (ngx_http_users_pg_value(r, ctx->res, 0, &id) != NGX_OK
        || ngx_http_users_pg_value(r, ctx->res, 1, &json) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    location.len = sizeof("/users/") - 1 + id.len;
    location.data = ngx_pnalloc(r->pool, location.len);
    if (location.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(location.data, "/users/", sizeof("/users/") - 1);
    ngx_memcpy(p, id.data, id.len);

    /*
     * A plain header: r->headers_out.location would be made absolute by
     * nginx when absolute_redirect is on.
     */

    if (ngx_http_users_add_header(r, &location_name, &location) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_send_json(r, NGX_HTTP_CREATED, &json);
}


/*
 * POST /auth/login, OAuth2's password flow: the attempt is counted and
 * admitted by PostgreSQL before any hash is computed (the shared memory
 * zone only refuses early what the database refused), the same query and
 * the same hash cost follow for known and unknown emails, and the
 * account's state is told only after the password was verified.
 */

ngx_int_t
ngx_http_users_auth_login(ngx_http_request_t *r)
{
    char                        *field;
    u_char                      *p;
    time_t                       wait;
    ngx_str_t                    params[3], *username;
    ngx_uint_t                   i, refresh, needed;
    ngx_http_users_ctx_t        *ctx;
    ngx_http_users_login_t      *login;
    ngx_http_users_main_conf_t  *umcf;
    ngx_http_users_form_field_t *grant;
    ngx_http_users_form_field_t  form[] = {
        [NGX_HTTP_USERS_LOGIN_USERNAME] =
        { ngx_string("username"), ngx_null_string, 0, 0 },
        [NGX_HTTP_USERS_LOGIN_PASSWORD] =
        { ngx_string("password"), ngx_null_string, 0, 0 },
        [NGX_HTTP_USERS_LOGIN_GRANT_TYPE] =
        { ngx_string("grant_type"), ngx_null_string, 0, 0 },
        [NGX_HTTP_USERS_LOGIN_REFRESH_TOKEN] =
        { ngx_string("refresh_token"), ngx_null_string, 0, 0 }
    };

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    if (ngx_http_users_form_parse(r->pool, &ctx->body, form,
                                  NGX_HTTP_USERS_LOGIN_NKEYS)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->secret = form[NGX_HTTP_USERS_LOGIN_PASSWORD].value;

    grant = &form[NGX_HTTP_USERS_LOGIN_GRANT_TYPE];

    /* RFC 6749 section 6: a refresh needs no password */
    refresh = grant->found && grant->value.len == sizeof("refresh_token") - 1
              && ngx_strncmp(grant->value.data, "refresh_token",
                             grant->value.len) == 0;

    for (i = 0; i < NGX_HTTP_USERS_LOGIN_NKEYS; i++) {
        field = (char *) form[i].name.data;

        if (form[i].invalid) {
            return ngx_http_users_send_invalid_one(r, "body", field,
                       "value is not valid form-urlencoded UTF-8",
                       "value_error");
        }

        needed = refresh ? (i == NGX_HTTP_USERS_LOGIN_REFRESH_TOKEN)
                         : (i == NGX_HTTP_USERS_LOGIN_USERNAME
                            || i == NGX_HTTP_USERS_LOGIN_PASSWORD);

        if (needed && !form[i].found) {
            return ngx_http_users_send_invalid_one(r, "body", field,
                                                   "field required",
                                                   "value_error.missing");
        }
    }

    if (refresh) {
        return ngx_http_users_session_refresh_grant(r,
                               &form[NGX_HTTP_USERS_LOGIN_REFRESH_TOKEN].value);
    }

    if (grant->found
        && (grant->value.len != 8
            || ngx_strncmp(grant->value.data, "password", 8) != 0))
    {
        return ngx_http_users_send_invalid_one(r, "body", "grant_type",
                   "string does not match regex \"password|refresh_token\"",
                   "value_error.str.regex");
    }

    username = &form[NGX_HTTP_USERS_LOGIN_USERNAME].value;

    wait = ngx_http_users_throttle_check(umcf, username);

    if (wait) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "users login: refused by the zone for %T s", wait);

        return ngx_http_users_login_refused(r, wait);
    }

    login = ngx_pcalloc(r->pool, sizeof(ngx_http_users_login_t));
    if (login == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    login->username = *username;
    login->password = form[NGX_HTTP_USERS_LOGIN_PASSWORD].value;
    ctx->data = login;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1 + NGX_TIME_T_LEN + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = login->username;
    params[1].data = p;
    p = ngx_sprintf(p, "%ui%Z", umcf->throttle_failures);
    params[2].data = p;
    (void) ngx_sprintf(p, "%T%Z", umcf->throttle_window);

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_LOGIN, 3, params,
                                ngx_http_users_login_found);
}


static ngx_int_t
ngx_http_users_login_refused(ngx_http_request_t *r, time_t wait)
{
    ngx_str_t  retry;

    static ngx_str_t  retry_after = ngx_string("Retry-After");

    retry.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (retry.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    retry.len = ngx_sprintf(retry.data, "%T", wait) - retry.data;

    if (ngx_http_users_add_header(r, &retry_after, &retry) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_send_detail(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                      "Too many failed login attempts");
}


static ngx_int_t
ngx_http_users_login_found(ngx_http_request_t *r)
{
    ngx_str_t                    wait;
    ngx_int_t                    n;
    ngx_http_users_ctx_t        *ctx;
    ngx_http_users_login_t      *login;
    ngx_http_users_main_conf_t  *umcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);
    login = ctx->data;

    if (PQresultStatus(ctx->res) != PGRES_TUPLES_OK) {
        return ngx_http_users_send_pg_error(r, ctx->res);
    }

    if (PQntuples(ctx->res) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (PQgetvalue(ctx->res, 0, NGX_HTTP_USERS_LOGIN_ADMITTED)[0] != 't') {
        if (ngx_http_users_pg_value(r, ctx->res, NGX_HTTP_USERS_LOGIN_WAIT,
                                    &wait)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        n = ngx_atotm(wait.data, wait.len);
        if (n < 1) {
            n = 1;
        }

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "users login: refused by the database for %i s", n);

        ngx_http_users_throttle_block(umcf, &login->username, (time_t) n);

        return ngx_http_users_login_refused(r, (time_t) n);
    }

    if (!PQgetisnull(ctx->res, 0, NGX_HTTP_USERS_LOGIN_ID)) {
        if (ngx_http_users_pg_value(r, ctx->res, NGX_HTTP_USERS_LOGIN_ID,
                                    &login->id)
            != NGX_OK
            || ngx_http_users_pg_value(r, ctx->res, NGX_HTTP_USERS_LOGIN_HASH,
                                       &login->hash)
               != NGX_OK
            || ngx_http_users_pg_value(r, ctx->res,
                                       NGX_HTTP_USERS_LOGIN_VERSION,
                                       &login->version)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        login->active =
            (PQgetvalue(ctx->res, 0, NGX_HTTP_USERS_LOGIN_ACTIVE)[0] == 't');
    }

    return ngx_http_users_password_post(r, NGX_HTTP_USERS_PW_VERIFY,
                                        &login->password, &login->hash,
                                        ngx_http_users_login_verified);
}


static ngx_int_t
ngx_http_users_login_verified(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t        *ctx;
    ngx_http_users_login_t      *login;
    ngx_http_users_main_conf_t  *umcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);
    login = ctx->data;

    /* the attempt was counted when it was admitted */
    if (!ctx->task->ok || login->id.len == 0) {
        return ngx_http_users_login_failed(r);
    }

    login->verified = 1;

    ngx_http_users_throttle_reset(umcf, &login->username);

    if (!login->active) {
        return ngx_http_users_login_failed(r);
    }

    return ngx_http_users_login_start(r);
}


/*
 * The session and its refresh token, in the statement that settles the
 * login (and upgrades the hash if the verify asked for it)
 */

static ngx_int_t
ngx_http_users_login_start(ngx_http_request_t *r)
{
    u_char                      *p;
    ngx_str_t                    params[12];
    ngx_http_users_ctx_t        *ctx;
    ngx_http_users_login_t      *login;
    ngx_http_users_main_conf_t  *umcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);
    login = ctx->data;

    ngx_memzero(params, sizeof(params));

    if (ngx_http_users_session_new(r, NULL, &login->refresh) != NGX_OK
        || ngx_http_users_audit_agent(r, &params[5]) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, 3 * (NGX_TIME_T_LEN + 1)
                             + r->connection->addr_text.len + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    params[0] = login->id;
    params[1] = login->version;
    params[2] = login->refresh.hash;

    params[3].data = p;
    p = ngx_sprintf(p, "%T%Z", umcf->session_ttl);
    params[4].data = p;
    p = ngx_sprintf(p, "%T%Z", umcf->refresh_ttl);
    params[6].data = p;
    p = ngx_sprintf(p, "%V%Z", &r->connection->addr_text);
    params[7].data = p;
    (void) ngx_sprintf(p, "%T%Z", umcf->jwt_ttl);

    params[8] = login->username;

    if (ctx->task->rehashed) {
        params[9] = login->hash;
        params[10] = ctx->task->new_hash;
    }

    params[11] = login->refresh.sid;

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_LOGIN_SETTLE, 12,
                                params, ngx_http_users_login_token);
}


/*
 * A refused login is audited by a statement of its own, known and unknown
 * addresses alike, so that neither answers sooner; with users_audit off
 * there is no round trip for either.
 */

static ngx_int_t
ngx_http_users_login_failed(ngx_http_request_t *r)
{
    ngx_str_t                   params[3];
    ngx_http_users_ctx_t       *ctx;
    ngx_http_users_login_t     *login;
    ngx_http_users_loc_conf_t  *ulcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    ulcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);
    login = ctx->data;

    if (!ulcf->audit) {
        return ngx_http_users_login_denied(r);
    }

    params[0] = login->username;
    params[1] = login->id;

    if (login->verified) {
        ngx_str_set(&params[2], "inactive");

    } else {
        ngx_str_set(&params[2], "password");
    }

    /* a record that failed to be written does not change the answer */
    ctx->own_failure = 1;

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_LOGIN_FAILED, 3, params,
                                ngx_http_users_login_denied);
}


static ngx_int_t
ngx_http_users_login_denied(ngx_http_request_t *r)
{
    ngx_http_users_ctx_t    *ctx;
    ngx_http_users_login_t  *login;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    login = ctx->data;

    if (ctx->res && PQresultStatus(ctx->res) != PGRES_COMMAND_OK) {
        (void) ngx_http_users_pg_error_status(r, ctx->res);
    }

    if (login->verified) {
        return ngx_http_users_send_detail(r, NGX_HTTP_FORBIDDEN,
                                          "Inactive user");
    }

    return ngx_http_users_send_unauthorized(r, "Incorrect email or password");
}


static ngx_int_t
ngx_http_users_login_token(ngx_http_request_t *r)
{
    int64_t                  id;
    ngx_int_t                version;
    ngx_str_t                sid, expires_in;
    ngx_http_users_ctx_t    *ctx;
    ngx_http_users_login_t  *login;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);
    login = ctx->data;

    if (PQresultStatus(ctx->res) != PGRES_TUPLES_OK) {
        return ngx_http_users_send_pg_error(r, ctx->res);
    }

    /* the password or the account changed since the password was read */
    if (PQntuples(ctx->res) != 1) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "users login: the account changed meanwhile");

        return ngx_http_users_send_unauthorized(r,
                                                "Incorrect email or password");
    }

    version = ngx_atoi(login->version.data, login->version.len);

    if (ngx_http_users_pg_value(r, ctx->res, NGX_HTTP_USERS_STARTED_SESSION,
                                &sid)
        != NGX_OK
        || ngx_http_users_pg_value(r, ctx->res,
                                   NGX_HTTP_USERS_STARTED_EXPIRES_IN,
                                   &expires_in)
           != NGX_OK
        || ngx_http_users_parse_id(&login->id, &id) != NGX_OK
        || version == NGX_ERROR)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_users_session_answer(r, id, version, &sid,
                                         &login->refresh.token, &expires_in);
}


/*
 * scope=global (the default) revokes every token the caller holds, on
 * every worker at once; local and others end sessions
 * (ngx_http_users_session_logout)
 */

ngx_int_t
ngx_http_users_auth_logout(ngx_http_request_t *r)
{
    ngx_int_t  rc;
    ngx_str_t  scope;

    if (ngx_http_arg(r, (u_char *) "scope", 5, &scope) == NGX_OK
        && !(scope.len == 6 && ngx_strncmp(scope.data, "global", 6) == 0))
    {
        if (!(scope.len == 5 && ngx_strncmp(scope.data, "local", 5) == 0)
            && !(scope.len == 6 && ngx_strncmp(scope.data, "others", 6) == 0))
        {
            return ngx_http_users_send_invalid_one(r, "query", "scope",
                       "value is not a valid enumeration member; permitted: "
                       "'global', 'local', 'others'",
                       "type_error.enum");
        }

        rc = ngx_http_users_session_logout(r, &scope);
        if (rc != NGX_DECLINED) {
            return rc;
        }
    }

    return ngx_http_users_query(r, NGX_HTTP_USERS_SQL_LOGOUT, 0, NULL,
                                ngx_http_users_auth_logged_out);
}


ngx_int_t
ngx_http_users_auth_logged_out(ngx_http_request_t *r)
{
    ngx_uint_t             status;
    ngx_http_users_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_users_module);

    status = ngx_http_users_auth_row(r, ctx->res);
    if (status != NGX_OK) {
        return ngx_http_users_send_status(r, status);
    }

    return ngx_http_users_send_empty(r, NGX_HTTP_NO_CONTENT);
}
