
/*
 * Copyright (C) ngx_users authors
 *
 * users_auth: any location (proxy_pass, static files, return) refuses a
 * request without a current token, before its content handler runs.  The
 * check is an access-phase handler, so nginx's own access checker combines
 * it with allow/deny and auth_request under "satisfy".  A refusal is only
 * a status here; nginx answers it, and this file's filters turn nginx's
 * HTML page into the API's JSON shape.
 */


#include "ngx_http_users_module.h"


static ngx_int_t ngx_http_users_guard_rewrite_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_guard_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_guard_check(ngx_http_request_t *r,
    ngx_http_users_ident_t *ident);
static void ngx_http_users_guard_checked(ngx_http_users_pg_op_t *op,
    PGresult *res);
static ngx_int_t ngx_http_users_guard_refuse(ngx_http_request_t *r,
    ngx_http_users_ident_t *ident, ngx_uint_t status);
static void ngx_http_users_guard_count(ngx_http_users_ident_t *ident,
    ngx_http_users_metric_e metric);
static ngx_int_t ngx_http_users_guard_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_users_guard_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


static ngx_conf_enum_t  ngx_http_users_guard_levels[] = {
    { ngx_string("off"), NGX_HTTP_USERS_GUARD_OFF },
    { ngx_string("user"), NGX_HTTP_USERS_GUARD_USER },
    { ngx_string("superuser"), NGX_HTTP_USERS_GUARD_SUPERUSER },
    { ngx_null_string, 0 }
};


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


char *
ngx_http_users_guard_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                        *rv;
    ngx_http_users_loc_conf_t   *ulcf = conf;
    ngx_http_users_main_conf_t  *umcf;

    cmd->post = ngx_http_users_guard_levels;

    rv = ngx_conf_set_enum_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    /* a guard needs the database and the secret, as users_api does */
    if (ulcf->guard != NGX_HTTP_USERS_GUARD_OFF) {
        umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_users_module);
        umcf->enabled = 1;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_users_guard_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_users_guard_handler;

    /*
     * "return" answers in the rewrite phase, before any access check:
     * where nothing else can let the request in ("satisfy all"), the guard
     * runs there too.  Handlers added later run first, and this module
     * comes after the rewrite module.
     */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_users_guard_rewrite_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_users_guard_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_users_guard_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_users_guard_rewrite_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    /* subrequests skip the access phase: their parent was checked */
    if (r != r->main || clcf->satisfy != NGX_HTTP_SATISFY_ALL) {
        return NGX_DECLINED;
    }

    rc = ngx_http_users_guard_handler(r);

    /* the rewrite phase parks on NGX_DONE, and goes on on NGX_DECLINED */

    if (rc == NGX_AGAIN) {
        return NGX_DONE;
    }

    if (rc == NGX_OK) {
        return NGX_DECLINED;
    }

    return rc;
}


static ngx_int_t
ngx_http_users_guard_handler(ngx_http_request_t *r)
{
    ngx_http_users_ident_t     *ident;
    ngx_http_users_loc_conf_t  *ulcf;

    ulcf = ngx_http_get_module_loc_conf(r, ngx_http_users_module);

    if (ulcf->guard == NGX_HTTP_USERS_GUARD_OFF) {
        return NGX_DECLINED;
    }

    /* the JSON error page of a refusal is not refused in turn */
    if (ulcf->route
        && ulcf->route->methods[0].handler == ngx_http_users_meta_error)
    {
        return NGX_DECLINED;
    }

    ident = ngx_http_users_ident(r);
    if (ident == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a client event re-runs the phase while the check is pending */
    if (ident->waiting) {
        return NGX_AGAIN;
    }

    if (ident->rc != NGX_OK) {
        return ngx_http_users_guard_refuse(r, ident, NGX_HTTP_UNAUTHORIZED);
    }

    if (ident->failed) {
        return ngx_http_users_guard_refuse(r, ident, ident->failed);
    }

    if (ngx_http_users_revocation_check(r, ident) != NGX_OK) {
        return ngx_http_users_guard_check(r, ident);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users guard: user %L current:%d superuser:%d",
                   ident->id, ident->current, ident->superuser);

    if (!ident->current) {
        return ngx_http_users_guard_refuse(r, ident, NGX_HTTP_UNAUTHORIZED);
    }

    if (ulcf->guard == NGX_HTTP_USERS_GUARD_SUPERUSER && !ident->superuser) {
        return ngx_http_users_guard_refuse(r, ident, NGX_HTTP_FORBIDDEN);
    }

    ngx_http_users_guard_count(ident, NGX_HTTP_USERS_METRIC_GUARD_ALLOWED);

    return NGX_OK;
}


/* under "satisfy all" both phases decide: the request counts once */

static void
ngx_http_users_guard_count(ngx_http_users_ident_t *ident,
    ngx_http_users_metric_e metric)
{
    if (!ident->counted) {
        ident->counted = 1;
        ngx_http_users_metrics_add(metric, 1);
    }
}


/*
 * The user's state when shared memory cannot say: one statement through
 * the pool, and kept there.  The request waits in its phase, as
 * auth_request's does for its subrequest, and the phase runs again with
 * the answer.
 */

static ngx_int_t
ngx_http_users_guard_check(ngx_http_request_t *r,
    ngx_http_users_ident_t *ident)
{
    ngx_http_users_pg_op_t      *op;
    ngx_http_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_users_module);

    op = &ident->pg;
    ngx_memzero(op, sizeof(ngx_http_users_pg_op_t));

    /* a NULL parameter without a session */
    op->stmt = NGX_HTTP_USERS_SQL_AUTH_STATE;
    op->values[0] = (const char *) ident->id_text.data;
    op->values[1] = (const char *) ident->sid.data;
    op->nparams = 2;
    op->handler = ngx_http_users_guard_checked;
    op->data = r;
    op->log = r->connection->log;
    op->timeout = umcf->pg.query_timeout;

    ident->waiting = 1;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users guard: checking user %L, session \"%V\"",
                   ident->id, &ident->sid);

    ngx_http_users_metrics_add(NGX_HTTP_USERS_METRIC_GUARD_CHECKS, 1);

    ngx_http_users_pg_run(umcf->pg_pool, op);

    return NGX_AGAIN;
}


static void
ngx_http_users_guard_checked(ngx_http_users_pg_op_t *op, PGresult *res)
{
    ngx_connection_t        *c;
    ngx_http_request_t      *r;
    ngx_http_users_ident_t  *ident;

    r = op->data;
    c = r->connection;
    ident = (ngx_http_users_ident_t *)
                ((u_char *) op - offsetof(ngx_http_users_ident_t, pg));

    ngx_http_set_log_request(c->log, r);

    ident->waiting = 0;

    if (res == NULL) {
        ident->failed = NGX_HTTP_SERVICE_UNAVAILABLE;

    } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ident->failed = ngx_http_users_pg_error_status(r, res);

    } else {
        ngx_http_users_revocation_loaded(
            ngx_http_get_module_main_conf(r, ngx_http_users_module),
            ident, res);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                   "users guard: checked, current:%d failed:%ui",
                   ident->current, ident->failed);

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


/*
 * Only the status goes back to nginx, so that "satisfy any" can still let
 * the request in; the JSON body is kept for the header filter.
 */

static ngx_int_t
ngx_http_users_guard_refuse(ngx_http_request_t *r,
    ngx_http_users_ident_t *ident, ngx_uint_t status)
{
    char                     *detail;
    size_t                    len;
    ngx_http_users_metric_e   metric;

    static ngx_str_t  retry_after = ngx_string("Retry-After");
    static ngx_str_t  one = ngx_string("1");

    switch (status) {

    case NGX_HTTP_UNAUTHORIZED:
        detail = ident->detail;
        metric = NGX_HTTP_USERS_METRIC_GUARD_UNAUTHORIZED;

        if (ngx_http_users_www_authenticate(r, ident->sent) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        break;

    case NGX_HTTP_FORBIDDEN:
        detail = "Not enough privileges";
        metric = NGX_HTTP_USERS_METRIC_GUARD_FORBIDDEN;
        break;

    case NGX_HTTP_SERVICE_UNAVAILABLE:
        detail = "Service temporarily unavailable";
        metric = NGX_HTTP_USERS_METRIC_GUARD_FAILED;

        if (ngx_http_users_add_header(r, &retry_after, &one) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        break;

    default:
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        detail = "Internal Server Error";
        metric = NGX_HTTP_USERS_METRIC_GUARD_FAILED;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users guard: refused %ui \"%s\"", status, detail);

    ngx_http_users_guard_count(ident, metric);

    len = ngx_strlen(detail);

    ident->body.data = ngx_pnalloc(r->pool,
                                   sizeof("{\"detail\":\"\"}") - 1 + len);
    if (ident->body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ident->body.len = ngx_sprintf(ident->body.data, "{\"detail\":\"%s\"}",
                                  detail)
                      - ident->body.data;
    ident->refused = status;

    return status;
}


/*
 * nginx's own page for the guard's refusal (no error_page took it) becomes
 * the JSON body; an error_page's answer, an upstream's 401 that "satisfy
 * any" let through, anything else passes untouched.
 */

static ngx_int_t
ngx_http_users_guard_header_filter(ngx_http_request_t *r)
{
    ngx_http_users_ident_t  *ident;

    static ngx_str_t  json_type = ngx_string("application/json; charset=utf-8");

    if (r != r->main || r->err_status == 0 || r->error_page) {
        return ngx_http_next_header_filter(r);
    }

    ident = ngx_http_users_ident_find(r);

    if (ident == NULL
        || ident->refused != r->err_status
        || r->headers_out.status != r->err_status
        || r->headers_out.content_type.len != sizeof("text/html") - 1
        || ngx_strncmp(r->headers_out.content_type.data, "text/html",
                       sizeof("text/html") - 1)
           != 0)
    {
        return ngx_http_next_header_filter(r);
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "users guard: JSON refusal");

    r->headers_out.content_type = json_type;
    r->headers_out.content_type_len = json_type.len;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.content_length_n = ident->body.len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    ident->rewrite = 1;

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_users_guard_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t               *b;
    ngx_uint_t               last;
    ngx_chain_t             *cl, out;
    ngx_http_users_ident_t  *ident;

    if (r != r->main || r->err_status == 0 || in == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    ident = ngx_http_users_ident_find(r);

    if (ident == NULL || !ident->rewrite) {
        return ngx_http_next_body_filter(r, in);
    }

    last = 0;

    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;

        if (cl->buf->last_buf) {
            last = 1;
        }
    }

    if (!last) {
        return NGX_OK;
    }

    ident->rewrite = 0;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = ident->body.data;
    b->last = ident->body.data + ident->body.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}
