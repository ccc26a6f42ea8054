
/*
 * Copyright (C) ngx_users authors
 *
 * The request's bearer token, verified once whatever asks first: a
 * variable ($users_user_id in limit_req_zone runs in preaccess, before any
 * guard), the guard, or an API route.  The outcome lives with the request's
 * pool rather than in the module's context: an internal redirect (an
 * error page) clears contexts but keeps the pool, and subrequests
 * (auth_request) share their parent's pool and headers.
 */


#include "ngx_http_users_module.h"


static void ngx_http_users_ident_cleanup(void *data);
static ngx_int_t ngx_http_users_ident_verify(ngx_http_request_t *r,
    ngx_http_users_ident_t *ident);
static ngx_int_t ngx_http_users_ident_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


typedef enum {
    NGX_HTTP_USERS_VAR_USER_ID = 0,
    NGX_HTTP_USERS_VAR_SESSION_ID,
    NGX_HTTP_USERS_VAR_IS_SUPERUSER,
    NGX_HTTP_USERS_VAR_TOKEN_EXPIRES
} ngx_http_users_var_e;


static ngx_http_variable_t  ngx_http_users_ident_vars[] = {

    { ngx_string("users_user_id"), NULL, ngx_http_users_ident_variable,
      NGX_HTTP_USERS_VAR_USER_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("users_session_id"), NULL, ngx_http_users_ident_variable,
      NGX_HTTP_USERS_VAR_SESSION_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("users_is_superuser"), NULL, ngx_http_users_ident_variable,
      NGX_HTTP_USERS_VAR_IS_SUPERUSER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("users_token_expires"), NULL, ngx_http_users_ident_variable,
      NGX_HTTP_USERS_VAR_TOKEN_EXPIRES, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_users_ident_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_users_ident_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* NULL only when memory runs out */

ngx_http_users_ident_t *
ngx_http_users_ident(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_users_ident_t  *ident;

    ident = ngx_http_users_ident_find(r);
    if (ident) {
        return ident;
    }

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_users_ident_t));
    if (cln == NULL) {
        return NULL;
    }

    ident = cln->data;
    ngx_memzero(ident, sizeof(ngx_http_users_ident_t));

    if (ngx_http_users_ident_verify(r, ident) == NGX_ERROR) {
        return NULL;
    }

    /* only now: an unfinished ident must not be found */
    cln->handler = ngx_http_users_ident_cleanup;

    return ident;
}


/* the token's outcome if something asked already, else NULL */

ngx_http_users_ident_t *
ngx_http_users_ident_find(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t  *cln;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_users_ident_cleanup) {
            return cln->data;
        }
    }

    return NULL;
}


/*
 * The request is gone while the guard's state check is pending: the
 * connection finishes the query alone and drops its answer.
 */

static void
ngx_http_users_ident_cleanup(void *data)
{
    ngx_http_users_ident_t *ident = data;

    if (ident->waiting) {
        ngx_http_users_pg_cancel(&ident->pg);
        ident->waiting = 0;
    }
}


static ngx_int_t
ngx_http_users_ident_verify(ngx_http_request_t *r,
    ngx_http_users_ident_t *ident)
{
    u_char                      *p;
    ngx_str_t                    token;
    ngx_http_users_claims_t      claims;
    ngx_http_users_main_conf_t  *umcf;

    ident->rc = NGX_DECLINED;
    ident->detail = "Not authenticated";

    if (r->headers_in.authorization == NULL
        || ngx_http_users_bearer_parse(&r->headers_in.authorization->value,
                                       &token)
           != NGX_OK)
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "users ident: no bearer token");
        return NGX_OK;
    }

    ident->sent = 1;
    ident->detail = "Could not validate credentials";
    ident->token = token;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    ident->rc = ngx_http_users_jwt_verify_claims(&umcf->jwt_keys, &token,
                                                 ngx_time(),
                                                 r->connection->log, &claims);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users ident: token %s, user %L",
                   ident->rc == NGX_OK ? "valid" : "refused", claims.sub);

    if (ident->rc != NGX_OK) {
        return ident->rc;
    }

    ident->id = claims.sub;
    ident->version = claims.version;
    ident->expires = claims.expires;

    /* the text NUL-terminated: a parameter of users_auth_state */
    if (claims.session) {
        ngx_memcpy(ident->session, claims.sid, NGX_HTTP_USERS_UUID_SIZE);

        ident->sid.data = ident->sid_text;
        ident->sid.len = ngx_http_users_uuid_text(ident->sid_text,
                                                  claims.sid)
                         - ident->sid_text;
        ident->sid_text[ident->sid.len] = '\0';

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "users ident: session \"%V\"", &ident->sid);
    }

    p = ngx_pnalloc(r->pool, 2 * (NGX_INT64_LEN + 1));
    if (p == NULL) {
        return NGX_ERROR;
    }

    ident->id_text.data = p;
    p = ngx_sprintf(p, "%L", ident->id);
    ident->id_text.len = p - ident->id_text.data;
    *p++ = '\0';

    ident->version_text.data = p;
    p = ngx_sprintf(p, "%i", ident->version);
    ident->version_text.len = p - ident->version_text.data;
    *p = '\0';

    return NGX_OK;
}


/*
 * Empty without a valid token, or once the guard found the token revoked.
 * Not cacheable: the guard's state check may come after a first read.
 */

static ngx_int_t
ngx_http_users_ident_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                  *p;
    ngx_http_users_ident_t  *ident;

    ident = ngx_http_users_ident(r);
    if (ident == NULL) {
        return NGX_ERROR;
    }

    /* what shared memory knows, without a query (none in a variable) */
    (void) ngx_http_users_revocation_check(r, ident);

    if (ident->rc != NGX_OK || (ident->checked && !ident->current)) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    switch (data) {

    case NGX_HTTP_USERS_VAR_USER_ID:
        v->len = ident->id_text.len;
        v->data = ident->id_text.data;
        break;

    case NGX_HTTP_USERS_VAR_IS_SUPERUSER:
        v->len = 1;
        v->data = (u_char *) (ident->superuser ? "1" : "0");
        break;

    case NGX_HTTP_USERS_VAR_TOKEN_EXPIRES:
        p = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
        if (p == NULL) {
            return NGX_ERROR;
        }

        v->len = ngx_sprintf(p, "%T", ident->expires) - p;
        v->data = p;
        break;

    default: /* NGX_HTTP_USERS_VAR_SESSION_ID */
        v->len = ident->sid.len;
        v->data = ident->sid.data;
        v->not_found = (ident->sid.len == 0);
        break;
    }

    return NGX_OK;
}

